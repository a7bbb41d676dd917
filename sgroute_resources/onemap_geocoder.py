"""The OneMap geocoder: search (postal code first), ranked results, reverse geocoding, a cache in the app DB.

Per stop:

- **Coordinates in the file** are trusted (source ``file``); a missing address or postal code is filled from
  OneMap's reverse geocoder (nearest building within 40 m), which never moves the stop.
- **No coordinates**: search the postal code if there is one, else the address. When the postal search has
  no exact postal match and the stop has an address, the address is searched too. The results are ranked by
  :mod:`sgroute_assets.domain.stops.matching` (exact postal match, then address similarity, ambiguity
  between distinct places); the stop is located only if one place clearly wins, and otherwise needs
  attention with the candidates listed. Nothing is guessed and the planner's address is not overwritten.
- **OneMap unreachable** (after the client's retries): the stops that needed it need attention with that
  reason, and ``GeocodedStops.service_error`` says so for the asset check. Such failures are not cached.

Every answer (including empty and ambiguous ones) is cached in ``geocode_cache`` under the normalised query,
so a second materialisation of the same file makes no OneMap call. Cached answers keep the raw candidates,
not only the decision, so improved ranking rules apply to old answers too. Empty answers expire sooner
(OneMap learns new buildings); an override file is the way to fix a stop now.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from sgroute_assets.domain.stops import NEEDS_ATTENTION, OK, GeocodedStop, GeocodedStops, Stop
from sgroute_assets.domain.stops import matching as gm
from sgroute_resources.app_database import AppDatabase
from sgroute_resources.app_tables import GeocodeCache
from sgroute_resources.geocoder import FileCoordinatesGeocoder, Geocoder
from sgroute_resources.onemap_client import (
    OneMapAuthError,
    OneMapClient,
    OneMapError,
    OneMapSession,
    OneMapUnavailable,
    onemap_client_from_env,
    onemap_credentials_set,
)

CHUNK = 500
SOURCE_ONEMAP = "onemap"
SOURCE_CACHE = "cache"


# --- idempotent writes shared with the travel-time resource ----------------------------------------------


def _dialect_insert(session: Session, model: Any) -> Any:
    name = session.get_bind().dialect.name
    if name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - the app database is SQLite or Postgres
        raise NotImplementedError(f"insert-if-absent is not implemented for {name}")
    return insert(model)


def _chunks(rows: Sequence[dict[str, Any]], size: int = CHUNK) -> Iterable[Sequence[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def insert_if_absent(session: Session, model: Any, rows: Sequence[dict[str, Any]], keys: list[str]) -> None:
    """INSERT ... ON CONFLICT (keys) DO NOTHING, on SQLite and Postgres: concurrent runs cannot duplicate."""
    for chunk in _chunks(rows):
        session.execute(_dialect_insert(session, model).values(list(chunk)).on_conflict_do_nothing(index_elements=keys))


def upsert(session: Session, model: Any, rows: Sequence[dict[str, Any]], keys: list[str]) -> None:
    """INSERT ... ON CONFLICT (keys) DO UPDATE: a refreshed answer replaces an expired one."""
    for chunk in _chunks(rows):
        stmt = _dialect_insert(session, model).values(list(chunk))
        updates = {c: stmt.excluded[c] for c in chunk[0] if c not in keys}
        session.execute(stmt.on_conflict_do_update(index_elements=keys, set_=updates))


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)  # SQLite drops the zone


# --- queries and answers ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    key: str
    kind: str  # postal | address | reverse
    text: str = ""
    lat: float = 0.0
    lon: float = 0.0


@dataclass
class Answer:
    source: str  # onemap | cache | error
    candidates: list[gm.Candidate]
    address: str | None = None  # reverse geocoding only
    postal: str | None = None
    error: OneMapError | None = None


def postal_query(postal: str) -> Query:
    return Query(key=gm.postal_query_key(postal), kind="postal", text=postal)


def address_query(address: str) -> Query:
    return Query(key=gm.address_query_key(address), kind="address", text=gm.normalise_address(address))


def reverse_query(lat: float, lon: float) -> Query:
    return Query(key=gm.reverse_query_key(lat, lon), kind="reverse", lat=round(lat, 5), lon=round(lon, 5))


class OneMapGeocoder(Geocoder):
    """Geocodes with OneMap behind the app-database cache (see the module docstring for the rules)."""

    client: OneMapClient
    app_db: AppDatabase
    fill_from_reverse_geocode: bool = Field(
        default=True, description="Fill a missing address/postal code of stops located by the file."
    )
    cache_max_age_days: float = Field(default=180.0, description="Cached answers older than this are asked again.")
    empty_cache_max_age_days: float = Field(default=7.0, description="Same for answers without any result.")

    def geocode(self, stops: list[Stop]) -> GeocodedStops:
        with self.client.session() as session:
            return _GeocodeRun(self, session).run(stops)


class _GeocodeRun:
    def __init__(self, config: OneMapGeocoder, session: OneMapSession):
        self.config = config
        self.session = session
        self.answers: dict[str, Answer] = {}
        self.cache_hits = 0
        self.errors: list[OneMapError] = []

    # --- orchestration ----------------------------------------------------------------------------------

    def run(self, stops: list[Stop]) -> GeocodedStops:
        searched = [s for s in stops if not s.has_coordinates and (s.postal_code or s.address)]
        self.lookup(
            [postal_query(s.postal_code) if s.postal_code else address_query(s.address or "") for s in searched]
        )
        second = [
            address_query(s.address) for s in searched if s.postal_code and s.address and self._needs_address_search(s)
        ]
        self.lookup(second)
        if self.config.fill_from_reverse_geocode:
            self.lookup(
                [reverse_query(s.lat, s.lon) for s in stops if s.has_coordinates and not (s.address and s.postal_code)]
            )

        results = [self.decide(s) for s in stops]
        service_error = next((str(e) for e in self.errors if isinstance(e, OneMapUnavailable | OneMapAuthError)), None)
        if service_error is None and self.session.unavailable:
            service_error = self.session.unavailable
        stats: dict[str, Any] = {
            "onemap_requests": self.session.stats.requests,
            "cache_hits": self.cache_hits,
            "queries": len(self.answers),
            **self.session.stats.snapshot(),
        }
        return GeocodedStops(results=results, service_error=service_error, stats=stats)

    def _needs_address_search(self, stop: Stop) -> bool:
        answer = self.answers.get(gm.postal_query_key(stop.postal_code or ""))
        if answer is None or answer.error is not None:
            return False
        return not any(c.postal == stop.postal_code for c in answer.candidates)

    def decide(self, stop: Stop) -> GeocodedStop:
        if stop.has_coordinates:
            return self._from_file(stop)
        if not (stop.postal_code or stop.address):
            return GeocodedStop(stop=stop, status=NEEDS_ATTENTION, source="none", reason="no address or postal code")
        keys = []
        if stop.postal_code:
            keys.append(gm.postal_query_key(stop.postal_code))
        if stop.address:
            keys.append(gm.address_query_key(stop.address))
        answers = [self.answers[k] for k in keys if k in self.answers]
        failed = [a for a in answers if a.error is not None]
        usable = [a for a in answers if a.error is None]
        if failed and not usable:
            return GeocodedStop(
                stop=stop, status=NEEDS_ATTENTION, source="none", reason=f"not geocoded: {failed[0].error}"
            )
        candidates: list[gm.Candidate] = []
        seen: set[tuple[float, float, str]] = set()
        for answer in usable:
            for c in answer.candidates:
                key = (c.lat, c.lon, c.address)
                if key not in seen:
                    seen.add(key)
                    candidates.append(c)
        match = gm.choose(stop.postal_code, stop.address, candidates)
        source = SOURCE_CACHE if usable and all(a.source == SOURCE_CACHE for a in usable) else SOURCE_ONEMAP
        if match.status == gm.OK and match.chosen is not None:
            chosen = match.chosen
            located = replace(
                stop,
                lat=chosen.lat,
                lon=chosen.lon,
                postal_code=stop.postal_code or chosen.postal,
                address=stop.address or chosen.address,
            )
            return GeocodedStop(
                stop=located,
                status=OK,
                source=source,
                confidence=match.confidence,
                reason=match.reason,
                candidates=match.candidates[:1],
            )
        reason = match.reason or "not located"
        if failed:
            reason += f" (and {failed[0].error})"
        if match.candidates:
            reason += (
                "; candidates: "
                + gm.describe_candidates(match.candidates)
                + "; pin the right one in the overrides file"
            )
        return GeocodedStop(
            stop=stop,
            status=NEEDS_ATTENTION,
            source=source,
            confidence=None,
            reason=reason,
            candidates=match.candidates,
        )

    def _from_file(self, stop: Stop) -> GeocodedStop:
        if stop.address and stop.postal_code or not self.config.fill_from_reverse_geocode:
            return GeocodedStop(stop=stop, status=OK, source="file", confidence=1.0)
        answer = self.answers.get(gm.reverse_query_key(stop.lat, stop.lon))  # type: ignore[arg-type]
        if answer is None or answer.error is not None:
            why = answer.error if answer is not None else "not asked"
            return GeocodedStop(
                stop=stop, status=OK, source="file", confidence=1.0, reason=f"address not filled in: {why}"
            )
        filled = replace(stop, address=stop.address or answer.address, postal_code=stop.postal_code or answer.postal)
        reason = None if (answer.address or answer.postal) else "no building within 40 m to name the address"
        return GeocodedStop(stop=filled, status=OK, source="file", confidence=1.0, reason=reason)

    # --- cache and OneMap -------------------------------------------------------------------------------

    def lookup(self, queries: list[Query]) -> None:
        """Answers for ``queries`` into ``self.answers``: cache first, OneMap for the rest, new answers cached."""
        wanted = {q.key: q for q in queries if q.key not in self.answers}
        if not wanted:
            return
        cached = self._read_cache(list(wanted))
        for key, answer in cached.items():
            self.answers[key] = answer
            self.cache_hits += 1
        missing = [q for k, q in wanted.items() if k not in cached]
        if not missing:
            return
        fetched = self.session.map(self._fetch, missing)
        rows = []
        now = dt.datetime.now(dt.UTC)
        for query, outcome in zip(missing, fetched, strict=True):
            if isinstance(outcome, OneMapError):
                self.errors.append(outcome)
                self.answers[query.key] = Answer(source="error", candidates=[], error=outcome)
                continue
            self.answers[query.key] = outcome
            rows.append(self._cache_row(query, outcome, now))
        if rows:
            with self.config.app_db.session() as db:
                upsert(db, GeocodeCache, rows, ["query_key"])

    def _fetch(self, query: Query) -> Answer:
        if query.kind == "reverse":
            address, postal = gm.parse_reverse_geocode(self.session.reverse_geocode(query.lat, query.lon))
            return Answer(source=SOURCE_ONEMAP, candidates=[], address=address, postal=postal)
        return Answer(source=SOURCE_ONEMAP, candidates=gm.parse_search_results(self.session.search(query.text)))

    def _cache_row(self, query: Query, answer: Answer, now: dt.datetime) -> dict[str, Any]:
        row: dict[str, Any] = {"query_key": query.key, "created_at": now}
        if query.kind == "reverse":
            found = bool(answer.address or answer.postal)
            row.update(
                status=gm.OK if found else gm.NOT_FOUND,
                lat=query.lat,
                lon=query.lon,
                address=answer.address,
                postal_code=answer.postal,
                confidence=None,
                candidates=[],
            )
            return row
        match = (
            gm.choose(query.text, None, answer.candidates)
            if query.kind == "postal"
            else gm.choose(None, query.text, answer.candidates)
        )
        chosen = match.chosen
        row.update(
            status=match.status,
            lat=chosen.lat if chosen else None,
            lon=chosen.lon if chosen else None,
            address=chosen.address if chosen else None,
            postal_code=chosen.postal if chosen else None,
            confidence=match.confidence,
            candidates=[c.to_dict() for c in answer.candidates],
        )
        return row

    def _read_cache(self, keys: list[str]) -> dict[str, Answer]:
        now = dt.datetime.now(dt.UTC)
        max_age = dt.timedelta(days=self.config.cache_max_age_days)
        empty_max_age = dt.timedelta(days=self.config.empty_cache_max_age_days)
        out: dict[str, Answer] = {}
        with self.config.app_db.session() as db:
            for start in range(0, len(keys), CHUNK):
                chunk = keys[start : start + CHUNK]
                for row in db.scalars(select(GeocodeCache).where(GeocodeCache.query_key.in_(chunk))):
                    created = _aware(row.created_at) or now
                    empty = row.status == gm.NOT_FOUND and not row.candidates
                    if now - created > (empty_max_age if empty else max_age):
                        continue
                    if row.query_key.startswith("rev:"):
                        out[row.query_key] = Answer(
                            source=SOURCE_CACHE, candidates=[], address=row.address, postal=row.postal_code
                        )
                    else:
                        out[row.query_key] = Answer(
                            source=SOURCE_CACHE,
                            candidates=[gm.Candidate.from_dict(c) for c in row.candidates or []],
                        )
        return out


def geocoder_for(env: str, app_db: AppDatabase) -> Geocoder:
    """The geocoder each environment uses (resources.py and ``sgroute geocode`` both call this).

    ``local``: OneMap only when ONEMAP_EMAIL and ONEMAP_PASSWORD are set, else file coordinates only (the
    embedded default needs no credentials). ``gcp``/``prod``: always OneMap; missing credentials fail the
    run at resource initialisation with the variable's name, never silently fall back.
    """
    if env == "local" and not onemap_credentials_set():
        return FileCoordinatesGeocoder()
    return OneMapGeocoder(client=onemap_client_from_env(), app_db=app_db)
