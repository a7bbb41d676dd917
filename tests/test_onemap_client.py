"""The OneMap client against the loopback fake: token, retries, give-up, rate limit, concurrency, secrets."""

from __future__ import annotations

import logging
import time

import pytest
from onemap_fake_server import EMAIL, PASSWORD, FakeOneMap, fast_client_settings, running_fake_onemap

from sgroute_resources.onemap_client import OneMapAuthError, OneMapClient, OneMapUnavailable
from sgroute_resources.onemap_http import RateLimiter, parse_expiry, parse_retry_after


def client(fake: FakeOneMap, **settings) -> OneMapClient:
    """Fast settings for tests: tiny backoff, short timeout, a generous rate limit unless a test sets one."""
    return OneMapClient(**fast_client_settings(fake, **settings))


def test_one_token_serves_many_requests_from_many_threads(fake_onemap):
    with client(fake_onemap).session() as s:
        results = s.map(lambda p: s.route(1.30, 103.80, 1.30 + p / 100, 103.85), list(range(12)))
    assert all(isinstance(r, tuple) and r[0] > 0 for r in results)
    assert len(fake_onemap.calls("token")) == 1
    assert len(set(fake_onemap.issued_tokens())) == 1
    assert len(fake_onemap.calls("route")) == 12


def test_token_is_refreshed_shortly_before_its_expiry(fake_onemap):
    fake_onemap.token_ttl_s = 2.2  # short-lived tokens; expiry_timestamp is whole seconds, so 1.2-2.2 s
    with client(fake_onemap, token_refresh_margin_s=1.0).session() as s:
        s.route(1.30, 103.80, 1.35, 103.85)
        s.route(1.30, 103.80, 1.35, 103.86)  # still more than the margin left: reused
        time.sleep(1.3)
        s.route(1.30, 103.80, 1.35, 103.87)  # within the margin: a new token before OneMap would refuse
    assert len(fake_onemap.calls("token")) == 2
    assert [r.status for r in fake_onemap.calls("route")] == [200, 200, 200]


def test_a_401_refreshes_the_token_once_and_repeats_the_request(fake_onemap):
    with client(fake_onemap).session() as s:
        s.route(1.30, 103.80, 1.35, 103.85)
        fake_onemap.expire_tokens()  # OneMap expired it early
        assert s.route(1.30, 103.80, 1.35, 103.85)[0] > 0
        assert s.stats.get("token_refreshes") == 1
    assert [(r.endpoint, r.status) for r in fake_onemap.calls()] == [
        ("token", 200),
        ("route", 200),
        ("route", 401),
        ("token", 200),
        ("route", 200),
    ]


def test_a_fresh_token_refused_again_is_an_auth_error_not_a_loop(fake_onemap):
    with client(fake_onemap).session() as s:
        s.route(1.30, 103.80, 1.35, 103.85)
        fake_onemap.expire_tokens()
        fake_onemap.inject("route", 401, times=2)
        with pytest.raises(OneMapAuthError, match="freshly issued token was refused"):
            s.route(1.30, 103.80, 1.35, 103.85)
    assert len(fake_onemap.calls("token")) == 2  # exactly one refresh


def test_wrong_credentials_fail_once_and_stop_further_calls(fake_onemap):
    with client(fake_onemap, password="wrong").session() as s:
        with pytest.raises(OneMapAuthError, match="credentials refused"):
            s.route(1.30, 103.80, 1.35, 103.85)
        with pytest.raises(OneMapAuthError):
            s.reverse_geocode(1.3, 103.8)
    assert len(fake_onemap.calls()) == 1


def test_500s_are_retried_with_backoff_until_an_answer(fake_onemap):
    fake_onemap.inject("route", 500, times=2)
    with client(fake_onemap, backoff_initial_s=0.05, backoff_max_s=1.0).session() as s:
        assert s.route(1.30, 103.80, 1.35, 103.85)[0] > 0
        assert s.stats.get("retries") == 2
    times = [r.t for r in fake_onemap.calls("route")]
    assert [r.status for r in fake_onemap.calls("route")] == [500, 500, 200]
    assert times[1] - times[0] >= 0.05 and times[2] - times[1] >= 0.1  # exponential: 0.05 then 0.1 (+ jitter)


def test_give_up_after_max_attempts_then_stop_calling_an_unreachable_onemap(fake_onemap):
    fake_onemap.inject(None, 503, times=-1)
    with client(fake_onemap, give_up_after_failures=2).session() as s:
        with pytest.raises(OneMapUnavailable, match=r"server error \(HTTP 503\); gave up after 3 attempts"):
            s.search("049178")
        with pytest.raises(OneMapUnavailable):
            s.search("238801")
        sent = len(fake_onemap.calls())
        with pytest.raises(OneMapUnavailable, match="not called: OneMap unreachable"):
            s.search("048582")
        assert s.unavailable and "2 calls in a row failed" in s.unavailable
    assert sent == 6 and len(fake_onemap.calls()) == 6  # 2 calls x 3 attempts, then nothing


def test_429_waits_for_retry_after_for_every_thread(fake_onemap):
    fake_onemap.inject("search", 429, retry_after="1", times=1)
    with client(fake_onemap, requests_per_second=10.0, max_concurrency=2).session() as s:
        started = time.monotonic()
        results = s.map(s.search, ["049178", "238801", "048582", "308433", "648886", "000000"])
        elapsed = time.monotonic() - started
    assert all(isinstance(r, dict) for r in results)
    calls = fake_onemap.calls("search")
    refused = next(r for r in calls if r.status == 429)
    retried = [r for r in calls if r.t > refused.t and r.params["searchVal"] == refused.params["searchVal"]]
    assert retried and retried[0].t - refused.t >= 0.95
    assert elapsed >= 0.95
    # The other thread's next request (its slot not yet reserved when the 429 came) waited for the pause too.
    later = [r for r in calls if r.t > refused.t + 0.15]
    assert len(later) == 5 and all(r.t - refused.t >= 0.95 for r in later)


def test_slow_responses_past_the_timeout_are_retried(fake_onemap):
    fake_onemap.inject("route", delay_s=1.0, times=1)
    with client(fake_onemap, timeout_s=0.3).session() as s:
        started = time.monotonic()
        assert s.route(1.30, 103.80, 1.35, 103.85)[0] > 0
        assert s.stats.get("timeouts") == 1
        assert time.monotonic() - started < 1.0  # did not wait for the slow answer
    assert len(fake_onemap.calls("route")) == 2


def test_connection_refused_is_retried_and_then_reported():
    with running_fake_onemap() as fake:
        url = fake.url
    dead = OneMapClient(base_url=url, email=EMAIL, password=PASSWORD, max_attempts=2, backoff_initial_s=0.01)
    with dead.session() as s, pytest.raises(OneMapUnavailable, match=r"connection failed .*gave up after 2 attempts"):
        s.search("049178")


def test_rate_limit_is_respected_across_threads(fake_onemap):
    rate = 20.0
    with client(fake_onemap, requests_per_second=rate, max_concurrency=4).session() as s:
        started = time.monotonic()
        s.map(lambda p: s.route(1.30, 103.80, 1.30 + p / 1000, 103.85), list(range(20)))
        elapsed = time.monotonic() - started
    times = sorted(r.t for r in fake_onemap.calls())
    assert len(times) == 21  # token + 20 routes
    # Request starts are spaced 1/rate apart. Arrival times at the server jitter by a few ms (more on a busy
    # machine), so check every run of 4 gaps rather than single gaps: no burst ever beats the limit.
    spans = [times[i + 4] - times[i] for i in range(len(times) - 4)]
    assert min(spans) >= 4 / rate - 0.02, spans
    assert elapsed >= 20 / rate - 0.05
    assert (times[-1] - times[0]) / (len(times) - 1) >= 1 / rate - 0.005


def test_concurrency_is_bounded(fake_onemap):
    fake_onemap.inject("route", delay_s=0.3, times=-1)
    with client(fake_onemap, max_concurrency=3, timeout_s=2.0).session() as s:
        started = time.monotonic()
        s.map(lambda p: s.route(1.30, 103.80, 1.30 + p / 1000, 103.85), list(range(9)))
        elapsed = time.monotonic() - started
    arrivals = sorted(r.t for r in fake_onemap.calls("route"))
    in_flight = max(sum(1 for b in arrivals if a <= b < a + 0.3) for a in arrivals)
    assert in_flight == 3
    assert 0.85 <= elapsed < 2.0  # 9 calls of 0.3 s, 3 at a time


def test_rate_limiter_alone_spaces_calls():
    limiter = RateLimiter(50.0)
    stamps = []
    for _ in range(6):
        limiter.acquire()
        stamps.append(time.monotonic())
    assert all(b - a >= 0.019 for a, b in zip(stamps, stamps[1:], strict=False))


def test_header_parsing():
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("garbage") is None
    assert parse_retry_after(None) is None
    assert parse_expiry("1700000000", 0) == 1700000000
    assert parse_expiry(1700000000000, 0) == 1700000000
    assert parse_expiry(None, 100.0) == 3700.0
    assert parse_expiry("2026-01-01T00:00:00Z", 0) > 1.7e9


def test_secrets_never_reach_errors_or_logs(fake_onemap, caplog):
    """Failures of every kind, with DEBUG logging from httpx/httpcore on: no password, no token anywhere."""
    caplog.set_level(logging.DEBUG)
    errors: list[str] = []
    with client(fake_onemap).session() as s:
        s.route(1.30, 103.80, 1.35, 103.85)
        token = fake_onemap.issued_tokens()[0]
        fake_onemap.expire_tokens()
        fake_onemap.inject("route", 401, times=2)
        for call in (
            lambda: s.route(1.30, 103.80, 1.35, 103.85),
            lambda: s.search("049178"),
        ):
            try:
                call()
            except Exception as exc:  # noqa: BLE001 - collecting every message
                errors.append(f"{exc!r} {exc}")
    fake_onemap.inject(None, 500, times=-1)
    with client(fake_onemap).session() as s:
        for _ in range(2):
            try:
                s.search("049178")
            except Exception as exc:  # noqa: BLE001
                errors.append(f"{exc!r} {exc} {exc.__cause__!r} {exc.__context__!r}")
    fake_onemap.clear_faults()
    with client(fake_onemap, password=PASSWORD + "x").session() as s:
        try:
            s.search("049178")
        except Exception as exc:  # noqa: BLE001
            errors.append(f"{exc!r} {exc}")
    assert len(errors) == 5
    errors.append(repr(client(fake_onemap)) + str(client(fake_onemap)))
    assert any("refused" in e for e in errors)
    text = "\n".join(errors) + "\n".join(r.getMessage() for r in caplog.records)
    for secret in (PASSWORD, token, token[:20], EMAIL):
        assert secret not in text
    assert "getToken" in text  # the logs were captured (httpx INFO lines), so absence means something
