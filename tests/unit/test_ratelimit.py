"""Rate limits: who the client is, how attempts are counted, and the Reflex handlers that refuse."""

from __future__ import annotations

import asyncio

import pytest
from reflex.istate.data import RouterData
from reflex.state import State
from sqlmodel import select

from bilten import ratelimit
from bilten.i18n import translate
from bilten.models import User, WebSession
from bilten.services.errors import RateLimited
from bilten.settings import ConfigurationError, Settings
from bilten.state.auth import AuthState
from bilten.state.password_reset import PasswordResetState
from bilten.state.scan import ScanState
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.ratelimit_support import rate_limits_on

# -- the client address --------------------------------------------------------------------------


def test_without_trusted_proxies_the_peer_is_the_client_whatever_it_claims():
    assert ratelimit.client_address("127.0.0.9", "1.2.3.4", trusted_proxies=[]) == "127.0.0.9"
    assert ratelimit.client_address("127.0.0.9", None, trusted_proxies=[]) == "127.0.0.9"


def test_a_peer_that_is_not_a_trusted_proxy_is_the_client_even_with_proxies_configured():
    assert ratelimit.client_address("198.51.100.7", "1.2.3.4", trusted_proxies=["10.0.0.0/8"]) == "198.51.100.7"


def test_behind_trusted_proxies_the_right_most_untrusted_forwarded_address_is_the_client():
    proxies = ["10.0.0.0/8", "192.0.2.1"]
    # The client claimed 1.2.3.4; the proxy appended what it saw (203.0.113.5); a second proxy (10.1.1.1).
    assert ratelimit.client_address("10.0.0.2", "1.2.3.4, 203.0.113.5, 10.1.1.1", trusted_proxies=proxies) == (
        "203.0.113.5"
    )
    assert ratelimit.client_address("192.0.2.1", "203.0.113.5", trusted_proxies=proxies) == "203.0.113.5"
    # Garbage the client put in front is never reached; only proxies: the left-most; none: the peer.
    assert ratelimit.client_address("10.0.0.2", "not-an-ip, 203.0.113.5", trusted_proxies=proxies) == "203.0.113.5"
    assert ratelimit.client_address("10.0.0.2", "10.9.9.9, 10.1.1.1", trusted_proxies=proxies) == "10.9.9.9"
    assert ratelimit.client_address("10.0.0.2", "", trusted_proxies=proxies) == "10.0.0.2"
    assert ratelimit.client_address("::1", "2001:db8::7", trusted_proxies=["::1"]) == "2001:db8::7"


def test_settings_refuse_bad_proxies_and_bad_rates():
    with pytest.raises(ConfigurationError):
        Settings(_env_file=None, TRUSTED_PROXIES="my-proxy")
    with pytest.raises(ConfigurationError):
        Settings(_env_file=None, RATE_LIMIT_LOGIN="lots")
    settings = Settings(_env_file=None, TRUSTED_PROXIES="10.0.0.0/8, ::1", RATE_LIMIT_LOGIN="3/second;10/hour")
    assert settings.trusted_proxies == ["10.0.0.0/8", "::1"] and settings.rate_limit_login == "3/second;10/hour"


@pytest.mark.parametrize(
    ("retry_after", "english"), [(7, "wait 7 seconds"), (119, "wait 119 seconds"), (3541, "wait 60 minutes")]
)
def test_the_wait_is_told_in_seconds_or_minutes_in_both_languages(retry_after, english):
    refused = RateLimited(retry_after)
    assert refused.status == 429 and refused.code == "rate_limited" and refused.retry_after == retry_after
    assert english in translate(refused.key, "en", **refused.params)
    arabic = translate(refused.key, "ar", **refused.params)
    assert arabic != translate(refused.key, "en", **refused.params) and str(int(english.split()[1])) in arabic


def test_account_keys_hold_no_email_and_ignore_case():
    key = ratelimit.account_key("Ada@Example.org ")
    assert key == ratelimit.account_key("ada@example.org") and "ada" not in key and len(key) == 32


# -- counting ------------------------------------------------------------------------------------


async def refusals(limit, tries: int, **who) -> list[int]:  # noqa: ANN001
    """The retry-after of each refused attempt (0 for an allowed one)."""
    answers = []
    for _ in range(tries):
        try:
            await ratelimit.check(limit, **who)
            answers.append(0)
        except RateLimited as exc:
            answers.append(exc.retry_after)
    return answers


@pytest.mark.anyio
async def test_an_address_over_its_rate_is_refused_with_a_retry_after_and_others_are_not():
    with rate_limits_on(RATE_LIMIT_LOGIN="3/minute", RATE_LIMIT_LOGIN_ACCOUNT="100/minute"):
        answers = await refusals(ratelimit.LOGIN, 6, address="198.51.100.1", account="a@example.org")
        assert answers[:3] == [0, 0, 0]
        assert all(1 <= seconds <= 60 for seconds in answers[3:])
        assert await refusals(ratelimit.LOGIN, 3, address="198.51.100.2", account="a@example.org") == [0, 0, 0]


@pytest.mark.anyio
async def test_an_account_is_limited_across_addresses():
    with rate_limits_on(RATE_LIMIT_PASSWORD_RESET="100/minute", RATE_LIMIT_PASSWORD_RESET_ACCOUNT="2/hour"):
        allowed = [
            await refusals(ratelimit.PASSWORD_RESET, 1, address=f"198.51.100.{n}", account="victim@example.org")
            for n in range(1, 6)
        ]
        assert [answer[0] == 0 for answer in allowed] == [True, True, False, False, False]
        assert allowed[-1][0] > 60 * 59  # the hour's window: the first attempt leaves it in an hour
        assert await refusals(ratelimit.PASSWORD_RESET, 1, address="198.51.100.9", account="other@example.org") == [0]


@pytest.mark.anyio
async def test_several_rates_all_apply_and_an_empty_rate_is_no_limit():
    with rate_limits_on(RATE_LIMIT_ORDER="5/minute;7/hour", RATE_LIMIT_ORDER_ACCOUNT=""):
        answers = await refusals(ratelimit.ORDER, 8, address="198.51.100.3", account="buyer@example.org")
        assert answers.count(0) == 5
    with rate_limits_on(RATE_LIMIT_ORDER="", RATE_LIMIT_ORDER_ACCOUNT=""):
        assert (await refusals(ratelimit.ORDER, 50, address="198.51.100.3")).count(0) == 50


@pytest.mark.anyio
async def test_waiting_is_enough_because_refused_attempts_are_not_counted():
    with rate_limits_on(RATE_LIMIT_VALIDATE="100/minute", RATE_LIMIT_VALIDATE_DEVICE="2/second"):
        who = {"address": "198.51.100.4", "account": "device-token"}
        assert await refusals(ratelimit.VALIDATE, 10, **who) == [0, 0] + [1] * 8
        await asyncio.sleep(1.1)
        assert (await refusals(ratelimit.VALIDATE, 2, **who)) == [0, 0]


# -- the Reflex handlers -------------------------------------------------------------------------


@pytest.fixture
def tab_at(app_database):
    """A fresh tab's state tree on this test's database, connected from a given address."""

    def tab(address: str, forwarded_for: str = "") -> State:
        root = State(_reflex_internal_init=True)
        headers = {"x-forwarded-for": forwarded_for} if forwarded_for else {}
        root.router_data = {"ip": address, "headers": headers, "pathname": "/login", "asPath": "/login"}
        root.router = RouterData.from_router_data(root.router_data)
        return root

    return tab


async def run(state, handler: str, *args):  # noqa: ANN001, ANN201
    return await type(state).event_handlers[handler].fn(state, *args)


def is_rate_limited_toast(answer) -> bool:  # noqa: ANN001
    text = str(answer)
    before_the_wait = translate("error.rate_limited", "en", seconds="\0").split("\0")[0]  # "...Please wait "
    return "toast" in text and "error" in text and before_the_wait in text


@pytest.mark.anyio
async def test_a_tab_spraying_passwords_gets_a_toast_while_a_tab_elsewhere_logs_in(tab_at, session, now):
    make_user(session, email="ada@example.org", now=now)
    with rate_limits_on(RATE_LIMIT_LOGIN="10/minute"):
        attacker = await tab_at("127.0.0.50", forwarded_for="10.0.0.1").get_state(AuthState)
        answers = [await run(attacker, "login", {"email": f"u{n}@example.org", "password": "guess"}) for n in range(10)]
        assert answers == [None] * 10 and attacker.login_error  # wrong passwords: the form says so
        answers = [await run(attacker, "login", {"email": f"v{n}@example.org", "password": "guess"}) for n in range(5)]
        assert all(is_rate_limited_toast(answer) for answer in answers)
        # Its X-Forwarded-For is not believed (no trusted proxies): a fresh claim changes nothing.
        other_claim = await tab_at("127.0.0.50", forwarded_for="10.0.0.2").get_state(AuthState)
        assert is_rate_limited_toast(await run(other_claim, "login", {"email": "x@example.org", "password": "x"}))

        person = await tab_at("127.0.0.51").get_state(AuthState)
        answer = await run(person, "login", {"email": "ada@example.org", "password": DEFAULT_PASSWORD})
        assert not is_rate_limited_toast(answer) and not person.login_error
        # Signed in: a browser session was opened, its one-time grant on the way to the cookie endpoint.
        (opened,) = session.exec(select(WebSession).join(User).where(User.email == "ada@example.org")).all()
        assert opened.grant_hash and opened.client_address == "127.0.0.51"


@pytest.mark.anyio
async def test_a_tab_cannot_mail_bomb_one_address_with_reset_links(tab_at, session, now):
    make_user(session, email="victim@example.org", now=now)
    with rate_limits_on(RATE_LIMIT_PASSWORD_RESET_ACCOUNT="3/hour"):
        answers = []
        for n in range(5):  # from five addresses: the victim's address is the account
            page = await tab_at(f"127.0.0.{60 + n}").get_state(PasswordResetState)
            answers.append(await run(page, "request_reset", {"email": "victim@example.org"}))
        assert answers[:3] == [None] * 3 and all(is_rate_limited_toast(a) for a in answers[3:])


@pytest.mark.anyio
async def test_a_tab_signing_up_in_bulk_is_stopped_and_one_elsewhere_is_not(tab_at, session):
    def form(n: int) -> dict[str, str]:
        return {"email": f"bot{n}@example.org", "password": "Long-enough-2026", "password_confirm": "Long-enough-2026"}

    with rate_limits_on(RATE_LIMIT_REGISTER="5/minute"):
        bot = await tab_at("127.0.0.70").get_state(AuthState)
        answers = [await run(bot, "register", form(n)) for n in range(8)]
        assert all(not is_rate_limited_toast(a) for a in answers[:5])
        assert all(is_rate_limited_toast(a) for a in answers[5:])
        person = await tab_at("127.0.0.71").get_state(AuthState)
        assert not is_rate_limited_toast(await run(person, "register", form(99)))
        assert not person.register_error  # signed up; signing in comes next, on the login page
    assert len(session.exec(select(User)).all()) == 6  # five bots and the person


@pytest.mark.anyio
async def test_a_scanner_sign_in_is_limited_per_email(tab_at, session, now):
    make_user(session, email="door@example.org", now=now)
    with rate_limits_on(RATE_LIMIT_DEVICE_SIGN_IN_ACCOUNT="3/minute"):
        answers = []
        for n in range(5):
            scanner = await tab_at(f"127.0.0.{80 + n}").get_state(ScanState)
            answers.append(await run(scanner, "sign_in", {"email": "door@example.org", "password": "wrong"}))
    assert answers[:3] == [None] * 3 and all(is_rate_limited_toast(a) for a in answers[3:])


def test_every_rate_setting_belongs_to_a_named_limit():
    aliases = {field.alias for name, field in Settings.model_fields.items() if name.startswith("rate_limit_")}
    assert sorted(ratelimit.setting_names()) == sorted(aliases)
