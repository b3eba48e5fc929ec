#!/usr/bin/env bash
# The services the scale-out tests (kraken_pipeline_tests/scale) talk to over real connections:
# PostgreSQL on 127.0.0.1:5432 (user postgres, trust authentication on loopback), Redis on
# 127.0.0.1:6379 and RabbitMQ on 127.0.0.1:5672 (guest/guest). Checks that each answers; one that
# does not is installed from Debian's packages where missing, and started. The default pipeline
# needs none of them. Safe to run again. Needs root (CI runs as root) or sudo.
set -euo pipefail

as_root=()
if [[ "$(id -u)" -ne 0 ]]; then
    as_root=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
updated=0

install() {
    if [[ "$updated" -eq 0 ]]; then
        "${as_root[@]}" apt-get update -qq
        updated=1
    fi
    "${as_root[@]}" apt-get install -y -qq "$@"
}

port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

wait_for() {
    local name=$1 check=$2
    for _ in $(seq 1 60); do
        if eval "$check"; then
            echo "ensure_services: $name answers"
            return 0
        fi
        sleep 1
    done
    echo "ensure_services: $name does not answer on 127.0.0.1 after 60 s" >&2
    return 1
}

postgres_ready() {
    command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p 5432 &&
        psql -h 127.0.0.1 -U postgres -d postgres -tAc 'select 1' >/dev/null 2>&1
}

if ! postgres_ready; then
    command -v pg_ctlcluster >/dev/null || install postgresql
    version=$(ls /etc/postgresql | sort -V | tail -1)
    hba=/etc/postgresql/$version/main/pg_hba.conf
    # The tests connect as postgres over loopback without a password, as on the build machines.
    if ! grep -q '^host all all 127.0.0.1/32 trust' "$hba"; then
        "${as_root[@]}" sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
    fi
    "${as_root[@]}" pg_ctlcluster "$version" main start 2>/dev/null ||
        "${as_root[@]}" pg_ctlcluster "$version" main reload
fi
wait_for PostgreSQL postgres_ready

if ! port_open 6379; then
    command -v redis-server >/dev/null || install redis-server
    # Nothing on disk: the tests flush what they use.
    "${as_root[@]}" redis-server --bind 127.0.0.1 --port 6379 --save '' --appendonly no \
        --daemonize yes
fi
wait_for Redis "port_open 6379"

if ! port_open 5672; then
    command -v rabbitmq-server >/dev/null || install rabbitmq-server
    "${as_root[@]}" service rabbitmq-server start
fi
wait_for RabbitMQ "port_open 5672"
