"""Where the scale-out tests find the services scripts/ensure_services.sh starts on loopback."""

POSTGRES_SERVER = "postgresql://postgres@127.0.0.1:5432"
REDIS_URL = "redis://127.0.0.1:6379"
S3_KEY_ID, S3_SECRET = "test-key-id", "test-secret-0f9e8d"
S3_PREFIX = "landing/kraken"
