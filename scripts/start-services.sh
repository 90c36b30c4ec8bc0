#!/usr/bin/env bash
# Start PostgreSQL and Redis on 127.0.0.1 when they are down, and make sure the tests can log in
# to PostgreSQL as postgres/postgres over TCP (Debian's fresh clusters ask for a password).
set -euo pipefail

PG_URL="${TEST_POSTGRES_URL:-postgresql://postgres:postgres@127.0.0.1:5432/postgres}"
PG_URL="${PG_URL/+psycopg/}"

if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  version="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1)"
  if [ -z "$version" ]; then
    echo "No PostgreSQL cluster found: run scripts/install-system-deps.sh as root" >&2
    exit 1
  fi
  echo "Starting PostgreSQL $version..."
  pg_ctlcluster --skip-systemctl-redirect "$version" main start
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.5; done
fi
if ! psql "$PG_URL" -qtAc "SELECT 1" >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- psql -qc "ALTER USER postgres PASSWORD 'postgres'"
  fi
  psql "$PG_URL" -qtAc "SELECT 1" >/dev/null || { echo "Cannot log in to PostgreSQL at $PG_URL" >&2; exit 1; }
fi

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "Starting Redis..."
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.2; done
fi
redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null
echo "PostgreSQL and Redis are up."
