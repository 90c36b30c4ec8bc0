#!/usr/bin/env bash
# Until the first release, the initial migration is regenerated from the models (nothing to upgrade yet).
set -euo pipefail
cd "$(dirname "$0")/.."
tmp="$(mktemp -d)"
rm -f alembic/versions/0001_initial_schema.py
DATABASE_URL="sqlite:///$tmp/gen.db" .venv/bin/alembic revision --autogenerate -m "initial schema" --rev-id 0001 >/dev/null 2>&1
rm -rf "$tmp"
echo "alembic/versions/0001_initial_schema.py regenerated"
