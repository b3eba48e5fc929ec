"""Where the data root lives: a local directory (a `Path`) or an S3 prefix (an `S3Path`).

Parses the root, says where this machine keeps the root's local state, and checks before a run
that an S3 root's bucket answers. Credentials come from the standard AWS environment.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

DATA_ROOT_VARIABLE = "KRAKEN_PIPELINE_DATA"
LOCAL_DIRECTORY_VARIABLE = "KRAKEN_PIPELINE_CACHE"
_SCHEME = "s3://"
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")  # the S3 bucket naming rules
_CONNECT_TIMEOUT_SECONDS = 5
_READ_TIMEOUT_SECONDS = 60
_ATTEMPTS = 3


class DataRootError(OSError):
    """The data root cannot be used; the message names KRAKEN_PIPELINE_DATA and what to fix."""


@dataclass(frozen=True, slots=True)
class S3Path:
    """An object key (or key prefix) in a bucket, joined and split like a PurePosixPath."""

    bucket: str
    key: str = ""

    @classmethod
    def from_uri(cls, uri: str) -> S3Path:
        """`s3://bucket/prefix` as a path; ValueError saying what is wrong otherwise."""
        bucket, _, key = uri.removeprefix(_SCHEME).partition("/")
        if not _BUCKET.fullmatch(bucket):
            raise ValueError(f"{uri!r} does not name a valid S3 bucket: use s3://bucket/prefix")
        parts = [part for part in key.split("/") if part]
        if {".", ".."} & set(parts):
            raise ValueError(f"{uri!r}: . and .. are not allowed in an S3 prefix")
        return cls(bucket, "/".join(parts))

    def __truediv__(self, name: str) -> S3Path:
        return S3Path(self.bucket, f"{self.key}/{name}" if self.key else name)

    def __str__(self) -> str:
        return f"{_SCHEME}{self.bucket}/{self.key}" if self.key else f"{_SCHEME}{self.bucket}"

    @property
    def name(self) -> str:
        """The last part of the key."""
        return self.key.rpartition("/")[2]

    @property
    def parent(self) -> S3Path:
        """The key prefix one level up."""
        return S3Path(self.bucket, self.key.rpartition("/")[0])

    def with_name(self, name: str) -> S3Path:
        """The same prefix with another last part."""
        return self.parent / name

    def relative_to(self, other: S3Path) -> str:
        """The key below `other`, as `a/b/c`."""
        prefix = f"{other.key}/" if other.key else ""
        if self.bucket != other.bucket or not self.key.startswith(prefix):
            raise ValueError(f"{self} is not under {other}")
        return self.key[len(prefix) :]

    @property
    def filesystem_path(self) -> str:
        """`bucket/key`, the form fsspec filesystems take."""
        return f"{self.bucket}/{self.key}" if self.key else self.bucket


Location = Path | S3Path  # a local file or directory, or an object key or prefix
DataRoot = Location


def parse_data_root(text: str) -> DataRoot:
    """KRAKEN_PIPELINE_DATA's value as an absolute directory or an S3 prefix."""
    if text.startswith(_SCHEME):
        return S3Path.from_uri(text)
    if "://" in text:
        raise ValueError(
            f"{text!r}: only local directories and s3://bucket/prefix URIs are supported"
        )
    return Path(text).absolute()


def local_directory(root: DataRoot) -> Path:
    """Where this machine keeps the root's local state (the DuckDB warehouse, by default Dagster).

    A local root keeps it inside itself. An S3 root keeps it in KRAKEN_PIPELINE_CACHE when set,
    else in the user's cache directory, one folder per bucket and prefix.
    """
    if isinstance(root, Path):
        return root
    configured = os.environ.get(LOCAL_DIRECTORY_VARIABLE)
    if configured:
        return Path(configured).absolute()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return (cache / "kraken-pipeline" / root.bucket / root.key).absolute()


# --- the S3 endpoint, from the environment -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Endpoint:
    url: str | None
    region: str | None
    ca_bundle: str | None

    @classmethod
    def from_environ(cls) -> _Endpoint:
        env = os.environ
        return cls(
            url=env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL") or None,
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None,
            ca_bundle=env.get("AWS_CA_BUNDLE") or None,
        )

    def describe(self) -> str:
        """The server, without any user part of the URL."""
        if self.url is None:
            return "AWS S3"
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")


def s3_filesystem() -> Any:
    """The s3fs filesystem for the environment's endpoint, shared within a process.

    Listings are never cached: a long-lived analyst session must see days landed after it began.
    """
    # The process id is part of the key: an s3fs instance must not cross a fork.
    return _filesystem(_Endpoint.from_environ(), os.getpid())


@functools.lru_cache(maxsize=8)
def _filesystem(endpoint: _Endpoint, process_id: int) -> Any:
    try:
        import s3fs  # type: ignore[import-untyped]  # optional: the `scale` extra
    except ImportError:
        raise DataRootError(
            f"{DATA_ROOT_VARIABLE}=s3://... needs s3fs: pip install 'kraken-pipeline[scale]'"
        ) from None
    client_kwargs: dict[str, Any] = {"region_name": endpoint.region}
    if endpoint.ca_bundle:
        client_kwargs["verify"] = endpoint.ca_bundle  # an extra CA; verification stays on
    return s3fs.S3FileSystem(
        endpoint_url=endpoint.url,
        client_kwargs=client_kwargs,
        config_kwargs={
            "connect_timeout": _CONNECT_TIMEOUT_SECONDS,
            "read_timeout": _READ_TIMEOUT_SECONDS,
            # The SDK's own retries (throttling, 5xx, dropped connections), with backoff.
            "retries": {"mode": "standard", "max_attempts": _ATTEMPTS},
        },
        use_listings_cache=False,
        skip_instance_cache=True,
    )


def _sdk_errors() -> tuple[type[BaseException], ...]:
    import botocore.exceptions  # type: ignore[import-untyped]  # comes with s3fs

    return (OSError, botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError)


@contextmanager
def _explained(path: S3Path, doing: str) -> Iterator[None]:
    """Turn the SDK's errors into a DataRootError naming KRAKEN_PIPELINE_DATA and what to fix.

    FileNotFoundError (no such key, or no such bucket) is left to the caller to judge.
    """
    try:
        yield
    except (DataRootError, FileNotFoundError):
        raise
    except _sdk_errors() as error:
        raise DataRootError(
            f"{DATA_ROOT_VARIABLE}: could not {doing} {path} at "
            f"{_Endpoint.from_environ().describe()} ({type(error).__name__}: {error}). Check "
            "that the bucket exists, AWS_ENDPOINT_URL (for an S3-compatible server) and the AWS "
            "credentials in the environment; nothing already stored was changed."
        ) from None


def _missing_bucket(path: S3Path) -> DataRootError:
    return DataRootError(
        f"{DATA_ROOT_VARIABLE}: the bucket {path.bucket!r} of {path} does not exist at "
        f"{_Endpoint.from_environ().describe()}. Create it, or point {DATA_ROOT_VARIABLE} "
        "(and AWS_ENDPOINT_URL for an S3-compatible server) at an existing one."
    )


def check_data_root(root: DataRoot) -> None:
    """Raise DataRootError, naming KRAKEN_PIPELINE_DATA, unless an S3 root's bucket answers."""
    if isinstance(root, Path):
        return
    try:
        with _explained(root, "reach the bucket of"):
            s3_filesystem().info(root.bucket)
    except FileNotFoundError:
        raise _missing_bucket(root) from None
