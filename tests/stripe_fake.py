"""A local HTTP server speaking the part of Stripe's API Bilten uses, for the real `stripe` library.

Endpoints: create / retrieve / expire a Checkout Session, create a Refund (with Idempotency-Key
replay like Stripe's). Webhook events are built from its sessions and signed with Stripe's real
scheme (`Stripe-Signature: t=<unix>,v1=<HMAC-SHA256(secret, "<t>.<body>")>`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl


def _nest(pairs: list[tuple[str, str]]) -> dict:
    """Turn Stripe's form encoding (`a[b][0][c]=v`) back into nested dicts (lists as index dicts)."""
    root: dict = {}
    for key, value in pairs:
        parts = key.replace("]", "").split("[")
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return root


class FakeStripe:
    def __init__(self) -> None:
        self.sessions: dict[str, dict] = {}
        self.refunds: dict[str, dict] = {}
        self.idempotent: dict[str, tuple[int, dict]] = {}
        self.requests: list[tuple[str, str]] = []
        self.fail_next = 0  # answer this many requests with a 500
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeStripe:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- what the tests do on "Stripe's side" ---------------------------------------------------

    def pay(self, session_id: str) -> dict:
        """The buyer pays on the hosted page: the session completes."""
        with self.lock:
            session = self.sessions[session_id]
            session.update(status="complete", payment_status="paid", payment_intent=f"pi_{secrets.token_hex(8)}")
            return dict(session)

    def event(self, event_type: str, session: dict, *, event_id: str | None = None) -> dict:
        return {
            "id": event_id or f"evt_{secrets.token_hex(10)}",
            "object": "event",
            "api_version": "2024-06-20",
            "created": int(time.time()),
            "type": event_type,
            "livemode": False,
            "pending_webhooks": 1,
            "data": {"object": session},
        }

    @staticmethod
    def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
        timestamp = int(time.time()) if timestamp is None else timestamp
        signature = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
        return f"t={timestamp},v1={signature}"

    # -- the HTTP side ----------------------------------------------------------------------------

    def _handler(self):  # noqa: ANN202
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                return

            def _reply(self, status: int, body: dict) -> None:
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.send_header("Request-Id", f"req_{secrets.token_hex(6)}")
                self.end_headers()
                self.wfile.write(raw)

            def _params(self) -> dict:
                length = int(self.headers.get("Content-Length") or 0)
                return _nest(parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True))

            def do_GET(self) -> None:  # noqa: N802
                fake.requests.append(("GET", self.path))
                parts = self.path.split("?")[0].strip("/").split("/")
                if parts[:3] == ["v1", "checkout", "sessions"] and len(parts) == 4 and parts[3] in fake.sessions:
                    return self._reply(200, fake.sessions[parts[3]])
                return self._reply(404, {"error": {"type": "invalid_request_error", "message": "No such object"}})

            def do_POST(self) -> None:  # noqa: N802
                fake.requests.append(("POST", self.path))
                params = self._params()
                with fake.lock:
                    if fake.fail_next > 0:
                        fake.fail_next -= 1
                        return self._reply(500, {"error": {"type": "api_error", "message": "Injected failure"}})
                    key = self.headers.get("Idempotency-Key")
                    if key and key in fake.idempotent:
                        return self._reply(*fake.idempotent[key])
                    status, body = self._route(params)
                    if key and status < 500:
                        fake.idempotent[key] = (status, body)
                return self._reply(status, body)

            def _route(self, params: dict) -> tuple[int, dict]:
                parts = self.path.split("?")[0].strip("/").split("/")
                if parts == ["v1", "checkout", "sessions"]:
                    return 200, fake._create_session(params)
                if parts[:3] == ["v1", "checkout", "sessions"] and len(parts) == 5 and parts[4] == "expire":
                    session = fake.sessions.get(parts[3])
                    if session is None or session["status"] != "open":
                        return 400, {
                            "error": {
                                "type": "invalid_request_error",
                                "message": "Only Checkout Sessions with a status of open can be expired.",
                            }
                        }
                    session["status"] = "expired"
                    return 200, session
                if parts == ["v1", "refunds"]:
                    refund = {
                        "id": f"re_{secrets.token_hex(8)}",
                        "object": "refund",
                        "status": "succeeded",
                        "amount": int(params["amount"]),
                        "payment_intent": params["payment_intent"],
                    }
                    fake.refunds[refund["id"]] = refund
                    return 200, refund
                return 404, {"error": {"type": "invalid_request_error", "message": "Unrecognized request URL"}}

        return Handler

    def _create_session(self, params: dict) -> dict:
        items = params.get("line_items", {})
        amount = sum(int(item["price_data"]["unit_amount"]) * int(item["quantity"]) for item in items.values())
        currencies = {item["price_data"]["currency"] for item in items.values()}
        session_id = f"cs_test_{secrets.token_hex(12)}"
        session = {
            "id": session_id,
            "object": "checkout.session",
            "mode": params.get("mode"),
            "status": "open",
            "payment_status": "unpaid",
            "amount_total": amount,
            "currency": currencies.pop() if currencies else "eur",
            "client_reference_id": params.get("client_reference_id"),
            "customer_email": params.get("customer_email"),
            "metadata": params.get("metadata", {}),
            "expires_at": int(params.get("expires_at") or 0),
            "payment_intent": None,
            "url": f"{self.url}/pay/{session_id}",
            "success_url": params.get("success_url"),
            "cancel_url": params.get("cancel_url"),
        }
        self.sessions[session_id] = session
        return session
