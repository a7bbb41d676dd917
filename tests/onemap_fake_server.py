"""A fake OneMap on 127.0.0.1: the real endpoints, recorded-shape JSON, injectable faults, a request log.

Tests and the cold/warm benchmark talk to it over real HTTP exactly as production talks to OneMap:

- ``POST /api/auth/post/getToken`` (JSON ``{email, password}``) -> ``{access_token, expiry_timestamp}``;
  every other endpoint needs ``Authorization: Bearer <token>`` and answers 401 for a missing, unknown or
  expired token (``expire_tokens()`` expires them server-side, as OneMap does when it rotates keys).
- ``GET /api/common/elastic/search`` over a gazetteer of places (a 6-digit ``searchVal`` matches ``POSTAL``;
  text matches address words), 10 results a page, OneMap's field names with values as strings.
- ``GET /api/public/revgeocode`` -> ``GeocodeInfo`` of places within ``buffer`` metres, nearest first.
- ``GET /api/public/routingsvc/route`` (drive) -> ``route_summary.total_time``/``total_distance`` from a
  deterministic road-factor formula (deliberately not the project's travel-time curve, so tests can tell
  which cells came from OneMap), and ``route_geometry``: a Google encoded polyline (precision 5) of an
  L-shaped "road" (along the origin's latitude, then the destination's longitude; ``road_points``), or the
  fixed stub OneMap-like string when ``geometry`` is off. ``slow_leg`` makes chosen legs slower than the
  formula (a congested or roundabout road the model cannot know about).

Faults (``inject``): a status (401, 429 with Retry-After, 500...), a delay past the client's timeout, a
fixed body; an HTML page sent as 200 (``html=``, what a proxy's maintenance page looks like); a response
dripped one byte every ``drip_s`` seconds, status line first (each read succeeds, so only a total deadline
stops it); for N requests or for ever, per endpoint. ``rate_limit(retry_after=60)`` is a 429 asking the
client to come back in a minute. ``scripted`` pins the results of a search value
(empty or ambiguous answers). Every request is logged with a monotonic timestamp.

Test modules define their own ``fake_onemap`` fixture around :class:`running_fake_onemap` (a fresh server
per test, stopped and joined afterwards).
"""

from __future__ import annotations

import json
import math
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import polyline

ENDPOINTS = {
    "/api/auth/post/getToken": "token",
    "/api/common/elastic/search": "search",
    "/api/public/revgeocode": "revgeocode",
    "/api/public/routingsvc/route": "route",
}
MAINTENANCE_PAGE = (
    "<!DOCTYPE html><html><head><title>OneMap - Scheduled Maintenance</title></head>"
    "<body><h1>We'll be back soon</h1><p>OneMap is undergoing maintenance.</p></body></html>"
)

EMAIL = "planner@example.sg"
PASSWORD = "s3cret-Pa55word!"

ROADS = [
    "ANG MO KIO AVENUE",
    "BEDOK NORTH STREET",
    "TAMPINES STREET",
    "JURONG WEST STREET",
    "WOODLANDS DRIVE",
    "YISHUN RING ROAD",
    "HOUGANG AVENUE",
    "CLEMENTI AVENUE",
    "TOA PAYOH LORONG",
    "PASIR RIS DRIVE",
    "SENGKANG EAST WAY",
    "BUKIT BATOK WEST AVENUE",
]

# A few real places with their real postal codes (OneMap's own spelling).
LANDMARKS = [
    ("1", "FULLERTON SQUARE", "THE FULLERTON HOTEL SINGAPORE", "049178", 1.28630, 103.85350),
    ("2", "ORCHARD TURN", "ION ORCHARD", "238801", 1.30403, 103.83180),
    ("18", "RAFFLES QUAY", "LAU PA SAT", "048582", 1.28066, 103.85040),
    ("11", "JALAN TAN TOCK SENG", "TAN TOCK SENG HOSPITAL", "308433", 1.32124, 103.84595),
    ("1", "JURONG WEST CENTRAL 2", "JURONG POINT", "648886", 1.33970, 103.70670),
]


def place(blk: str, road: str, building: str, postal: str, lat: float, lon: float) -> dict[str, str]:
    """A gazetteer entry in OneMap's search-result shape (every value a string, 'NIL' when empty)."""
    address = " ".join(p for p in (blk, road, building if building != "NIL" else "", "SINGAPORE", postal) if p)
    return {
        "SEARCHVAL": building if building != "NIL" else f"{blk} {road}",
        "BLK_NO": blk or "NIL",
        "ROAD_NAME": road,
        "BUILDING": building or "NIL",
        "ADDRESS": address,
        "POSTAL": postal,
        "X": f"{(lon - 103.6) * 111000:.4f}",
        "Y": f"{(lat - 1.2) * 110600:.4f}",
        "LATITUDE": f"{lat:.13f}",
        "LONGITUDE": f"{lon:.13f}",
        "LONGTITUDE": f"{lon:.13f}",  # OneMap really sends this misspelt duplicate
    }


def synthetic_place(k: int, lat: float, lon: float) -> dict[str, str]:
    """Place k of a generated gazetteer: unique block, road, postal code (51xxxx) at a real SG point."""
    road = f"{ROADS[k % len(ROADS)]} {k // len(ROADS) + 1}"
    return place(str(100 + k), road, "NIL", f"{510000 + k:06d}", lat, lon)


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(math.sqrt(min(1.0, h)))


def fake_route(olat: float, olon: float, dlat: float, dlon: float) -> tuple[int, int]:
    """(total_time s, total_distance m) the fake answers: 1.3 x straight line + 250 m at 8.5 m/s."""
    h = haversine_m(olat, olon, dlat, dlon)
    distance = h * 1.3 + 250.0 if h > 0 else 0.0
    return int(round(distance / 8.5 + 30)), int(round(distance))


def road_points(olat: float, olon: float, dlat: float, dlon: float) -> list[tuple[float, float]]:
    """The fake's road from origin to destination: east-west first, then north-south, a point every ~300 m."""
    corner = (olat, dlon)
    out = []
    for (a_lat, a_lon), (b_lat, b_lon) in (((olat, olon), corner), (corner, (dlat, dlon))):
        steps = max(1, int(haversine_m(a_lat, a_lon, b_lat, b_lon) // 300))
        out += [(a_lat + (b_lat - a_lat) * k / steps, a_lon + (b_lon - a_lon) * k / steps) for k in range(steps)]
    out.append((dlat, dlon))
    return [(round(lat, 5), round(lon, 5)) for lat, lon in out]


def encode_polyline(points: list[tuple[float, float]]) -> str:
    """Google's encoded polyline (the format of OneMap's ``route_geometry``), precision 5."""
    return polyline.encode(points, 5)


def fast_client_settings(fake: FakeOneMap, **settings) -> dict:
    """OneMapClient settings for tests against ``fake``: tiny backoff, a short timeout and a generous rate limit,
    each overridable by the test that is about it."""
    return {
        "base_url": fake.url,
        "email": EMAIL,
        "password": PASSWORD,
        "timeout_s": 0.5,
        "max_attempts": 3,
        "backoff_initial_s": 0.01,
        "backoff_max_s": 0.05,
        "requests_per_second": 200.0,
        "max_concurrency": 4,
        **settings,
    }


def leg_key(olat: float, olon: float, dlat: float, dlon: float) -> tuple[float, float, float, float]:
    return (round(olat, 5), round(olon, 5), round(dlat, 5), round(dlon, 5))


@dataclass
class Fault:
    endpoint: str | None  # token | search | revgeocode | route | None = any
    status: int | None = None
    delay_s: float = 0.0
    retry_after: str | None = None
    body: Any = None
    times: int = 1  # -1: for ever
    html: str | None = None  # sent as text/html (status 200 unless ``status`` says otherwise)
    drip_s: float = 0.0  # > 0: the whole response, one byte per this many seconds


@dataclass
class Record:
    t: float
    endpoint: str
    method: str
    path: str
    params: dict[str, str]
    status: int
    authorization: str | None


@dataclass
class FakeOneMap:
    """State of the fake; ``url`` is set once the server runs."""

    email: str = EMAIL
    password: str = PASSWORD
    token_ttl_s: float = 3 * 24 * 3600
    places: list[dict[str, str]] = field(default_factory=list)
    scripted: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    url: str = ""
    records: list[Record] = field(default_factory=list)
    geometry: bool = True  # route answers carry an L-shaped road polyline (False: OneMap's stub string)
    slow: dict[tuple[float, float, float, float], int] = field(default_factory=dict)  # leg -> extra seconds
    _faults: list[Fault] = field(default_factory=list)
    _tokens: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # --- test controls ---------------------------------------------------------------------------------

    def inject(
        self,
        endpoint: str | None,
        status: int | None = None,
        *,
        delay_s: float = 0.0,
        retry_after: str | None = None,
        body: Any = None,
        times: int = 1,
        html: str | None = None,
        drip_s: float = 0.0,
    ) -> None:
        with self._lock:
            self._faults.append(Fault(endpoint, status, delay_s, retry_after, body, times, html, drip_s))

    def rate_limit(self, endpoint: str | None = None, *, retry_after: str = "60", times: int = -1) -> None:
        """429 Too Many Requests with ``Retry-After`` (seconds), as OneMap sends past its per-minute quota."""
        self.inject(endpoint, 429, retry_after=retry_after, times=times)

    def serve_html(self, endpoint: str | None = None, *, times: int = -1) -> None:
        """A 200 whose body is an HTML page, not JSON (a proxy or maintenance page in front of OneMap)."""
        self.inject(endpoint, html=MAINTENANCE_PAGE, times=times)

    def drip(self, endpoint: str | None = None, *, every_s: float = 2.0, times: int = -1) -> None:
        """Answer normally, but one byte every ``every_s`` seconds (a slow-loris server)."""
        self.inject(endpoint, drip_s=every_s, times=times)

    def slow_leg(self, olat: float, olon: float, dlat: float, dlon: float, extra_s: int) -> None:
        """This leg (coordinates rounded to 1e-5, as OneMap's callers send them) takes ``extra_s`` longer."""
        with self._lock:
            self.slow[leg_key(olat, olon, dlat, dlon)] = int(extra_s)

    def leg_time(self, olat: float, olon: float, dlat: float, dlon: float) -> tuple[int, int]:
        """(total_time, total_distance) this fake answers for a leg, slow legs included."""
        total_time, total_distance = fake_route(olat, olon, dlat, dlon)
        with self._lock:
            extra = self.slow.get(leg_key(olat, olon, dlat, dlon), 0)
        return total_time + extra, total_distance

    def route_legs_asked(self) -> list[tuple[float, float, float, float]]:
        """The legs of every route request received, in order (repeats included)."""
        out = []
        for r in self.calls("route"):
            (olat, olon), (dlat, dlon) = (tuple(float(v) for v in r.params[k].split(",")) for k in ("start", "end"))
            out.append(leg_key(olat, olon, dlat, dlon))
        return out

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def expire_tokens(self) -> None:
        with self._lock:
            self._tokens.clear()

    def reset_log(self) -> None:
        with self._lock:
            self.records.clear()

    def calls(self, endpoint: str | None = None) -> list[Record]:
        with self._lock:
            return [r for r in self.records if endpoint is None or r.endpoint == endpoint]

    def issued_tokens(self) -> list[str]:
        return [r.authorization.removeprefix("Bearer ") for r in self.calls() if r.authorization]

    # --- request handling ------------------------------------------------------------------------------

    def _take_fault(self, endpoint: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.endpoint in (None, endpoint) and fault.times != 0:
                    if fault.times > 0:
                        fault.times -= 1
                    return fault
        return None

    def _log(self, record: Record) -> None:
        with self._lock:
            self.records.append(record)

    def _authorised(self, header: str | None) -> bool:
        if not header or not header.startswith("Bearer "):
            return False
        with self._lock:
            expires = self._tokens.get(header.removeprefix("Bearer "))
        return expires is not None and expires > time.time()

    def handle(
        self, method: str, path: str, params: dict[str, str], body: bytes, auth: str | None
    ) -> tuple[int, Any, dict[str, str], float]:
        """(status, JSON body, extra headers, delay) for one request (``respond`` also gives the drip)."""
        return self.respond(method, path, params, body, auth)[:4]

    def respond(
        self, method: str, path: str, params: dict[str, str], body: bytes, auth: str | None
    ) -> tuple[int, Any, dict[str, str], float, float]:
        """(status, body, extra headers, delay, drip interval) for one request; a ``bytes`` body is sent as is."""
        endpoint = ENDPOINTS.get(path, "unknown")
        fault = self._take_fault(endpoint)
        drip = fault.drip_s if fault else 0.0
        if fault and fault.html is not None:
            html_headers = {"Content-Type": "text/html; charset=utf-8"}
            return fault.status or 200, fault.html.encode(), html_headers, fault.delay_s, drip
        return (*self._answer(fault, endpoint, method, params, body, auth), drip)

    def _answer(
        self, fault: Fault | None, endpoint: str, method: str, params: dict[str, str], body: bytes, auth: str | None
    ) -> tuple[int, Any, dict[str, str], float]:
        delay = fault.delay_s if fault else 0.0
        if fault and fault.status:
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            return fault.status, fault.body or {"error": f"injected HTTP {fault.status}"}, headers, delay
        if endpoint == "unknown":
            return 404, {"error": "Not found"}, {}, delay
        if endpoint == "token":
            if method != "POST":
                return 405, {"error": "Method not allowed"}, {}, delay
            try:
                creds = json.loads(body or b"{}")
            except ValueError:
                return 400, {"error": "Bad request"}, {}, delay
            if creds.get("email") != self.email or creds.get("password") != self.password:
                return 401, {"error": "Invalid credentials"}, {}, delay
            token = "eyJ" + uuid.uuid4().hex + uuid.uuid4().hex
            expiry = time.time() + self.token_ttl_s
            with self._lock:
                self._tokens[token] = expiry
            return 200, {"access_token": token, "expiry_timestamp": str(int(expiry))}, {}, delay
        if not self._authorised(auth):
            return 401, {"error": "Unauthorized: token expired or invalid"}, {}, delay
        if endpoint == "search":
            return 200, self._search(params), {}, delay
        if endpoint == "revgeocode":
            return 200, self._revgeocode(params), {}, delay
        return self._route(params) + ({}, delay)

    def _search(self, params: dict[str, str]) -> dict[str, Any]:
        value = " ".join(params.get("searchVal", "").upper().split())
        page = int(params.get("pageNum", "1") or 1)
        if value in self.scripted:
            hits = self.scripted[value]
        elif value.isdigit() and len(value) == 6:
            hits = [p for p in self.places if p["POSTAL"] == value]
        else:
            words = set(value.replace(",", " ").split()) - {"BLK", "SINGAPORE"}
            scored = []
            for p in self.places:
                have = set(p["ADDRESS"].split())
                share = len(words & have) / len(words) if words else 0.0
                if share >= 0.6:
                    scored.append((-share, p["ADDRESS"], p))
            hits = [p for _, _, p in sorted(scored, key=lambda s: (s[0], s[1]))]
        pages = max(1, math.ceil(len(hits) / 10))
        return {
            "found": len(hits),
            "totalNumPages": pages,
            "pageNum": page,
            "results": hits[(page - 1) * 10 : page * 10],
        }

    def _revgeocode(self, params: dict[str, str]) -> dict[str, Any]:
        lat, lon = (float(v) for v in params["location"].split(","))
        buffer_m = float(params.get("buffer", "10"))
        near = []
        for p in self.places:
            d = haversine_m(lat, lon, float(p["LATITUDE"]), float(p["LONGITUDE"]))
            if d <= buffer_m:
                near.append((d, p))
        near.sort(key=lambda dp: dp[0])
        return {
            "GeocodeInfo": [
                {
                    "BUILDINGNAME": p["BUILDING"],
                    "BLOCK": p["BLK_NO"],
                    "ROAD": p["ROAD_NAME"],
                    "POSTALCODE": p["POSTAL"],
                    "XCOORD": p["X"],
                    "YCOORD": p["Y"],
                    "LATITUDE": p["LATITUDE"],
                    "LONGITUDE": p["LONGITUDE"],
                }
                for _, p in near
            ]
        }

    def _route(self, params: dict[str, str]) -> tuple[int, Any]:
        if params.get("routeType") != "drive":
            return 400, {"error": "routeType must be drive for this fake"}
        olat, olon = (float(v) for v in params["start"].split(","))
        dlat, dlon = (float(v) for v in params["end"].split(","))
        total_time, total_distance = self.leg_time(olat, olon, dlat, dlon)
        geometry = encode_polyline(road_points(olat, olon, dlat, dlon)) if self.geometry else "m`miGsc{wR??"
        return 200, {
            "status_message": "Found route between points",
            "route_geometry": geometry,
            "status": 0,
            "route_instructions": [["Head", "ROAD", total_distance, "1.0,103.0", total_time, f"{total_distance}m"]],
            "route_name": ["ROAD"],
            "route_summary": {
                "start_point": "START",
                "end_point": "END",
                "total_time": total_time,
                "total_distance": total_distance,
            },
            "viaRoute": "ROAD",
            "subtitle": "Fastest route, assuming usual traffic",
        }


def _handler_for(state: FakeOneMap) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet: the test log is the record list
            return

        def _serve(self, method: str) -> None:
            split = urlsplit(self.path)
            params = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            auth = self.headers.get("Authorization")
            status, payload, headers, delay, drip_s = state.respond(method, split.path, params, body, auth)
            endpoint = ENDPOINTS.get(split.path, "unknown")
            state._log(Record(time.monotonic(), endpoint, method, split.path, params, status, auth))
            if delay:
                time.sleep(delay)
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            headers = {"Content-Type": "application/json", **headers}
            try:
                if drip_s > 0:
                    self._drip(status, headers, data, drip_s)
                    return
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client timed out and hung up: exactly what a slow-response fault is for

        def _drip(self, status: int, headers: dict[str, str], data: bytes, every_s: float) -> None:
            """The whole response, status line included, one byte at a time: every read the client makes
            gets something, so per-read timeouts never fire. Stops when the client hangs up."""
            head = f"HTTP/1.1 {status} {self.responses.get(status, ('',))[0]}\r\n"
            head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
            head += f"Content-Length: {len(data)}\r\n\r\n"
            self.close_connection = True
            for byte in head.encode("latin-1") + data:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(every_s)

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            self._serve("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._serve("POST")

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        return  # connections dropped by timed-out clients are expected


class running_fake_onemap:  # noqa: N801 (used as a context manager like open())
    """Start the fake on a free loopback port; stop it and join its thread on exit."""

    def __init__(self, state: FakeOneMap | None = None):
        self.state = state or FakeOneMap(places=default_places())
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> FakeOneMap:
        self._server = _Server(("127.0.0.1", 0), _handler_for(self.state))
        host, port = self._server.server_address[:2]
        self.state.url = f"http://{host}:{port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05})
        self._thread.daemon = True
        self._thread.start()
        return self.state

    def __exit__(self, *exc: Any) -> None:
        assert self._server is not None and self._thread is not None
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def default_places(points: list[tuple[float, float]] | None = None) -> list[dict[str, str]]:
    """Landmarks plus one synthetic place per given point."""
    out = [place(*landmark) for landmark in LANDMARKS]
    for k, (lat, lon) in enumerate(points or []):
        out.append(synthetic_place(k, lat, lon))
    return out
