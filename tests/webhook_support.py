"""Test helpers for outgoing webhooks: a local HTTP receiver that records what it gets and can
misbehave on request, and the README's verification snippet, loaded from the README itself."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes


class Receiver:
    """ThreadingHTTPServer on 127.0.0.1. `script` is consumed one entry per request: "ok" (200),
    "500", "timeout" (answer only after `stall_seconds`), "redirect" (302 to /elsewhere);
    once empty every request gets 200."""

    def __init__(self, stall_seconds: float = 1.5) -> None:
        self.requests: list[Received] = []
        self.script: list[str] = []
        self.stall_seconds = stall_seconds
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.lock:
                    receiver.requests.append(Received({k.lower(): v for k, v in self.headers.items()}, body))
                    behaviour = receiver.script.pop(0) if receiver.script else "ok"
                if behaviour == "timeout":
                    time.sleep(receiver.stall_seconds)
                if behaviour == "500":
                    self._answer(500, b"internal error: the receiver broke")
                elif behaviour == "redirect":
                    self.send_response(302)
                    self.send_header("Location", "/elsewhere")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                else:
                    self._answer(200, b'{"received": true}' + b" " * 2000)

            def _answer(self, status: int, payload: bytes) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the sender gave up waiting

        return Handler


def readme_verifier():  # noqa: ANN201 (the function defined by the README)
    """Run the README's Python snippet under "Outgoing webhooks" and return its function."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## Outgoing webhooks", 1)[1].split("\n## ", 1)[0]
    snippet = re.search(r"```python\n(.*?)```", section, re.S)
    assert snippet is not None, "the README lost its verification snippet"
    namespace: dict = {}
    exec(compile(snippet.group(1), str(README), "exec"), namespace)  # noqa: S102 (our own README)
    return namespace["verify_bilten_signature"]
