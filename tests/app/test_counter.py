"""The coalesced counter on a real Redis: every call counted, each with its own value, overlapping
calls sharing round trips, and errors reaching every caller."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from app.services.counter import CoalescedCounter
from core.settings import Settings
from tests.support.processes import free_port


async def _incrby_calls(redis: Redis) -> int:
    stats = await redis.info("commandstats")
    return int(stats.get("cmdstat_incrby", {}).get("calls", 0))


def test_overlapping_calls_each_get_their_own_value_in_few_round_trips(
    settings: Settings,
) -> None:
    async def scenario() -> tuple[list[int], list[int], int, int]:
        redis = Redis.from_url(settings.redis_url)
        counter = CoalescedCounter(redis, "counter:test")
        await redis.delete("counter:test")
        before = await _incrby_calls(redis)
        together = await asyncio.gather(*(counter.incr() for _ in range(50)))
        round_trips = await _incrby_calls(redis) - before
        one_by_one = [await counter.incr() for _ in range(3)]
        stored = int(await redis.get("counter:test") or 0)
        await redis.aclose()
        return list(together), one_by_one, round_trips, stored

    together, one_by_one, round_trips, stored = asyncio.run(scenario())
    assert sorted(together) == list(range(1, 51))
    assert one_by_one == [51, 52, 53]
    assert 1 <= round_trips <= 2
    assert stored == 53


def test_an_unreachable_redis_fails_every_caller_and_the_counter_recovers(
    settings: Settings,
) -> None:
    async def scenario() -> list[BaseException | int]:
        down = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=1)
        counter = CoalescedCounter(down, "counter:test")
        outcomes = await asyncio.gather(*(counter.incr() for _ in range(5)), return_exceptions=True)
        counter.redis = Redis.from_url(settings.redis_url)
        await counter.redis.delete("counter:test")
        outcomes.append(await counter.incr())
        await counter.redis.aclose()
        await down.aclose()
        return outcomes

    outcomes = asyncio.run(scenario())
    assert all(isinstance(outcome, RedisConnectionError) for outcome in outcomes[:5]), outcomes
    assert outcomes[5] == 1


@pytest.mark.parametrize("callers", [1, 7])
def test_a_caller_that_goes_away_is_still_counted(settings: Settings, callers: int) -> None:
    async def scenario() -> tuple[list[int], int]:
        redis = Redis.from_url(settings.redis_url)
        counter = CoalescedCounter(redis, "counter:test")
        await redis.delete("counter:test")
        tasks = [asyncio.ensure_future(counter.incr()) for _ in range(callers + 1)]
        await asyncio.sleep(0)  # all of them are waiting for the first round trip
        tasks[0].cancel()
        values = [await task for task in tasks[1:]]
        stored = int(await redis.get("counter:test") or 0)
        await redis.aclose()
        return values, stored

    values, stored = asyncio.run(scenario())
    assert values == list(range(2, callers + 2))
    assert stored == callers + 1
