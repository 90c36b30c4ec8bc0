"""Rate limits on Redis: every rate of one check in one round trip, counted all or nothing."""

from __future__ import annotations

import pytest
import redis
import redis.asyncio as aioredis

from bilten import ratelimit
from bilten.services.errors import RateLimited
from tests.ratelimit_support import rate_limits_on


async def allowed(**who: str) -> bool:
    try:
        await ratelimit.check(ratelimit.ORDER, **who)
    except RateLimited as exc:
        assert 1 <= exc.retry_after <= 60
        return False
    return True


@pytest.mark.anyio
async def test_an_order_checks_four_rates_in_one_round_trip_and_a_refusal_counts_nowhere(redis_url, monkeypatch):
    store = redis.Redis.from_url(redis_url)
    commands: list[str] = []
    send = aioredis.Redis.execute_command

    async def counted(self, *args, **options):  # noqa: ANN001, ANN002, ANN003, ANN202
        commands.append(str(args[0]))
        return await send(self, *args, **options)

    monkeypatch.setattr(aioredis.Redis, "execute_command", counted)
    limits = {"RATE_LIMIT_ORDER": "2/minute;100/hour", "RATE_LIMIT_ORDER_ACCOUNT": "1/minute;100/hour"}
    with rate_limits_on(REDIS_URL=redis_url, **limits):
        assert await allowed(address="198.51.100.99", account="email:warm@example.org")  # the script is loaded
        store.flushdb()
        commands.clear()
        assert await allowed(address="198.51.100.7", account="email:a@example.org")
        assert commands == ["EVALSHA"]  # four rates, one round trip

        # The account is over its rate: the attempt is refused and the address is not charged for it...
        assert not await allowed(address="198.51.100.7", account="email:a@example.org")
        # ...so the address still has its second order of the minute for another buyer.
        assert await allowed(address="198.51.100.7", account="email:b@example.org")
        assert not await allowed(address="198.51.100.7", account="email:c@example.org")
        hits = [key for key in store.scan_iter(f"{ratelimit.KEY_PREFIX}:*")]
        assert len(hits) == 6  # (address + two accounts) x (minute + hour); "c" was never counted
