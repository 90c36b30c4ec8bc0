import pytest

from bilten.settings import ConfigurationError, Settings


def test_secret_key_is_required_outside_demo(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    settings = Settings(BILTEN_DEMO=False, SECRET_KEY_FILE=tmp_path / "key")
    with pytest.raises(ConfigurationError):
        settings.resolved_secret_key()


@pytest.mark.parametrize("weak", ["short", "please-change-me-please-change-me-please"])
def test_weak_or_default_secret_key_is_refused(weak):
    with pytest.raises(ConfigurationError):
        Settings(SECRET_KEY=weak).resolved_secret_key()


def test_demo_mode_generates_the_key_once_and_keeps_it(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = Settings(BILTEN_DEMO=True, SECRET_KEY_FILE=tmp_path / "key").resolved_secret_key()
    second = Settings(BILTEN_DEMO=True, SECRET_KEY_FILE=tmp_path / "key").resolved_secret_key()
    assert first == second and len(first) >= 32
    assert (tmp_path / "key").stat().st_mode & 0o077 == 0


def test_cors_origins_come_comma_separated(monkeypatch):
    monkeypatch.setenv("CORS_ORIGINS", "https://tickets.example.org, https://admin.example.org/")
    assert Settings().allowed_origins == ["https://tickets.example.org", "https://admin.example.org"]


def test_default_origin_is_the_public_url():
    assert Settings(PUBLIC_URL="https://tickets.example.org").allowed_origins == ["https://tickets.example.org"]


def test_defaults(monkeypatch):
    for name in ("DATABASE_URL", "REDIS_URL", "DEFAULT_LOCALE"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=None)
    assert settings.database_url == "sqlite:///bilten.db"
    assert settings.redis_url is None
    assert settings.default_locale == "en"


def test_unsupported_default_locale_is_refused():
    with pytest.raises(ConfigurationError):
        Settings(DEFAULT_LOCALE="xx")
