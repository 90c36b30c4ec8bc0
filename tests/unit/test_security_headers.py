"""Which headers which path gets, and the inline-script hashes read from a build."""

import base64
import hashlib

import pytest

from bilten.api import security_headers
from bilten.api.security_headers import SecurityHeaders, inline_script_hashes
from bilten.settings import Settings


def sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def test_every_inline_script_of_every_page_is_hashed_and_external_ones_are_not(tmp_path):
    (tmp_path / "scan").mkdir()
    (tmp_path / "index.html").write_text('<script>one()</script><script src="/a.js"></script><p>x</p>')
    (tmp_path / "scan" / "index.html").write_text(
        '<script type="module" async="">two("é")</script><script>one()</script>'
    )
    (tmp_path / "notes.txt").write_text("<script>not_a_page()</script>")
    assert inline_script_hashes(tmp_path) == sorted([sha256("one()"), sha256('two("é")')])


@pytest.fixture
def middleware(tmp_path, monkeypatch):
    (tmp_path / "index.html").write_text("<script>theme()</script>")
    monkeypatch.setattr(security_headers, "built_pages_dir", lambda: tmp_path)
    return SecurityHeaders(app=None, settings=Settings(PUBLIC_URL="https://tickets.example.org"), docs_path=None)


def test_pages_get_the_page_policy_with_the_build_hashes_and_no_camera(middleware):
    headers = dict(middleware.headers_for("/events/123"))
    policy = headers["content-security-policy"]
    assert sha256("theme()") in policy and "frame-ancestors 'none'" in policy
    assert "connect-src 'self' wss://tickets.example.org" in policy
    assert headers["permissions-policy"] == "camera=()"
    assert headers["strict-transport-security"] == "max-age=31536000"


@pytest.mark.parametrize("path", ["/scan", "/scan/"])
def test_only_the_scan_page_may_use_the_camera(middleware, path):
    assert dict(middleware.headers_for(path))["permissions-policy"] == "camera=(self)"
    assert dict(middleware.headers_for("/scanner"))["permissions-policy"] == "camera=()"


def test_api_answers_run_nothing_and_docs_are_not_special_when_off(middleware):
    for path in ("/api/health", "/api/docs", "/api/media/x.webp"):
        assert (
            dict(middleware.headers_for(path))["content-security-policy"]
            == "default-src 'none'; frame-ancestors 'none'"
        )
