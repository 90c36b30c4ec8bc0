"""deploy/nginx.conf made runnable on this machine: local paths, ports and backends.

Every substitution must find its line, so a changed deploy/nginx.conf fails the tests that use it
instead of silently testing something else."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
NGINX_CONF = REPO_ROOT / "deploy" / "nginx.conf"
UPSTREAM_LINE = "        server web:8000 max_fails=0;  # (test: upstream servers)\n"
TLS_LINES = (
    "listen 443 ssl http2;",
    "ssl_certificate /etc/nginx/tls/fullchain.pem;",
    "ssl_certificate_key /etc/nginx/tls/privkey.pem;",
    "ssl_protocols TLSv1.2 TLSv1.3;",
    "ssl_session_cache shared:bilten_tls:10m;",
    "ssl_session_timeout 1d;",
)


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    assert found, "Debian's nginx is required (scripts/install-system-deps.sh installs it)"
    return found


def _replace(text: str, old: str, new: str) -> str:
    assert old in text, f"deploy/nginx.conf no longer has {old!r}"
    return text.replace(old, new)


def render_nginx_conf(
    prefix: Path,
    *,
    listen_port: int,
    backends: Sequence[str],
    static_root: Path,
    tls: tuple[Path, Path, int] | None = None,
) -> Path:
    """Write deploy/nginx.conf with local paths under `prefix` and return its path.
    `backends`: "127.0.0.1:PORT" each; `tls`: (certificate, key, port) to switch the TLS lines on."""
    prefix.mkdir(parents=True, exist_ok=True)
    (prefix / "logs").mkdir(exist_ok=True)
    text = NGINX_CONF.read_text(encoding="utf-8")
    text = _replace(text, "pid /tmp/nginx.pid;", f"pid {prefix}/nginx.pid;")
    text = _replace(text, "error_log /dev/stderr warn;", f"error_log {prefix}/logs/error.log warn;")
    assert Path("/etc/nginx/mime.types").exists(), "Debian's nginx ships /etc/nginx/mime.types"
    text = _replace(text, "access_log /dev/stdout bilten;", f"access_log {prefix}/logs/access.log bilten;")
    text = re.sub(r"(\w+_temp_path) /tmp/nginx-", lambda m: f"{m.group(1)} {prefix}/temp-", text)
    text = _replace(text, UPSTREAM_LINE, "".join(f"        server {b} max_fails=0;\n" for b in backends))
    text = _replace(text, "listen 80;", f"listen 127.0.0.1:{listen_port};")
    text = _replace(text, "root /usr/share/bilten/static;", f"root {static_root};")
    if tls is not None:
        certificate, key, tls_port = tls
        for line in TLS_LINES:
            text = _replace(text, f"# {line}", line)
        text = _replace(text, "listen 443 ssl http2;", f"listen 127.0.0.1:{tls_port} ssl http2;")
        text = _replace(text, "/etc/nginx/tls/fullchain.pem", str(certificate))
        text = _replace(text, "/etc/nginx/tls/privkey.pem", str(key))
    path = prefix / "nginx.conf"
    path.write_text(text, encoding="utf-8")
    return path


def nginx_check(conf: Path, prefix: Path) -> subprocess.CompletedProcess:
    """`nginx -t` on a rendered configuration."""
    return subprocess.run(
        [nginx_binary(), "-t", "-p", str(prefix), "-c", str(conf)], capture_output=True, text=True, timeout=30
    )


def start_nginx(conf: Path, prefix: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [nginx_binary(), "-p", str(prefix), "-c", str(conf), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
