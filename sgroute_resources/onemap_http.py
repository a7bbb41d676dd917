"""The HTTP plumbing under the OneMap client: deadlines on every socket operation, one rate limiter for all
threads, call statistics, and the header parsing (Retry-After, token expiry) the client relies on.

Apart from onemap_client.py so the client reads as OneMap's API (token, search, routing, retries) and this as
transport; nothing here knows OneMap's endpoints.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import math
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpcore
import httpx

DEFAULT_TOKEN_LIFETIME_S = 3600.0  # when OneMap sends no usable expiry_timestamp


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After as seconds (delta-seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - time.time()
    return max(0.0, seconds) if math.isfinite(seconds) else None


def parse_expiry(value: Any, now: float) -> float:
    """OneMap's ``expiry_timestamp`` (epoch seconds as text or number, or ISO 8601) as epoch seconds."""
    if value is None or value == "":
        return now + DEFAULT_TOKEN_LIFETIME_S
    try:
        number = float(value)
        if number > 1e12:  # milliseconds
            number /= 1000.0
        return number
    except (TypeError, ValueError):
        pass
    try:
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.UTC)
        return parsed.timestamp()
    except ValueError:
        return now + DEFAULT_TOKEN_LIFETIME_S


# --- a total deadline per HTTP exchange ----------------------------------------------------------------
#
# httpcore passes each socket operation its own timeout (httpx's connect/read/write timeouts). The stream
# below shortens every one of them to what is left of the exchange's deadline, so the exchange as a whole
# ends by then whatever the server does. The deadline is per thread: a sync httpx request runs entirely in
# the calling thread, and pooled connections read the deadline of whichever request uses them now.

_exchange = threading.local()


@contextmanager
def exchange_deadline(deadline: float) -> Iterator[None]:
    """Every socket operation of this thread's HTTP exchange inside the block ends by ``deadline`` (monotonic)."""
    _exchange.deadline = deadline
    try:
        yield
    finally:
        _exchange.deadline = None


def _bounded(timeout: float | None, error: type[Exception]) -> float | None:
    deadline: float | None = getattr(_exchange, "deadline", None)
    if deadline is None:
        return timeout
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise error("the request's deadline passed")
    return remaining if timeout is None else min(timeout, remaining)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream):
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _bounded(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _bounded(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None) -> Any:
        tls = self._inner.start_tls(ssl_context, server_hostname, _bounded(timeout, httpcore.ConnectTimeout))
        return _DeadlineStream(tls)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self, inner: httpcore.NetworkBackend):
        self._inner = inner

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, **kwargs: Any) -> Any:
        return _DeadlineStream(
            self._inner.connect_tcp(host, port, _bounded(timeout, httpcore.ConnectTimeout), **kwargs)
        )

    def connect_unix_socket(self, path: str, timeout: float | None = None, **kwargs: Any) -> Any:
        return _DeadlineStream(
            self._inner.connect_unix_socket(path, _bounded(timeout, httpcore.ConnectTimeout), **kwargs)
        )

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def deadline_transport(limits: httpx.Limits, proxy: str | None) -> httpx.HTTPTransport:
    """httpx's own transport (TLS, pooling, proxy, error mapping) with its socket operations deadline-bounded.

    httpx has no public hook for httpcore's network backend; the pool's is wrapped in place. A future httpx
    without ``_pool._network_backend`` fails here, loudly, rather than silently losing the deadline.
    """
    transport = httpx.HTTPTransport(limits=limits, proxy=proxy)
    pool = transport._pool
    if not isinstance(getattr(pool, "_network_backend", None), httpcore.NetworkBackend):
        raise RuntimeError("httpx/httpcore changed: cannot bound OneMap requests by a total deadline")
    pool._network_backend = _DeadlineBackend(pool._network_backend)
    return transport


def environment_proxy(base_url: str) -> str | None:
    """The proxy httpx would take from the environment for OneMap's scheme (a custom transport skips that)."""
    scheme = "https" if base_url.startswith("https") else "http"
    for name in (f"{scheme}_proxy", "all_proxy"):
        value = os.environ.get(name) or os.environ.get(name.upper())
        if value:
            return value
    return None


class RateLimiter:
    """Spaces request starts at least ``1/rate`` seconds apart across threads (a token bucket of size one).

    A burst of one is deliberate: OneMap counts calls per minute, and evenly spaced calls never trip it.
    """

    def __init__(self, rate_per_s: float):
        self.interval = 1.0 / rate_per_s if rate_per_s > 0 else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def acquire(self, max_wait: float | None = None) -> float | None:
        """Block until this caller may send; returns the seconds waited, or None (and takes no slot) when the
        next slot is more than ``max_wait`` away."""
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            if max_wait is not None and slot - now > max_wait:
                return None
            self._next = slot + self.interval
        wait = slot - now
        if wait > 0:
            time.sleep(wait)
        return wait

    def defer(self, seconds: float) -> None:
        """Nobody sends for ``seconds`` (OneMap said Retry-After)."""
        with self._lock:
            self._next = max(self._next, time.monotonic() + seconds)


class CallStats:
    """Thread-safe counters of what a session sent: requests per endpoint, retries, give-ups, refreshes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}

    def add(self, key: str, n: int = 1) -> None:
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + n

    def get(self, key: str) -> int:
        with self._lock:
            return self._counts.get(key, 0)

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(sorted(self._counts.items()))

    @property
    def requests(self) -> int:
        """HTTP requests sent, all endpoints (token included)."""
        with self._lock:
            return sum(v for k, v in self._counts.items() if k.startswith("requests."))
