"""Offline ticket checks per second on a phone-like browser: the scan page's own verify path.

Opens the production build's /scan page in headless Chromium and runs `window.biltenScan.benchVerify`
(assets/offline_scan.js): base32 decode + Ed25519 signature check, exactly what an offline scan
does, over codes signed in Python with a fresh event key. Measures WebCrypto's native Ed25519 and
the @noble/ed25519 fallback (browsers without Ed25519 in WebCrypto), one at a time (a door) and
100 in flight.

    .venv/bin/python -m bench.bench_offline_verify                 # starts its own server (~1-2 min)
    .venv/bin/python -m bench.bench_offline_verify --url http://localhost:3000   # a running app
"""

from __future__ import annotations

import argparse
import base64
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from playwright.sync_api import sync_playwright

from bilten.services.ticket_codes import sign_ticket_code

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
BUN = ROOT / ".tools" / "node_modules" / "@oven" / "bun-linux-x64" / "bin" / "bun"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def signed_codes(count: int) -> tuple[str, list[str]]:
    key = Ed25519PrivateKey.generate()
    raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    public = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()  # as the event's key travels in scan-data
    event_id = uuid.uuid4()
    return public, [sign_ticket_code(key, event_id=event_id, ticket_id=uuid.uuid4()) for _ in range(count)]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@contextmanager
def app_server() -> Iterator[str]:
    """The production build on a free port, with a throwaway database and build directory."""
    workdir = Path(tempfile.mkdtemp(prefix="bilten-bench-"))
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REFLEX_", "BILTEN_"))}
    for key in ("REDIS_URL", "SECRET_KEY_FILE", "CORS_ORIGINS"):
        env.pop(key, None)
    env.update(
        DATABASE_URL=f"sqlite:///{workdir / 'bench.db'}",
        BILTEN_DEMO="1",
        SECRET_KEY=secrets.token_urlsafe(36),
        SECRET_KEY_FILE=str(workdir / "secret_key"),
        PUBLIC_URL=f"http://localhost:{port}",
        REFLEX_BUN_PATH=str(BUN),
        REFLEX_TELEMETRY_ENABLED="false",
        REFLEX_CHECK_LATEST_VERSION="false",
        NPM_CONFIG_REGISTRY="https://registry.npmjs.org",
        REFLEX_WEB_WORKDIR=str(workdir / ".web"),
        REFLEX_STATES_WORKDIR=str(workdir / ".states"),
    )
    migrated = subprocess.run(
        [str(VENV_BIN / "bilten"), "migrate"],
        cwd=ROOT,
        env=env,
        timeout=120,
        capture_output=True,
        text=True,
        check=False,
    )
    if migrated.returncode:
        raise SystemExit(migrated.stdout + migrated.stderr)
    with open(workdir / "server.log", "wb") as log:
        server = subprocess.Popen(
            [str(VENV_BIN / "reflex"), "run", "--env", "prod", "--frontend-port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://localhost:{port}"
    try:
        deadline = time.monotonic() + 300
        while not (_answers(url + "/ping") and _answers(url + "/scan/")):
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit((workdir / "server.log").read_text(errors="replace")[-3000:])
            time.sleep(0.5)
        yield url
    finally:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(server.pid, sig)
            except ProcessLookupError:
                break
            time.sleep(3)
        shutil.rmtree(workdir, ignore_errors=True)


def measure(url: str, seconds: float) -> list[dict]:
    public, codes = signed_codes(200)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(url + "/scan")
        page.wait_for_function("window.biltenScan !== undefined", timeout=30_000)
        results = []
        for engine in ("webcrypto", "noble"):
            for concurrency in (1, 100):
                results.append(
                    page.evaluate(
                        "([key, codes, options]) => window.biltenScan.benchVerify(key, codes, options)",
                        [public, codes, {"engine": engine, "seconds": seconds, "concurrency": concurrency}],
                    )
                )
        forged = codes[0][:-10] + ("B" if codes[0][-10] != "B" else "C") + codes[0][-9:]
        rejected = page.evaluate(
            "([key, code]) => window.biltenScan.verifySignature(key, window.biltenScan.parseCode(code))",
            [public, forged],
        )
        browser.close()
    assert not rejected, "a forged code verified"
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running Bilten app (default: start one)")
    parser.add_argument("--seconds", type=float, default=3.0, help="per measurement")
    args = parser.parse_args()
    if args.url:
        results = measure(args.url.rstrip("/"), args.seconds)
    else:
        with app_server() as url:
            results = measure(url, args.seconds)
    print(f"offline signature checks in headless Chromium ({os.cpu_count()} CPUs), parse + Ed25519 verify per code:")
    for r in results:
        assert r["ok"] == r["verifies"], r
        print(
            f"  {r['engine']:<9}  {r['concurrency']:>3} in flight  {r['perSecond']:>9,.0f} verifies/s"
            f"  ({1000 / r['perSecond']:.3f} ms per code)  [{r['verifies']} in {r['seconds']:.1f} s]"
        )


if __name__ == "__main__":
    main()
