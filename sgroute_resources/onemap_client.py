"""OneMap (Singapore Land Authority) HTTP client: token, search, reverse geocode and drive routing.

What the old client got wrong and this one does instead (see shared/notes/sg_route_opt_inventory.md §2-3):

- **Rate limit.** OneMap allows about 250 calls a minute per account; the old client had no limiter. Every
  request here (retries and token calls included) waits for a slot of a thread-safe limiter,
  ``requests_per_second`` (default 3/s = 180/min, leaving room for other users of the same account).
  A 429's ``Retry-After`` pushes the next slot of every thread back, not only the one that was refused.
- **Retries** come from tenacity (exponential backoff with jitter) on timeouts, connection errors, 429 and 5xx,
  never on other 4xx. After ``max_attempts`` the call raises :class:`OneMapUnavailable`; after
  ``give_up_after_failures`` such failures in one session the session stops calling OneMap at all, so a
  OneMap outage costs a few timeouts instead of one per stop and pair.
- **Token** from ``POST /api/auth/post/getToken``, reused until ``token_refresh_margin_s`` before its
  ``expiry_timestamp``, refreshed once when OneMap answers 401 (a token it expired early), with one fetch
  for all threads.
- **Bounded concurrency**: :meth:`OneMapSession.map` runs at most ``max_concurrency`` requests at once.
- **Deadlines**, because httpx's timeouts are per socket operation and a server that drips one byte every
  couple of seconds never trips them. Three nested bounds, all on the monotonic clock:
  ``timeout_s`` is the most one HTTP exchange may take from connect to the last byte (enforced on every
  socket read and write by the transport below); ``call_deadline_s`` bounds one call with its retries, its
  backoff and its rate-limiter wait (a ``Retry-After`` that does not fit is not slept: the call gives up);
  ``run_deadline_s`` (SGROUTE_ONEMAP_RUN_DEADLINE_S) bounds a whole run: every session a run's steps open
  (geocoding, the matrix, road-leg verification) shares one budget counted from the run's start
  (``onemap_run``), after which the session stops calling and the caller falls back (model travel times, stops
  needing attention), flagged. Outside a run (the CLI's own calls) it bounds the session. A 200 whose body is
  not JSON (an HTML maintenance page from a proxy) is a failed attempt like a 5xx.
- **Secrets**: the password travels only in the token request body and the token only in the Authorization
  header. Errors, log lines and stats carry endpoint names and status codes, never a URL with credentials,
  a body, a header or the exception of the HTTP library (whose request object holds the header).

The resource holds configuration only; :meth:`OneMapClient.session` opens the connection pool, limiter and
token for one batch of work (a geocoding step, a matrix build, a CLI call) and closes them afterwards.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, NamedTuple, TypeVar

import httpx
from dagster import ConfigurableResource, EnvVar
from pydantic import Field
from tenacity import RetryCallState, Retrying, retry_if_exception_type, wait_exponential_jitter

from sgroute_resources.onemap_http import (
    CallStats,
    RateLimiter,
    deadline_transport,
    environment_proxy,
    exchange_deadline,
    parse_expiry,
    parse_retry_after,
)

DEFAULT_BASE_URL = "https://www.onemap.gov.sg"
TOKEN_PATH = "/api/auth/post/getToken"
SEARCH_PATH = "/api/common/elastic/search"
REVGEOCODE_PATH = "/api/public/revgeocode"
ROUTE_PATH = "/api/public/routingsvc/route"
MIN_ATTEMPT_S = 0.05  # a retry is not started with less time than this left before its deadline

log = logging.getLogger("sgroute.onemap")
T = TypeVar("T")
R = TypeVar("R")


class RouteLeg(NamedTuple):
    """One drive route as OneMap answers it: seconds, metres and the encoded road polyline (or None)."""

    duration_s: float
    distance_m: float
    geometry: str | None


class OneMapError(RuntimeError):
    """OneMap gave no usable answer. Messages name the endpoint and status only: safe for logs and metadata."""

    def __init__(self, endpoint: str, message: str):
        super().__init__(f"OneMap {endpoint}: {message}")
        self.endpoint = endpoint


class OneMapUnavailable(OneMapError):
    """No answer after retries (timeouts, connection errors, 429, 5xx), or the session stopped calling."""


class OneMapAuthError(OneMapError):
    """Credentials missing or refused, or a fresh token refused: retrying cannot help."""


class OneMapBadResponse(OneMapError):
    """OneMap answered, but not with something this client understands (4xx, not JSON, missing fields)."""


class _OutOfTime(Exception):
    """The call's or the session's deadline leaves no room to send (or to wait for the rate limiter)."""

    def __init__(self, description: str):
        super().__init__(description)
        self.description = description


class _Retryable(Exception):
    """One attempt failed in a way worth retrying; ``retry_after`` is OneMap's hint in seconds, if any."""

    def __init__(self, description: str, retry_after: float | None = None):
        super().__init__(description)
        self.description = description
        self.retry_after = retry_after


class OneMapClient(ConfigurableResource):
    """OneMap connection settings; open a :meth:`session` to call it. Defaults are production-safe."""

    base_url: str = Field(default=DEFAULT_BASE_URL, description="OneMap host (ONEMAP_BASE_URL).")
    email: str | None = Field(default=None, description="OneMap account e-mail (EnvVar ONEMAP_EMAIL).")
    password: str | None = Field(default=None, description="OneMap account password (EnvVar ONEMAP_PASSWORD).")
    timeout_s: float = Field(
        default=10.0, description="Most one HTTP request may take, connect to last byte (a total, not per read)."
    )
    call_deadline_s: float = Field(
        default=30.0, description="Most one call may take: its attempts, backoff, Retry-After and limiter waits."
    )
    run_deadline_s: float = Field(
        default=600.0,
        description="Most OneMap time one session (one step of a run) may use; then it stops calling and the "
        "step falls back, flagged (SGROUTE_ONEMAP_RUN_DEADLINE_S).",
    )
    max_attempts: int = Field(default=4, description="Attempts per call on timeouts, 429 and 5xx.")
    backoff_initial_s: float = Field(default=0.5, description="First retry wait; doubles each retry, plus jitter.")
    backoff_max_s: float = Field(default=8.0, description="Longest wait between two attempts.")
    retry_after_max_s: float = Field(default=60.0, description="Longest Retry-After honoured.")
    requests_per_second: float = Field(default=3.0, description="Client-side rate limit (OneMap allows ~250/min).")
    max_concurrency: int = Field(default=4, description="Requests in flight at once.")
    token_refresh_margin_s: float = Field(default=300.0, description="Refresh the token this long before expiry.")
    give_up_after_failures: int = Field(
        default=3, description="After this many calls fail all their retries, a session stops calling OneMap."
    )

    def __repr_args__(self) -> Any:
        """repr()/str() (tracebacks, debuggers, log lines) mask the credentials."""
        return [(k, "***" if k in ("email", "password") and v else v) for k, v in super().__repr_args__()]

    @property
    def has_credentials(self) -> bool:
        return bool(self.email) and bool(self.password)

    @contextmanager
    def session(self) -> Iterator[OneMapSession]:
        session = OneMapSession(self)
        try:
            yield session
        finally:
            session.close()


def onemap_credentials_set(environ: dict[str, str] | None = None) -> bool:
    """Both ONEMAP_EMAIL and ONEMAP_PASSWORD are set (non-empty): the embedded default then uses OneMap."""
    env = os.environ if environ is None else environ
    return bool(env.get("ONEMAP_EMAIL", "").strip()) and bool(env.get("ONEMAP_PASSWORD", "").strip())


def onemap_client_from_env(**overrides: Any) -> OneMapClient:
    """The client as every environment configures it: base URL from ONEMAP_BASE_URL, credentials as EnvVars
    (resolved when Dagster initialises the resource, never stored in run config)."""
    settings: dict[str, Any] = {
        "base_url": os.environ.get("ONEMAP_BASE_URL", "").strip() or DEFAULT_BASE_URL,
        "email": EnvVar("ONEMAP_EMAIL"),
        "password": EnvVar("ONEMAP_PASSWORD"),
    }
    if os.environ.get("ONEMAP_REQUESTS_PER_SECOND"):
        settings["requests_per_second"] = float(os.environ["ONEMAP_REQUESTS_PER_SECOND"])
    if os.environ.get("ONEMAP_MAX_CONCURRENCY"):
        settings["max_concurrency"] = int(os.environ["ONEMAP_MAX_CONCURRENCY"])
    for variable, name in (
        ("SGROUTE_ONEMAP_REQUEST_TIMEOUT_S", "timeout_s"),
        ("SGROUTE_ONEMAP_CALL_DEADLINE_S", "call_deadline_s"),
        ("SGROUTE_ONEMAP_RUN_DEADLINE_S", "run_deadline_s"),
    ):
        if os.environ.get(variable, "").strip():
            settings[name] = float(os.environ[variable])
    settings.update(overrides)
    return OneMapClient(**settings)


class _Tokens:
    """The session's access token: fetched lazily (a fully cached run never asks for one), shared by threads."""

    def __init__(self, session: OneMapSession):
        self._session = session
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0.0
        self._refused: OneMapAuthError | None = None

    def _valid(self) -> bool:
        margin = self._session.config.token_refresh_margin_s
        return self._token is not None and time.time() < self._expires_at - margin

    def get(self) -> str:
        with self._lock:
            if self._valid():
                return self._token  # type: ignore[return-value]
            return self._fetch()

    def refresh(self, stale: str) -> str:
        """A request was refused with ``stale``: fetch a new token unless another thread already did."""
        with self._lock:
            if self._token is not None and self._token != stale and self._valid():
                return self._token
            self._session.stats.add("token_refreshes")
            return self._fetch()

    def _fetch(self) -> str:
        if self._refused is not None:
            raise self._refused
        config = self._session.config
        if not config.has_credentials:
            self._refused = OneMapAuthError("token", "no credentials configured (set ONEMAP_EMAIL and ONEMAP_PASSWORD)")
            raise self._refused
        response = self._session.send(
            "token", "POST", TOKEN_PATH, json={"email": config.email, "password": config.password}
        )
        if response.status_code in (400, 401, 403):
            self._refused = OneMapAuthError("token", f"credentials refused (HTTP {response.status_code})")
            raise self._refused
        payload = self._session.decode("token", response)
        token = payload.get("access_token") or payload.get("token") if isinstance(payload, dict) else None
        if not token or not isinstance(token, str):
            raise OneMapBadResponse("token", "the answer has no access_token")
        now = time.time()
        self._token = token
        self._expires_at = parse_expiry(payload.get("expiry_timestamp", payload.get("expiry")), now)
        log.info("OneMap token obtained, valid for %.0f s", self._expires_at - now)
        return token


# When the run whose steps are calling OneMap started (epoch seconds); None outside a run.
_run_started: ContextVar[float | None] = ContextVar("sgroute_onemap_run_started", default=None)


@contextmanager
def onemap_run(started_at: float | None) -> Iterator[None]:
    """Sessions opened inside share the run's one OneMap budget (SGROUTE_ONEMAP_RUN_DEADLINE_S), counted from
    ``started_at``: a run's geocoding, matrix and verification used to get a full budget each (three times the
    documented bound)."""
    token = _run_started.set(started_at)
    try:
        yield
    finally:
        _run_started.reset(token)


class OneMapSession:
    """One batch of OneMap work: connection pool, rate limiter, token, circuit breaker and call counts."""

    def __init__(self, config: OneMapClient):
        self.config = config
        self.stats = CallStats()
        self.limiter = RateLimiter(config.requests_per_second)
        self._tokens = _Tokens(self)
        self.started = time.monotonic()
        budget = max(0.0, config.run_deadline_s)
        run_started = _run_started.get()
        self.run_wide = run_started is not None
        if run_started is not None:  # what the run's earlier steps spent is gone
            budget = max(0.0, min(budget, config.run_deadline_s - (time.time() - run_started)))
        self.ends_at = self.started + budget
        self._call_end = threading.local()  # this thread's current call's deadline (token fetches included)
        self._http = httpx.Client(
            base_url=config.base_url.rstrip("/"),
            timeout=httpx.Timeout(config.timeout_s),
            transport=deadline_transport(
                httpx.Limits(max_connections=max(1, config.max_concurrency) + 1), environment_proxy(config.base_url)
            ),
            headers={"User-Agent": "sgroute/0.1", "Accept": "application/json"},
            follow_redirects=False,
        )
        self._failure_lock = threading.Lock()
        self._failures = 0
        self._tripped: str | None = None
        self._tripped_as: type[OneMapError] = OneMapUnavailable
        backoff = wait_exponential_jitter(
            initial=config.backoff_initial_s, max=config.backoff_max_s, jitter=config.backoff_initial_s
        )

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            if isinstance(exc, _Retryable) and exc.retry_after is not None:
                return min(exc.retry_after, config.retry_after_max_s)
            return backoff(state)

        self._wait = wait

    def close(self) -> None:
        self._http.close()

    # --- public calls ---------------------------------------------------------------------------------

    def search(self, search_val: str) -> dict[str, Any]:
        """Page 1 of ``/api/common/elastic/search`` for ``search_val`` (raw JSON)."""
        params = {"searchVal": search_val, "returnGeom": "Y", "getAddrDetails": "Y", "pageNum": "1"}
        payload = self._call("search", SEARCH_PATH, params, needs_token=self.config.has_credentials)
        if not isinstance(payload, dict) or not isinstance(payload.get("results", []), list):
            raise OneMapBadResponse("search", "the answer has no results list")
        return payload

    def reverse_geocode(self, lat: float, lon: float, buffer_m: int = 40) -> dict[str, Any]:
        """``/api/public/revgeocode`` around a point (raw JSON)."""
        params = {"location": f"{lat:.6f},{lon:.6f}", "buffer": str(buffer_m), "addressType": "All"}
        payload = self._call("revgeocode", REVGEOCODE_PATH, params, needs_token=True)
        if not isinstance(payload, dict):
            raise OneMapBadResponse("revgeocode", "the answer is not a JSON object")
        return payload

    def route(self, olat: float, olon: float, dlat: float, dlon: float) -> tuple[float, float]:
        """Drive time (s) and distance (m) from ``route_summary`` of ``/api/public/routingsvc/route``."""
        leg = self.route_leg(olat, olon, dlat, dlon)
        return leg.duration_s, leg.distance_m

    def route_leg(self, olat: float, olon: float, dlat: float, dlon: float) -> RouteLeg:
        """The drive route's time, distance and ``route_geometry`` (Google encoded polyline, precision 5; None
        when OneMap sends none or not a string), from one call: maps draw the road the time was measured on."""
        params = {"start": f"{olat:.6f},{olon:.6f}", "end": f"{dlat:.6f},{dlon:.6f}", "routeType": "drive"}
        payload = self._call("route", ROUTE_PATH, params, needs_token=True)
        summary = payload.get("route_summary") if isinstance(payload, dict) else None
        try:
            duration = float(summary["total_time"])  # type: ignore[index]
            distance = float(summary["total_distance"])  # type: ignore[index]
        except (TypeError, KeyError, ValueError):
            raise OneMapBadResponse("route", "no route_summary with total_time and total_distance") from None
        if not (math.isfinite(duration) and math.isfinite(distance)) or duration < 0 or distance < 0:
            raise OneMapBadResponse("route", "route_summary has a negative or non-finite time or distance")
        geometry = payload.get("route_geometry")
        return RouteLeg(duration, distance, geometry if isinstance(geometry, str) and geometry else None)

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R | OneMapError]:
        """``fn`` over ``items`` with at most ``max_concurrency`` in flight; OneMap errors are returned in place."""

        def guarded(item: T) -> R | OneMapError:
            try:
                return fn(item)
            except OneMapError as exc:
                return exc

        if not items:
            return []
        workers = max(1, min(self.config.max_concurrency, len(items)))
        if workers == 1:
            return [guarded(item) for item in items]
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="onemap") as pool:
            return list(pool.map(guarded, items))

    @property
    def unavailable(self) -> str | None:
        """Why this session stopped calling OneMap, if it did."""
        return self._tripped

    # --- plumbing -------------------------------------------------------------------------------------

    def _budget_end(self) -> float:
        """When the current call must be over: its own deadline or the session's, whichever is first."""
        return min(getattr(self._call_end, "at", math.inf), self.ends_at)

    def send(self, endpoint: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One HTTP request through the rate limiter, over by ``timeout_s`` or the call's deadline, whichever
        is first; transport problems (a deadline included) become retryable failures."""
        end = self._budget_end()
        if self.limiter.acquire(max_wait=max(0.0, end - time.monotonic())) is None:
            raise _OutOfTime(
                f"the next request slot (after OneMap's Retry-After) is past the deadline: "
                f"{self._out_of_time_reason(end)}"
            )
        now = time.monotonic()
        if end - now <= 0:
            raise _OutOfTime(self._out_of_time_reason(end))
        limit = min(self.config.timeout_s, end - now)
        self.stats.add(f"requests.{endpoint}")
        try:
            with exchange_deadline(now + limit):
                return self._http.request(method, path, **kwargs)
        except httpx.TimeoutException:
            self.stats.add("timeouts")
            raise _Retryable(f"no complete answer within {limit:.3g} s") from None
        except httpx.TransportError as exc:
            raise _Retryable(f"connection failed ({type(exc).__name__})") from None

    def _out_of_time_reason(self, end: float) -> str:
        if end >= self.ends_at:
            whose = "this run's" if self.run_wide else "this session's"
            return (
                f"{whose} OneMap time budget of {self.config.run_deadline_s:g} s is used up "
                "(SGROUTE_ONEMAP_RUN_DEADLINE_S)"
            )
        return f"no time left within the call's {self.config.call_deadline_s:g} s deadline"

    def decode(self, endpoint: str, response: httpx.Response) -> Any:
        status = response.status_code
        if status == 429:
            self.stats.add("rate_limited")
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            if retry_after:
                self.limiter.defer(min(retry_after, self.config.retry_after_max_s))
            raise _Retryable("rate limited (HTTP 429)", retry_after=retry_after)
        if status >= 500:
            raise _Retryable(f"server error (HTTP {status})")
        if status in (401, 403):
            raise OneMapAuthError(endpoint, f"access refused (HTTP {status})")
        if status >= 400:
            raise OneMapBadResponse(endpoint, f"request rejected (HTTP {status})")
        try:
            return response.json()
        except ValueError:
            # An HTML error or maintenance page (a proxy, a load balancer) sent as 200: OneMap is not really
            # answering, so it counts as a failed attempt, is retried and can trip the session.
            self.stats.add("not_json")
            kind = response.headers.get("Content-Type", "no content type").split(";")[0].strip()[:40]
            raise _Retryable(f"the answer is not JSON (HTTP {status}, {kind or 'no content type'})") from None

    def _attempt(self, endpoint: str, path: str, params: dict[str, str], needs_token: bool) -> Any:
        headers: dict[str, str] = {}
        token = None
        if needs_token:
            token = self._tokens.get()
            headers["Authorization"] = f"Bearer {token}"
        response = self.send(endpoint, "GET", path, params=params, headers=headers)
        if response.status_code == 401 and token is not None:
            token = self._tokens.refresh(token)
            headers["Authorization"] = f"Bearer {token}"
            response = self.send(endpoint, "GET", path, params=params, headers=headers)
            if response.status_code == 401:
                raise OneMapAuthError(endpoint, "a freshly issued token was refused (HTTP 401)")
        return self.decode(endpoint, response)

    def _before_sleep(self, state: RetryCallState) -> None:
        self.stats.add("retries")
        exc = state.outcome.exception() if state.outcome else None
        why = exc.description if isinstance(exc, _Retryable) else type(exc).__name__
        wait = state.next_action.sleep if state.next_action else 0.0
        log.warning(
            "OneMap %s: %s; attempt %d of %d, retrying in %.2f s",
            state.fn.__name__ if state.fn else "call",
            why,
            state.attempt_number,
            self.config.max_attempts,
            wait,
        )

    def _call(self, endpoint: str, path: str, params: dict[str, str], needs_token: bool) -> Any:
        if self._tripped is None and time.monotonic() >= self.ends_at:
            self._trip(self._out_of_time_reason(self.ends_at))
        if self._tripped is not None:
            self.stats.add("skipped")
            raise self._tripped_as(endpoint, f"not called: {self._tripped}")
        call_end = min(time.monotonic() + max(0.0, self.config.call_deadline_s), self.ends_at)
        stopped_by: list[str] = []  # why the retries ended early, when a deadline ended them
        session_over: list[bool] = []  # ... and whether the session's own deadline leaves no room either

        def stop(state: RetryCallState) -> bool:
            if state.attempt_number >= max(1, self.config.max_attempts):
                return True
            if self._tripped is not None:  # another thread found OneMap down meanwhile: no more attempts
                stopped_by.append(f"stopped retrying: {self._tripped}")
                return True
            left = call_end - time.monotonic()
            if state.upcoming_sleep + MIN_ATTEMPT_S <= left:
                return False
            exc = state.outcome.exception() if state.outcome else None
            session_over.append(time.monotonic() + state.upcoming_sleep + MIN_ATTEMPT_S > self.ends_at)
            if isinstance(exc, _Retryable) and exc.retry_after is not None:
                stopped_by.append(
                    f"OneMap asked to wait {exc.retry_after:g} s (Retry-After), more than the {max(0.0, left):.1f} s "
                    f"left: {self._out_of_time_reason(call_end)}"
                )
            else:
                stopped_by.append(self._out_of_time_reason(call_end))
            return True

        retrying = Retrying(
            stop=stop,
            wait=self._wait,
            retry=retry_if_exception_type(_Retryable),
            before_sleep=self._before_sleep,
            reraise=True,
        )

        def attempt() -> Any:
            return self._attempt(endpoint, path, params, needs_token)

        attempt.__name__ = endpoint
        self._call_end.at = call_end
        try:
            payload = retrying(attempt)
        except _Retryable as exc:
            attempts = retrying.statistics.get("attempt_number", 1)
            tried = f"gave up after {attempts} attempt{'s' if attempts != 1 else ''}"
            message = f"{exc.description}; {tried}" + (f" ({stopped_by[0]})" if stopped_by else "")
            self._give_up(endpoint, message, out_of_budget=any(session_over))
            raise OneMapUnavailable(endpoint, message) from None
        except _OutOfTime as exc:
            self._give_up(endpoint, exc.description, out_of_budget=time.monotonic() + MIN_ATTEMPT_S > self.ends_at)
            raise OneMapUnavailable(endpoint, exc.description) from None
        except OneMapAuthError as exc:
            self._trip(str(exc), OneMapAuthError)
            raise
        finally:
            self._call_end.at = math.inf
        with self._failure_lock:
            self._failures = 0
        return payload

    def _give_up(self, endpoint: str, message: str, out_of_budget: bool = False) -> None:
        """One call failed; the session stops calling after a run of failures, or at once when its own
        deadline is what ended the call (nothing later could fit either)."""
        self.stats.add("give_ups")
        log.warning("OneMap %s: %s", endpoint, message)
        with self._failure_lock:
            self._failures += 1
            failures = self._failures
        if out_of_budget or time.monotonic() >= self.ends_at:
            self.stats.add("deadline_give_ups")
            self._trip(f"OneMap not finished in time ({endpoint}: {message})")
        elif failures >= max(1, self.config.give_up_after_failures):
            self._trip(f"OneMap unreachable ({failures} calls in a row failed; last: {endpoint}: {message})")

    def _trip(self, why: str, kind: type[OneMapError] = OneMapUnavailable) -> None:
        with self._failure_lock:
            if self._tripped is None:
                self._tripped = why
                self._tripped_as = kind
                log.error("%s; not calling OneMap again in this run", why)
