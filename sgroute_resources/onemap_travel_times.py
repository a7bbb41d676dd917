"""Road travel times from OneMap where they matter, the travel-time model everywhere else, every cell labelled.

How a matrix over n nodes is built:

1. The model (``model``, the fitted curve today, a trained model later: one ``matrix`` call) fills every cell.
2. Cells already in ``od_cache`` (rounded 1e-5 coordinates + departure hour, from any earlier partition)
   replace the model's: source ``cache``.
3. :func:`sgroute_assets.domain.travel_times.matrix_sources.priority_pairs` picks at most ``call_budget`` pairs from the
   geometry alone (depot legs, near neighbours, then short legs; all pairs when the budget covers them).
   Those not cached are asked from OneMap, ``max_concurrency`` at a time within the client's rate limit:
   source ``onemap``. Each answer goes into ``od_cache`` and ``observed_travel_times`` (insert-if-absent),
   so the cache serves the next run and the travel-time model can learn from it.
4. A pair OneMap did not answer (after retries, or once the session stopped calling an unreachable OneMap)
   keeps the model's value; ``provenance["fallback"]`` and the asset's non-blocking check say so.

Because the chosen pairs do not depend on the cache, a second build of the same stops makes no call.

Each OneMap leg is kept with its road polyline (``od_cache.geometry``). After a plan is solved,
:meth:`OneMapTravelTimes.verify_legs` times the legs it actually drives the same way (cache first, then OneMap
under the same client limits) within a budget of its own, ``verify_budget`` (SGROUTE_ONEMAP_VERIFY_BUDGET;
default every driven leg), independent of the matrix's ``call_budget`` (domain/routing/leg_verification.py).
OneMap's drive router has no departure-time input; the hour bucket keys the cache so that time-dependent
sources (a trained model, traffic) can share the table later.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections import defaultdict
from typing import Any

import numpy as np
from pydantic import Field
from sqlalchemy import select, update

from sgroute_assets.domain.routing import ExactLeg, LegAnswers, Pair
from sgroute_assets.domain.travel_times import (
    CELL_CACHE,
    CELL_MODEL,
    CELL_ONEMAP,
    CELL_SAME,
    DEFAULT_NEIGHBOURS,
    LegTiming,
    TravelMatrix,
    all_distinct_pairs,
    priority_pairs,
    rounded_e5,
    same_point_mask,
)
from sgroute_resources.app_database import AppDatabase
from sgroute_resources.app_tables import ObservedTravelTime, OdCache
from sgroute_resources.onemap_client import (
    OneMapAuthError,
    OneMapClient,
    OneMapError,
    OneMapUnavailable,
    RouteLeg,
    onemap_client_from_env,
    onemap_credentials_set,
)
from sgroute_resources.onemap_geocoder import insert_if_absent
from sgroute_resources.travel_time_model_store import ModelTravelTimes, TravelTimeModelStore
from sgroute_resources.travel_times import TravelTimes

OdKey = tuple[int, int, int, int]  # origin lat, lon, destination lat, lon in 1e-5 degrees
MAX_SOURCE_LENGTH = 64  # route_plans.matrix_source


def observation_ref(key: OdKey, hour: int) -> str:
    """Deterministic ``observed_travel_times.source_ref`` for a OneMap leg, so re-inserts are no-ops."""
    return f"onemap:{key[0]},{key[1]}->{key[2]},{key[3]}@{hour}"


class OneMapTravelTimes(TravelTimes):
    """OneMap drive times for the budgeted pairs, the OD cache, and ``model`` for the rest."""

    client: OneMapClient
    app_db: AppDatabase
    model: TravelTimes = Field(description="Fills the cells OneMap is not asked for (or did not answer).")
    call_budget: int = Field(
        default=600, description="Most OneMap routing calls per matrix (all pairs when n(n-1) fits)."
    )
    neighbours: int = Field(default=DEFAULT_NEIGHBOURS, description="Near-neighbour ranks asked after depot legs.")
    departure_hour: int = Field(default=8, description="Hour bucket of the OD cache (shift start).")
    record_observations: bool = Field(default=True, description="Copy OneMap legs into observed_travel_times.")
    verify_budget: int | None = Field(
        default=None,
        description="Most OneMap calls of one plan's leg verification (SGROUTE_ONEMAP_VERIFY_BUDGET); "
        "None: every driven leg. The matrix's call_budget does not limit it.",
    )

    def matrix(
        self,
        node_ids: list[str],
        lats: np.ndarray,
        lons: np.ndarray,
        depot_name: str,
        timing: LegTiming | None = None,
    ) -> TravelMatrix:
        started = time.perf_counter()
        lats = np.asarray(lats, dtype=float)
        lons = np.asarray(lons, dtype=float)
        n = lats.size
        base = self.model.matrix(node_ids, lats, lons, depot_name=depot_name, timing=timing)  # the one model call
        duration = np.array(base.duration_s, dtype=float, copy=True)
        distance = np.array(base.distance_m, dtype=float, copy=True)
        codes = np.full((n, n), CELL_MODEL, dtype=np.uint8)
        same = same_point_mask(lats, lons)
        codes[same] = CELL_SAME
        duration[same] = 0.0
        distance[same] = 0.0

        la, lo = rounded_e5(lats), rounded_e5(lons)
        # Nodes per rounded point: a leg between two points fills every cell between their nodes. O(n), not
        # O(n^2): a 1,000-stop matrix never builds a million-entry dict.
        nodes_at: dict[tuple[int, int], list[int]] = defaultdict(list)
        for i in range(n):
            nodes_at[(int(la[i]), int(lo[i]))].append(i)

        def cells(key: OdKey) -> list[tuple[int, int]]:
            return [(i, j) for i in nodes_at[(key[0], key[1])] for j in nodes_at[(key[2], key[3])]]

        cached = self._read_cache(nodes_at)
        for key, (dur, dist) in cached.items():
            for i, j in cells(key):
                duration[i, j] = dur
                distance[i, j] = dist if dist is not None else distance[i, j]
                codes[i, j] = CELL_CACHE

        prioritised = priority_pairs(lats, lons, self.call_budget, self.neighbours)
        to_fetch: list[OdKey] = []
        seen: set[OdKey] = set()
        for i, j in prioritised:
            key = (int(la[i]), int(lo[i]), int(la[j]), int(lo[j]))
            if key in cached or key in seen:
                continue
            seen.add(key)
            to_fetch.append(key)

        errors: list[OneMapError] = []
        fetched: dict[OdKey, RouteLeg] = {}
        stats: dict[str, int] = {}
        unavailable = None
        if to_fetch:
            with self.client.session() as session:
                outcomes = session.map(
                    lambda k: session.route_leg(k[0] / 1e5, k[1] / 1e5, k[2] / 1e5, k[3] / 1e5), to_fetch
                )
                stats = session.stats.snapshot()
                stats["requests"] = session.stats.requests
                unavailable = session.unavailable
            for key, outcome in zip(to_fetch, outcomes, strict=True):
                if isinstance(outcome, OneMapError):
                    errors.append(outcome)
                else:
                    fetched[key] = outcome
            for key, (dur, dist, _) in fetched.items():
                for i, j in cells(key):
                    duration[i, j] = dur
                    distance[i, j] = dist
                    codes[i, j] = CELL_ONEMAP
            if fetched:
                self._store(fetched)

        service_errors = [e for e in errors if isinstance(e, OneMapUnavailable | OneMapAuthError)]
        fallback_reason = None
        if errors:
            first = service_errors[0] if service_errors else errors[0]
            fallback_reason = (
                f"{len(errors)} of {len(to_fetch)} OneMap pairs unanswered, filled by the model "
                f"({base.source}): {unavailable or first}"
            )
        provenance: dict[str, Any] = {
            **base.provenance,  # the model's version, error and departure buckets stay visible
            "strategy": "onemap_budget",
            "model": base.source,
            "call_budget": self.call_budget,
            "neighbours": self.neighbours,
            "departure_hour": self.departure_hour,
            "pairs_needed": all_distinct_pairs(lats, lons),
            "pairs_prioritised": int(len(prioritised)),
            "pairs_from_cache": int(sum(len(cells(k)) for k in cached)),
            "onemap_pairs_asked": len(to_fetch),
            "onemap_pairs_answered": len(fetched),
            "onemap_requests": stats.get("requests", 0),
            "onemap_retries": stats.get("retries", 0),
            "fallback": bool(errors),
            "fallback_reason": fallback_reason,
            "build_time_s": round(time.perf_counter() - started, 3),
        }
        matrix = TravelMatrix(
            node_ids=list(node_ids),
            lats=lats,
            lons=lons,
            duration_s=duration,
            distance_m=distance,
            source=base.source,
            depot_name=depot_name,
            cell_source=codes,
            provenance=provenance,
        )
        shares = matrix.source_shares()
        if shares["onemap"] + shares["cache"] > 0:
            matrix.source = ("onemap" if shares["model"] == 0 else f"onemap+{base.source}")[:MAX_SOURCE_LENGTH]
        return matrix

    def _read_cache(self, nodes_at: dict[tuple[int, int], list[int]]) -> dict[OdKey, tuple[float, float | None]]:
        """Cached legs between any two distinct points of this matrix, at this departure hour."""
        if len(nodes_at) < 2:
            return {}
        lats = sorted({p[0] for p in nodes_at})
        rows = self._cached_rows(lats, dest_lats=lats if len(lats) <= 2000 else None)
        return {
            key: (dur, dist)
            for key, (dur, dist, _) in rows.items()
            if key[:2] != key[2:] and key[:2] in nodes_at and key[2:] in nodes_at
        }

    def _cached_rows(
        self, origin_lats: list[int], dest_lats: list[int] | None = None
    ) -> dict[OdKey, tuple[float, float | None, str | None]]:
        """``od_cache`` rows at this departure hour whose origin latitude is one of ``origin_lats`` (and
        destination latitude one of ``dest_lats``, when given): duration, distance and road polyline. The one
        query both the matrix and the verification pass read the cache with, in chunks the database accepts."""
        out: dict[OdKey, tuple[float, float | None, str | None]] = {}
        with self.app_db.session() as db:
            for start in range(0, len(origin_lats), 400):
                stmt = select(
                    OdCache.origin_lat_e5,
                    OdCache.origin_lon_e5,
                    OdCache.dest_lat_e5,
                    OdCache.dest_lon_e5,
                    OdCache.duration_s,
                    OdCache.distance_m,
                    OdCache.geometry,
                ).where(
                    OdCache.hour_bucket == self.departure_hour,
                    OdCache.origin_lat_e5.in_(origin_lats[start : start + 400]),
                )
                if dest_lats is not None:
                    stmt = stmt.where(OdCache.dest_lat_e5.in_(dest_lats))
                for olat, olon, dlat, dlon, dur, dist, geometry in db.execute(stmt):
                    out[(olat, olon, dlat, dlon)] = (float(dur), None if dist is None else float(dist), geometry)
        return out

    def _store(
        self,
        fetched: dict[OdKey, RouteLeg] | dict[OdKey, tuple[float, float]],
        observed_too: dict[OdKey, tuple[float, float | None]] | None = None,
        geometry_for: dict[OdKey, str] | None = None,
    ) -> None:
        """New legs into ``od_cache`` (with their road) and every OneMap leg into ``observed_travel_times``
        (``observed_too``: legs read from the cache, so a plan's legs are observations too), insert-if-absent on
        a deterministic reference, so each leg is one observation however often it is used; ``geometry_for``
        gives legs cached before the road was kept their polyline."""
        now = dt.datetime.now(dt.UTC)
        hour = self.departure_hour
        # (time, distance) pairs are legs without a road polyline (older callers).
        fetched = {k: v if isinstance(v, RouteLeg) else RouteLeg(v[0], v[1], None) for k, v in fetched.items()}
        od_rows = [
            {
                "origin_lat_e5": k[0],
                "origin_lon_e5": k[1],
                "dest_lat_e5": k[2],
                "dest_lon_e5": k[3],
                "hour_bucket": hour,
                "duration_s": leg.duration_s,
                "distance_m": leg.distance_m,
                "source": "onemap",
                "created_at": now,
                "geometry": leg.geometry,
            }
            for k, leg in fetched.items()
        ]
        legs: dict[OdKey, tuple[float, float | None]] = {**(observed_too or {})}
        legs.update({k: (leg.duration_s, leg.distance_m) for k, leg in fetched.items()})
        with self.app_db.session() as db:
            if od_rows:
                insert_if_absent(
                    db,
                    OdCache,
                    od_rows,
                    ["origin_lat_e5", "origin_lon_e5", "dest_lat_e5", "dest_lon_e5", "hour_bucket"],
                )
            for k, geometry in (geometry_for or {}).items():
                db.execute(
                    update(OdCache)
                    .where(
                        OdCache.origin_lat_e5 == k[0],
                        OdCache.origin_lon_e5 == k[1],
                        OdCache.dest_lat_e5 == k[2],
                        OdCache.dest_lon_e5 == k[3],
                        OdCache.hour_bucket == hour,
                        OdCache.geometry.is_(None),
                    )
                    .values(geometry=geometry)
                )
            if self.record_observations and legs:
                observed = [
                    {
                        "origin_lat": k[0] / 1e5,
                        "origin_lon": k[1] / 1e5,
                        "dest_lat": k[2] / 1e5,
                        "dest_lon": k[3] / 1e5,
                        "duration_s": dur,
                        "distance_m": dist,
                        "observed_at": now,
                        "source": "onemap",
                        "source_ref": observation_ref(k, hour),
                        "created_at": now,
                    }
                    for k, (dur, dist) in legs.items()
                ]
                insert_if_absent(db, ObservedTravelTime, observed, ["source", "source_ref"])

    @property
    def verifies_legs(self) -> bool:
        return True

    def verify_legs(self, pairs: list[Pair], budget: int | None = None) -> LegAnswers:
        """Exact times of a plan's driven legs: the OD cache first (no call), then OneMap for the rest, at most
        ``budget`` calls (None: all), ``max_concurrency`` at a time within the client's rate limit, retries and
        deadlines. Legs cached without a road polyline are asked again for it only when the budget has room
        after the new legs. A leg not answered says why (budget, OneMap down, a bad answer)."""
        answers = LegAnswers()
        wanted: dict[OdKey, list[Pair]] = defaultdict(list)
        for pair in pairs:
            key = tuple(int(v) for v in rounded_e5(np.asarray(pair, dtype=float)))
            wanted[key].append(pair)  # type: ignore[index]
        cached = self._read_legs(list(wanted))
        new = [k for k in wanted if k not in cached]
        roadless = [k for k in wanted if k in cached and cached[k][2] is None]
        room = len(new) + len(roadless) if budget is None else max(0, budget)
        ask = new[:room] + roadless[: max(0, room - len(new))]
        over = new[room:]
        fetched: dict[OdKey, RouteLeg] = {}
        failed: dict[OdKey, str] = {
            k: f"over the verification budget of {budget} OneMap calls (SGROUTE_ONEMAP_VERIFY_BUDGET): the model's time"
            for k in over
        }
        if ask:
            with self.client.session() as session:
                outcomes = session.map(lambda k: session.route_leg(k[0] / 1e5, k[1] / 1e5, k[2] / 1e5, k[3] / 1e5), ask)
                unavailable = session.unavailable
            for key, outcome in zip(ask, outcomes, strict=True):
                if isinstance(outcome, OneMapError):
                    if key not in cached:
                        failed[key] = f"OneMap gave no time, the model's is used: {unavailable or outcome}"
                else:
                    fetched[key] = outcome
        answers.asked = len(ask)
        geometry_for = {k: fetched[k].geometry for k in roadless if k in fetched and fetched[k].geometry}
        new_legs = {k: leg for k, leg in fetched.items() if k not in cached}
        self._store(new_legs, {k: (v[0], v[1]) for k, v in cached.items()}, geometry_for)
        for key, pairs_at in wanted.items():
            if key in cached:
                dur, dist, geometry = cached[key]
                leg = ExactLeg(dur, dist, geometry or geometry_for.get(key), "cache")
            elif key in new_legs:
                got = new_legs[key]
                leg = ExactLeg(got.duration_s, got.distance_m, got.geometry, "onemap")
            else:
                for pair in pairs_at:
                    answers.failed[pair] = failed.get(key, "OneMap gave no time, the model's is used")
                continue
            for pair in pairs_at:
                answers.exact[pair] = leg
        return answers

    def _read_legs(self, keys: list[OdKey]) -> dict[OdKey, tuple[float, float | None, str | None]]:
        """Cached legs among ``keys`` at this departure hour, with their road polyline when kept."""
        if not keys:
            return {}
        wanted = set(keys)
        rows = self._cached_rows(sorted({k[0] for k in keys}))
        return {key: row for key, row in rows.items() if key in wanted}


def travel_times_for(env: str, app_db: AppDatabase) -> TravelTimes:
    """The travel times each environment uses (resources.py calls this).

    ``local`` without ONEMAP_EMAIL/ONEMAP_PASSWORD: the travel-time model alone. Otherwise OneMap for up to
    SGROUTE_ONEMAP_CALL_BUDGET pairs per matrix (default 600) and the model for the rest; each plan's driven legs
    then verified within SGROUTE_ONEMAP_VERIFY_BUDGET calls (default: all of them).
    """
    # The active trained travel-time model (the shipped default until observations train a new version).
    model = ModelTravelTimes(store=TravelTimeModelStore(app_db=app_db))
    if env == "local" and not onemap_credentials_set():
        return model
    return OneMapTravelTimes(
        client=onemap_client_from_env(),
        app_db=app_db,
        model=model,
        call_budget=int(os.environ.get("SGROUTE_ONEMAP_CALL_BUDGET", "600")),
        departure_hour=int(os.environ.get("SGROUTE_SHIFT_START", "08:00").split(":")[0] or 8),
        verify_budget=_verify_budget(),
    )


def _verify_budget() -> int | None:
    """SGROUTE_ONEMAP_VERIFY_BUDGET: most OneMap calls per plan verification; unset or blank: every driven leg."""
    value = os.environ.get("SGROUTE_ONEMAP_VERIFY_BUDGET", "").strip()
    return int(value) if value else None
