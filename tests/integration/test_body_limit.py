"""Request bodies are capped over real HTTP: a declared 12 MB is refused before a byte of it is sent,
a chunked body is refused once it passes the cap, and a body within the cap goes through."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import pytest

from bilten.api import api
from bilten.i18n import translate
from tests.ratelimit_support import ThreadedServer, client_from

pytestmark = pytest.mark.postgres

LOGIN = "/api/v1/auth/login"


@pytest.fixture
def server(client) -> Iterator[ThreadedServer]:  # `client` points the API at the test database and clock
    with ThreadedServer(api) as running:
        yield running


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    while len(body) < int(headers.get("content-length", 0)):
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(lines[0].split()[1]), headers, body


def test_a_declared_12_mb_json_body_is_refused_before_it_is_sent(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(
            f"POST {LOGIN} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Accept-Language: ar\r\nContent-Length: {12 * 1024 * 1024}\r\n\r\n".encode()
        )
        started = time.monotonic()
        status, headers, body = read_response(sock)  # not one byte of the body was sent
        waited = time.monotonic() - started
    assert status == 413 and waited < 2
    error = json.loads(body)["error"]
    assert error == {"code": "payload_too_large", "message": translate("error.payload_too_large", "ar", size="1.0 MB")}


def test_a_chunked_body_is_refused_once_it_passes_the_cap(server):
    chunk = b"x" * 64 * 1024
    sent = 0
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(
            f"POST {LOGIN} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\n\r\n".encode()
        )
        sock.settimeout(0.05)
        answer = b""
        while sent < 12 * 1024 * 1024:
            try:
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
                answer = sock.recv(65536, socket.MSG_PEEK)
                if answer:
                    break
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                break
        sock.settimeout(5)
        status, _, body = read_response(sock)
    assert status == 413 and json.loads(body)["error"]["code"] == "payload_too_large"
    assert sent < 3 * 1024 * 1024, sent  # the server answered soon after the first MB, not after 12


def test_bodies_within_the_cap_go_through_and_a_json_body_just_over_it_does_not(server):
    with client_from(server.base_url, "127.0.0.30") as http:
        padded = {"email": "a@example.org", "password": "x", "padding": "p" * (900 * 1024)}
        assert http.post(LOGIN, json=padded).status_code == 401  # read, parsed, refused for its password
        too_big = {"email": "a@example.org", "password": "x", "padding": "p" * (1024 * 1024)}
        answer = http.post(LOGIN, json=too_big)
        assert answer.status_code == 413 and answer.json()["error"]["code"] == "payload_too_large"
        assert http.get("/api/health").status_code in (200, 503)  # the server is fine afterwards
