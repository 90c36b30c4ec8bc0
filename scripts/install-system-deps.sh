#!/usr/bin/env bash
# Install what the test suite needs from Debian's packages: Chromium (browser tests),
# PostgreSQL and Redis (integration tests), nginx (the tests run deploy/nginx.conf in the
# foreground with a prefix of their own). As root it installs; otherwise it says what to run.
set -euo pipefail

missing=()
command -v chromium >/dev/null || missing+=(chromium)
{ command -v pg_ctlcluster >/dev/null && ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; } || missing+=(postgresql)
command -v pg_dump >/dev/null || missing+=(postgresql-client)  # `bilten backup` and its test
command -v redis-server >/dev/null || missing+=(redis-server)
command -v faketime >/dev/null || missing+=(faketime)  # the unit suite runs again a year ahead
command -v ffmpeg >/dev/null || missing+=(ffmpeg)  # turns a ticket QR into a fake camera video
{ command -v nginx >/dev/null || [ -x /usr/sbin/nginx ]; } || missing+=(nginx)  # deploy/nginx.conf in front of two backends
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)  # Arabic in ticket PDFs

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "The tests need: ${missing[*]}. Install them with:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "Installing ${missing[*]} from Debian's packages..."
apt-get update -q
DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
