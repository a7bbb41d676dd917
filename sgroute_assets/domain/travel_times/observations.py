"""Observed drive times as the model sees them: coordinates, durations, distances and Singapore-time stamps."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .features import (
    haversine_m,
)

SG_TZ = dt.timezone(dt.timedelta(hours=8))  # Singapore has no daylight saving: a fixed offset is exact


# --------------------------------------------------------------------------------------------- observations


@dataclass
class Observations:
    """Observed legs as arrays. ``distance_m``/``depart_hour``/``day_of_week`` are NaN where unknown.

    ``depart_hour`` is the local (SGT) clock hour as a float, ``day_of_week`` 0 = Monday.
    """

    origin_lat: np.ndarray
    origin_lon: np.ndarray
    dest_lat: np.ndarray
    dest_lon: np.ndarray
    duration_s: np.ndarray
    distance_m: np.ndarray
    depart_hour: np.ndarray
    day_of_week: np.ndarray
    source: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(np.asarray(self.origin_lat))
        for name in ("origin_lat", "origin_lon", "dest_lat", "dest_lon", "duration_s"):
            setattr(self, name, np.asarray(getattr(self, name), dtype=float).reshape(n))
        for name in ("distance_m", "depart_hour", "day_of_week"):
            value = getattr(self, name)
            arr = np.full(n, np.nan) if value is None else np.asarray(value, dtype=float).reshape(n)
            setattr(self, name, arr)
        if self.source is not None:
            self.source = np.asarray(self.source, dtype=object).reshape(n)

    def __len__(self) -> int:
        return int(self.origin_lat.size)

    def subset(self, index: np.ndarray) -> Observations:
        return Observations(
            origin_lat=self.origin_lat[index],
            origin_lon=self.origin_lon[index],
            dest_lat=self.dest_lat[index],
            dest_lon=self.dest_lon[index],
            duration_s=self.duration_s[index],
            distance_m=self.distance_m[index],
            depart_hour=self.depart_hour[index],
            day_of_week=self.day_of_week[index],
            source=None if self.source is None else self.source[index],
        )

    @property
    def haversine_m(self) -> np.ndarray:
        return haversine_m(self.origin_lat, self.origin_lon, self.dest_lat, self.dest_lon)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> Observations:
        """From columns named as in trip logs and the shared file (``timestamp_iso`` and distance optional)."""
        hour, dow = local_hour_and_weekday(frame["timestamp_iso"] if "timestamp_iso" in frame else None, len(frame))
        return cls(
            origin_lat=frame["origin_lat"].to_numpy(float),
            origin_lon=frame["origin_lon"].to_numpy(float),
            dest_lat=frame["dest_lat"].to_numpy(float),
            dest_lon=frame["dest_lon"].to_numpy(float),
            duration_s=frame["actual_duration_s"].to_numpy(float),
            distance_m=frame["route_distance_m"].to_numpy(float) if "route_distance_m" in frame else None,
            depart_hour=hour,
            day_of_week=dow,
        )


def local_hour_and_weekday(timestamps: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
    """SGT clock hour (float) and weekday of ISO timestamps; naive ones are taken as SGT, blanks as unknown."""
    hour = np.full(n, np.nan)
    dow = np.full(n, np.nan)
    if timestamps is None:
        return hour, dow
    for i, value in enumerate(list(timestamps)):
        when = to_sgt(value)
        if when is not None:
            hour[i] = when.hour + when.minute / 60.0 + when.second / 3600.0
            dow[i] = when.weekday()
    return hour, dow


def to_sgt(value: Any) -> dt.datetime | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, dt.datetime):
        when = value
    else:
        text = str(value).strip()
        if not text:
            return None
        try:
            when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
    if when.tzinfo is None:
        return when.replace(tzinfo=SG_TZ)
    return when.astimezone(SG_TZ)
