"""Travel-time model versions, observations and drift reports in the app database; matrices from the model.

``TravelTimeModelStore`` is the one place that reads and writes ``observed_travel_times``,
``travel_time_model_versions`` and ``drift_reports``. Every version row keeps the model's fitted parameters
(a few tens of kB of JSON, no training rows) in ``params["model"]``, so any version can be reloaded or
re-activated from the database alone, whatever IO manager holds the asset value. With no active version
(a fresh database) the model shipped in the package is used.

``ModelTravelTimes`` is a ``TravelTimes`` resource: the active model's matrix, optionally with per-leg
departure-hour buckets for a plan (``plan_matrix``). It can stand alone or be the ``model`` of
``OneMapTravelTimes``.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable

import numpy as np
from dagster import ConfigurableResource
from pydantic import Field
from sqlalchemy import delete, func, select, update

from sgroute_assets.domain.travel_times import (
    DriftResult,
    LegTiming,
    Observations,
    TravelMatrix,
    TravelTimeModel,
    TripLogRow,
    bucket_centre_hour,
    load_default_model,
)
from sgroute_resources.app_database import AppDatabase
from sgroute_resources.app_tables import DriftReport, ObservedTravelTime, TravelTimeModelVersion
from sgroute_resources.travel_times import TravelTimes

TRIP_LOG_SOURCE = "trip_log"
# Sources whose observed_at is the departure time. OneMap legs are stamped with the fetch time, and
# OneMap's router takes no departure time, so their hour says nothing about traffic.
TIMED_SOURCES = frozenset({TRIP_LOG_SOURCE})
MAX_SOURCE_LENGTH = 64  # route_plans.matrix_source

_models_lock = threading.Lock()
_models: dict[str, TravelTimeModel] = {}  # parsed versions, so a matrix does not re-parse JSON


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class TravelTimeModelStore(ConfigurableResource):
    """Model versions, observations and drift reports in the app database."""

    app_db: AppDatabase

    # ------------------------------------------------------------------------------------------ models
    def active_model(self) -> TravelTimeModel:
        """The active version (the newest active row), else the shipped default."""
        with self.app_db.session() as db:
            row = db.execute(
                select(TravelTimeModelVersion.version, TravelTimeModelVersion.params)
                .where(TravelTimeModelVersion.active.is_(True))
                .order_by(TravelTimeModelVersion.trained_at.desc(), TravelTimeModelVersion.id.desc())
                .limit(1)
            ).first()
        if row is None:
            return load_default_model()
        version, params = row
        with _models_lock:
            cached = _models.get(version)
        if cached is not None:
            return cached
        payload = (params or {}).get("model")
        if payload is None:
            return load_default_model()
        model = TravelTimeModel.from_dict(payload)
        with _models_lock:
            _models[version] = model
        return model

    def register(self, model: TravelTimeModel, artifact_uri: str | None, activate: bool = True) -> int:
        """Insert (or refresh) the version row; with ``activate`` it becomes the only active version."""
        params = {
            "model": model.to_dict(),
            "config": model.config,
            "time_aware": model.time_aware,
            "prior_version": model.prior_version,
            "cv": model.cv,
        }
        with self.app_db.session() as db:
            row = db.scalar(select(TravelTimeModelVersion).where(TravelTimeModelVersion.version == model.version))
            if row is None:
                row = TravelTimeModelVersion(version=model.version)
                db.add(row)
            row.trained_at = model.trained_at
            row.n_train = int(model.n_train)
            row.cv_mape = model.cv_mape
            row.artifact_uri = artifact_uri
            row.params = params
            if activate:
                db.execute(
                    update(TravelTimeModelVersion)
                    .where(TravelTimeModelVersion.version != model.version)
                    .values(active=False)
                )
                row.active = True
            db.flush()
            return int(row.id)

    def versions(self) -> list[dict]:
        """All version rows, newest first (without the parameters)."""
        with self.app_db.session() as db:
            rows = db.execute(
                select(
                    TravelTimeModelVersion.version,
                    TravelTimeModelVersion.trained_at,
                    TravelTimeModelVersion.n_train,
                    TravelTimeModelVersion.cv_mape,
                    TravelTimeModelVersion.artifact_uri,
                    TravelTimeModelVersion.active,
                ).order_by(TravelTimeModelVersion.trained_at.desc(), TravelTimeModelVersion.id.desc())
            ).all()
        return [
            {"version": v, "trained_at": t, "n_train": n, "cv_mape": m, "artifact_uri": a, "active": bool(act)}
            for v, t, n, m, a, act in rows
        ]

    # ------------------------------------------------------------------------------------ observations
    def load_observations(self, created_after: dt.datetime | None = None, limit: int | None = None) -> Observations:
        """Observed legs (newest first when limited), as model observations."""
        stmt = select(
            ObservedTravelTime.origin_lat,
            ObservedTravelTime.origin_lon,
            ObservedTravelTime.dest_lat,
            ObservedTravelTime.dest_lon,
            ObservedTravelTime.duration_s,
            ObservedTravelTime.distance_m,
            ObservedTravelTime.observed_at,
            ObservedTravelTime.source,
        ).where(ObservedTravelTime.duration_s > 0)
        if created_after is not None:
            stmt = stmt.where(ObservedTravelTime.created_at > created_after)
        stmt = stmt.order_by(ObservedTravelTime.created_at.desc(), ObservedTravelTime.id.desc())
        if limit:
            stmt = stmt.limit(int(limit))
        with self.app_db.session() as db:
            rows = db.execute(stmt).all()
        return observations_from_rows(rows)

    def count_observations(self) -> dict[str, int]:
        with self.app_db.session() as db:
            rows = db.execute(select(ObservedTravelTime.source, func.count()).group_by(ObservedTravelTime.source)).all()
        return {str(s): int(c) for s, c in rows}

    def replace_trip_log(self, partition_key: str, rows: Iterable[TripLogRow]) -> int:
        """A trip log's valid rows, replacing what an earlier version of the same file loaded (one transaction)."""
        prefix = f"{partition_key}:"
        now = dt.datetime.now(dt.UTC)
        records = [
            ObservedTravelTime(
                origin_lat=r.origin_lat,
                origin_lon=r.origin_lon,
                dest_lat=r.dest_lat,
                dest_lon=r.dest_lon,
                duration_s=r.duration_s,
                distance_m=r.distance_m,
                observed_at=r.observed_at,
                source=TRIP_LOG_SOURCE,
                source_ref=f"{prefix}row{r.row}",
                created_at=now,
            )
            for r in rows
        ]
        with self.app_db.session() as db:
            db.execute(
                delete(ObservedTravelTime).where(
                    ObservedTravelTime.source == TRIP_LOG_SOURCE,
                    ObservedTravelTime.source_ref.startswith(prefix, autoescape=True),
                )
            )
            db.add_all(records)
        return len(records)

    # ---------------------------------------------------------------------------------------- drift
    def record_drift(self, result: DriftResult) -> int:
        with self.app_db.session() as db:
            row = DriftReport(
                model_version=result.model_version,
                n_observations=result.n_observations,
                mape=result.mape,
                median_ratio=result.median_ratio,
                psi=dict(result.psi),
                severity=result.severity,
                details={
                    "reasons": list(result.reasons),
                    "thresholds": dict(result.thresholds),
                    "median_ape": result.median_ape,
                    "baseline_mape": result.baseline_mape,
                    "psi_graded": result.psi_graded,
                },
                retrain_triggered=False,
            )
            db.add(row)
            db.flush()
            return int(row.id)

    def pending_retrains(self, model_version: str) -> list[int]:
        """ERROR reports on ``model_version`` that no retrain has been requested for, oldest first."""
        with self.app_db.session() as db:
            ids = db.scalars(
                select(DriftReport.id)
                .where(
                    DriftReport.severity == "ERROR",
                    DriftReport.retrain_triggered.is_(False),
                    DriftReport.model_version == model_version,
                )
                .order_by(DriftReport.id)
            ).all()
        return [int(i) for i in ids]

    def mark_retrain_triggered(self, report_ids: list[int]) -> None:
        if not report_ids:
            return
        with self.app_db.session() as db:
            db.execute(update(DriftReport).where(DriftReport.id.in_(report_ids)).values(retrain_triggered=True))

    def drift_reports(self, limit: int = 20) -> list[dict]:
        with self.app_db.session() as db:
            rows = db.scalars(select(DriftReport).order_by(DriftReport.id.desc()).limit(limit)).all()
            return [
                {
                    "id": r.id,
                    "model_version": r.model_version,
                    "created_at": r.created_at,
                    "n_observations": r.n_observations,
                    "mape": r.mape,
                    "median_ratio": r.median_ratio,
                    "psi": r.psi,
                    "severity": r.severity,
                    "retrain_triggered": r.retrain_triggered,
                }
                for r in rows
            ]


def observations_from_rows(rows) -> Observations:
    """(origin lat, lon, dest lat, lon, duration, distance, observed_at, source) rows as Observations."""
    n = len(rows)
    hour = np.full(n, np.nan)
    dow = np.full(n, np.nan)
    from sgroute_assets.domain.travel_times import SG_TZ

    for i, r in enumerate(rows):
        when = _utc(r[6])
        if when is not None and r[7] in TIMED_SOURCES:
            local = when.astimezone(SG_TZ)
            hour[i] = local.hour + local.minute / 60.0 + local.second / 3600.0
            dow[i] = local.weekday()
    return Observations(
        origin_lat=[r[0] for r in rows],
        origin_lon=[r[1] for r in rows],
        dest_lat=[r[2] for r in rows],
        dest_lon=[r[3] for r in rows],
        duration_s=[r[4] for r in rows],
        distance_m=[np.nan if r[5] is None else r[5] for r in rows],
        depart_hour=hour,
        day_of_week=dow,
        source=[r[7] for r in rows],
    )


class ModelTravelTimes(TravelTimes):
    """Matrices from the active travel-time model (the shipped default until one is trained)."""

    store: TravelTimeModelStore
    departure_hour: float = Field(default=8.0, description="Clock hour used by matrix() (plan_matrix is per leg).")
    day_of_week: int | None = Field(default=None, description="0 = Monday; None = the model's average day.")
    bucket_min: int = Field(default=60, description="Width of the departure-time buckets, minutes.")

    def matrix(
        self,
        node_ids: list[str],
        lats: np.ndarray,
        lons: np.ndarray,
        depot_name: str,
        timing: LegTiming | None = None,
    ) -> TravelMatrix:
        if timing is not None:
            return self.plan_matrix(
                node_ids,
                lats,
                lons,
                depot_name,
                shift_start_min=timing.shift_start_min,
                day_of_week=timing.day_of_week,
                service_min=list(timing.service_min) or None,
                tw_start_min=list(timing.tw_start_min) or None,
                tw_end_min=list(timing.tw_end_min) or None,
                vehicles=timing.vehicles,
                shift_end_min=timing.shift_end_min,
            )
        model = self.store.active_model()
        hour = bucket_centre_hour(self.departure_hour * 3600.0, self.bucket_min)
        duration, distance = model.predict_matrix(lats, lons, depart_hour=hour, day_of_week=self.day_of_week)
        return self._matrix(model, node_ids, lats, lons, depot_name, duration, distance, np.asarray(hour))

    def plan_matrix(
        self,
        node_ids: list[str],
        lats: np.ndarray,
        lons: np.ndarray,
        depot_name: str,
        shift_start_min: float,
        day_of_week: int | None = None,
        service_min=None,
        tw_start_min=None,
        tw_end_min=None,
        vehicles: int = 1,
        shift_end_min: float | None = None,
    ) -> TravelMatrix:
        """Each leg at its departure bucket (``departure_hour_buckets``); node 0 is the depot."""
        model = self.store.active_model()
        duration, distance, hours = model.predict_plan_matrix(
            lats,
            lons,
            shift_start_min=shift_start_min,
            day_of_week=self.day_of_week if day_of_week is None else day_of_week,
            service_min=service_min,
            tw_start_min=tw_start_min,
            tw_end_min=tw_end_min,
            vehicles=vehicles,
            shift_end_min=shift_end_min,
            bucket_min=self.bucket_min,
        )
        return self._matrix(model, node_ids, lats, lons, depot_name, duration, distance, hours)

    @staticmethod
    def _matrix(model, node_ids, lats, lons, depot_name, duration, distance, hours) -> TravelMatrix:
        hours = np.asarray(hours, dtype=float)
        buckets = sorted({round(float(h), 2) for h in np.unique(hours)})
        return TravelMatrix(
            node_ids=list(node_ids),
            lats=np.asarray(lats, dtype=float),
            lons=np.asarray(lons, dtype=float),
            duration_s=duration,
            distance_m=distance,
            source=model.source_label[:MAX_SOURCE_LENGTH],
            depot_name=depot_name,
            provenance={
                "model_version": model.version,
                "model_cv_mape": model.cv_mape,
                "time_aware": model.time_aware,
                "departure_hour_buckets": buckets[:48],
            },
        )
