"""One fitted linear part of the model (duration or distance): its coefficients and fields, as stored."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

SIGNIFICANT_DIGITS = 7
POINT_ROW_WIDTH = 100  # values per JSON list of the point field


@dataclass
class LinearPart:
    """One fitted log-linear predictor folded into fields: what ``predict_*`` evaluates."""

    intercept: float
    base: np.ndarray  # coefficients of BASE_COLUMNS
    area_o: np.ndarray  # node field on spec.area
    area_d: np.ndarray
    corridor: np.ndarray  # node field on spec.corridor
    corridor_lh: np.ndarray
    time: np.ndarray  # coefficients of spec.time_column_names()
    slope_lo: float  # power-law exponent below / above the clamped distance range
    slope_hi: float
    corridor_s2: np.ndarray = field(default_factory=lambda: np.zeros(0))  # node fields on spec.corridor
    corridor_c2: np.ndarray = field(default_factory=lambda: np.zeros(0))
    point: np.ndarray = field(default_factory=lambda: np.zeros(0))  # node field on spec.point

    def to_dict(self) -> dict:
        return {
            "intercept": rounded(self.intercept),
            "base": rounded_list(self.base),
            "area_o": rounded_list(self.area_o),
            "area_d": rounded_list(self.area_d),
            "corridor": rounded_list(self.corridor),
            "corridor_lh": rounded_list(self.corridor_lh),
            "time": rounded_list(self.time),
            "slope_lo": rounded(self.slope_lo),
            "slope_hi": rounded(self.slope_hi),
            "corridor_s2": rounded_list(self.corridor_s2),
            "corridor_c2": rounded_list(self.corridor_c2),
            "point": rounded_rows(self.point, self.point_rows),
        }

    @property
    def point_rows(self) -> int:
        """Stored as grid rows of a fixed width so that no JSON list is as long as the training data."""
        return max(1, int(math.ceil(self.point.size / POINT_ROW_WIDTH)))

    @classmethod
    def from_dict(cls, data: dict) -> LinearPart:
        return cls(
            intercept=float(data["intercept"]),
            base=np.asarray(data["base"], dtype=float),
            area_o=np.asarray(data["area_o"], dtype=float),
            area_d=np.asarray(data["area_d"], dtype=float),
            corridor=np.asarray(data["corridor"], dtype=float),
            corridor_lh=np.asarray(data["corridor_lh"], dtype=float),
            time=np.asarray(data["time"], dtype=float),
            slope_lo=float(data["slope_lo"]),
            slope_hi=float(data["slope_hi"]),
            corridor_s2=np.asarray(data.get("corridor_s2", []), dtype=float),
            corridor_c2=np.asarray(data.get("corridor_c2", []), dtype=float),
            point=np.asarray([v for row in data.get("point", []) for v in row], dtype=float),
        )

    def rounded(self) -> LinearPart:
        return LinearPart.from_dict(self.to_dict())


def rounded(value: float) -> float:
    """A stored model value at SIGNIFICANT_DIGITS: versions are small and re-serialise byte for byte."""
    return float(f"{float(value):.{SIGNIFICANT_DIGITS}g}")


def rounded_list(values: np.ndarray) -> list[float]:
    return [rounded(v) for v in np.asarray(values, dtype=float).ravel()]


def rounded_rows(values: np.ndarray, rows: int) -> list[list[float]]:
    flat = rounded_list(values)
    return [flat[i * POINT_ROW_WIDTH : (i + 1) * POINT_ROW_WIDTH] for i in range(rows)] if flat else []
