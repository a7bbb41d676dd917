"""Features of the travel-time model, computed the same way for training rows and for whole matrices.

Why these features (measured by 5-fold CV on ``shared/data/onemap_drive_times.csv``, see
``benchmarks/travel_time_model_cv.py``):

* ``log(haversine)`` and its square carry most of the signal: longer trips reach expressways and go faster.
* Direction (bearing harmonics 1, 2 and 4, and bearing x distance): the road grid and the island's shape make
  some directions more roundabout than others.
* Origin and destination *area*: a bilinear ("tent") grid of 0.04 degrees (~4.4 km). Each point spreads its
  weight over the 4 surrounding grid nodes, so an area's effect is smooth instead of jumping at cell borders.
* The *corridor*: the mean of a 0.02 degree tent grid over points along the straight line. Crossing the
  Central Catchment, a reservoir or the airport forces a detour that neither endpoint knows about; the
  corridor field learns where those obstacles are (a travel-time tomography). It is symmetric in the pair.
  Two more corridor fields multiply cos/sin of twice the bearing: crossing a place along its expressways is
  faster than across them (-0.07 points of CV MAPE).
* A *point* field: one fine (0.0075 degree, ~830 m) tent grid whose value at the origin plus its value at the
  destination is a per-location access effect (a block behind a one-way street costs the same detour whether
  the leg starts or ends there). The 0.04 degree areas average it away; short legs, where the CV error is
  largest, need it most (-0.2 points of CV MAPE; steps 0.005-0.01 all within 0.05 of each other).
* Hour of day (harmonics) and weekend, only when the training timestamps vary: the shared file was all
  fetched around midnight, so its model is time-invariant and says so (``TimeUse``).

Everything here is plain numpy so that a 1000 x 1000 matrix is a few vectorised passes. Rows are built
sparse for training (each point touches 4 grid nodes) and the fitted coefficients are folded back into
fields on the grids for prediction.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

EARTH_RADIUS_M = 6_371_008.8
# Longitude degrees are shorter than latitude degrees by cos(latitude); Singapore sits at ~1.35 N.
COS_SG_LAT = float(np.cos(np.radians(1.35)))
# Centre of the log-distance terms (4 km, the middle of typical delivery legs), so squares stay small.
LOG_H_CENTRE = float(np.log(4000.0))
SECONDS_PER_HOUR = 3600.0

BASE_COLUMNS = ("lh", "lh2", "sin_b", "cos_b", "sin_2b", "cos_2b", "sin_4b", "cos_4b", "lh_sin_b", "lh_cos_b")
HOUR_COLUMNS = ("sin_h1", "cos_h1", "sin_h2", "cos_h2", "sin_h3", "cos_h3")
HOUR_LH_COLUMNS = ("lh_sin_h1", "lh_cos_h1", "lh_sin_h2", "lh_cos_h2")
DOW_COLUMNS = ("weekend", "weekend_sin_h1", "weekend_cos_h1", "weekend_sin_h2", "weekend_cos_h2")


def haversine_m(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Great-circle metres; the arguments broadcast against each other."""
    la1 = np.radians(np.asarray(lat1, dtype=float))
    la2 = np.radians(np.asarray(lat2, dtype=float))
    dla = la2 - la1
    dlo = np.radians(np.asarray(lon2, dtype=float) - np.asarray(lon1, dtype=float))
    h = np.sin(dla * 0.5) ** 2 + np.cos(la1) * np.cos(la2) * np.sin(dlo * 0.5) ** 2
    return 2.0 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


@dataclass(frozen=True)
class Grid:
    """A regular lat/lon grid of tent (bilinear) basis functions; points outside are clamped to the edge."""

    lat_min: float
    lat_max: float
    lon_min: float
    lon_max: float
    step: float

    @property
    def nx(self) -> int:
        return int(np.ceil((self.lon_max - self.lon_min) / self.step - 1e-9)) + 1

    @property
    def ny(self) -> int:
        return int(np.ceil((self.lat_max - self.lat_min) / self.step - 1e-9)) + 1

    @property
    def size(self) -> int:
        return self.nx * self.ny

    def fractional(self, lat, lon) -> tuple[np.ndarray, np.ndarray]:
        """Grid coordinates (x along longitude, y along latitude), clamped into the grid."""
        fx = (np.asarray(lon, dtype=float) - self.lon_min) / self.step
        fy = (np.asarray(lat, dtype=float) - self.lat_min) / self.step
        return np.clip(fx, 0.0, self.nx - 1.0), np.clip(fy, 0.0, self.ny - 1.0)

    def weights(self, lat, lon) -> tuple[np.ndarray, np.ndarray]:
        """The 4 grid nodes each point touches and their bilinear weights, shapes (..., 4)."""
        fx, fy = self.fractional(lat, lon)
        ix = np.minimum(np.floor(fx).astype(np.int64), self.nx - 2)
        iy = np.minimum(np.floor(fy).astype(np.int64), self.ny - 2)
        tx = fx - ix
        ty = fy - iy
        base = iy * self.nx + ix
        idx = np.stack([base, base + 1, base + self.nx, base + self.nx + 1], axis=-1)
        w = np.stack([(1 - tx) * (1 - ty), tx * (1 - ty), (1 - tx) * ty, tx * ty], axis=-1)
        return idx, w

    def interpolate(self, field: np.ndarray, lat, lon) -> np.ndarray:
        """Bilinear value of a node field at the points (what the tent basis times its coefficients gives)."""
        idx, w = self.weights(lat, lon)
        return np.sum(field[idx] * w, axis=-1)


@dataclass(frozen=True)
class FeatureSpec:
    """Everything that decides the columns; stored with every model version so prediction rebuilds them."""

    area: Grid
    corridor: Grid
    corridor_samples: int = 8
    use_hour: bool = False
    use_dow: bool = False
    point: Grid | None = None  # fine grid of a per-location effect shared by both ends (None = off)
    corridor_dir: bool = False  # corridor fields times the 2nd bearing harmonics (direction-dependent)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> FeatureSpec:
        return cls(
            area=Grid(**data["area"]),
            corridor=Grid(**data["corridor"]),
            corridor_samples=int(data["corridor_samples"]),
            use_hour=bool(data["use_hour"]),
            use_dow=bool(data["use_dow"]),
            point=None if data.get("point") is None else Grid(**data["point"]),
            corridor_dir=bool(data.get("corridor_dir", False)),
        )

    @property
    def point_size(self) -> int:
        return 0 if self.point is None else self.point.size

    @property
    def corridor_dir_size(self) -> int:
        return self.corridor.size if self.corridor_dir else 0

    def column_names(self) -> list[str]:
        names = list(BASE_COLUMNS)
        names += [f"area_o_{i}" for i in range(self.area.size)]
        names += [f"area_d_{i}" for i in range(self.area.size)]
        names += [f"corr_{i}" for i in range(self.corridor.size)]
        names += [f"corr_lh_{i}" for i in range(self.corridor.size)]
        names += [f"corr_s2_{i}" for i in range(self.corridor_dir_size)]
        names += [f"corr_c2_{i}" for i in range(self.corridor_dir_size)]
        names += [f"point_{i}" for i in range(self.point_size)]
        names += self.time_column_names()
        return names

    def time_column_names(self) -> list[str]:
        names: list[str] = []
        if self.use_hour:
            names += list(HOUR_COLUMNS) + list(HOUR_LH_COLUMNS)
        if self.use_dow:
            names += list(DOW_COLUMNS) if self.use_hour else ["weekend"]
        return names

    def blocks(self) -> dict[str, slice]:
        """Column ranges per block, in column order (the penalty scale is set per block)."""
        out: dict[str, slice] = {}
        start = 0
        for name, width in (
            ("base", len(BASE_COLUMNS)),
            ("area_o", self.area.size),
            ("area_d", self.area.size),
            ("corridor", self.corridor.size),
            ("corridor_lh", self.corridor.size),
            ("corridor_s2", self.corridor_dir_size),
            ("corridor_c2", self.corridor_dir_size),
            ("point", self.point_size),
            ("time", len(self.time_column_names())),
        ):
            out[name] = slice(start, start + width)
            start += width
        return out

    @property
    def n_columns(self) -> int:
        return len(self.column_names())


def default_spec(lat_min: float = 1.15, lat_max: float = 1.48, lon_min: float = 103.59, lon_max: float = 104.10):
    """Singapore's bounding box (the stop validator's), 0.04 degree areas and a 0.02 degree corridor field."""
    return FeatureSpec(
        area=Grid(lat_min, lat_max, lon_min, lon_max, 0.04),
        corridor=Grid(lat_min, lat_max, lon_min, lon_max, 0.02),
        corridor_samples=8,
    )


def corridor_fractions(samples: int) -> np.ndarray:
    """Midpoints of ``samples`` equal pieces of the segment (never the endpoints themselves)."""
    return (np.arange(samples, dtype=float) + 0.5) / samples


def bearing_terms(olat, olon, dlat, dlon) -> tuple[np.ndarray, ...]:
    """sin/cos of the bearing and its 2nd and 4th harmonics, from a local flat projection (exact enough here)."""
    dy = np.asarray(dlat, dtype=float) - np.asarray(olat, dtype=float)
    dx = (np.asarray(dlon, dtype=float) - np.asarray(olon, dtype=float)) * COS_SG_LAT
    r = np.hypot(dx, dy)
    safe = np.where(r > 0, r, 1.0)
    s = np.where(r > 0, dx / safe, 0.0)
    c = np.where(r > 0, dy / safe, 1.0)
    s2 = 2.0 * s * c
    c2 = c * c - s * s
    s4 = 2.0 * s2 * c2
    c4 = c2 * c2 - s2 * s2
    return s, c, s2, c2, s4, c4


def clamped_log_h(h: np.ndarray, h_lo: float, h_hi: float) -> np.ndarray:
    """Centred log distance, clamped to the training range (outside it the model extrapolates by a power law)."""
    return np.log(np.clip(h, h_lo, h_hi)) - LOG_H_CENTRE


def hour_terms(hour: np.ndarray) -> tuple[np.ndarray, ...]:
    """Harmonics 1-3 of the clock hour (periodic over 24 h, so 23:30 and 00:30 are neighbours)."""
    a = 2.0 * np.pi * np.asarray(hour, dtype=float) / 24.0
    return np.sin(a), np.cos(a), np.sin(2 * a), np.cos(2 * a), np.sin(3 * a), np.cos(3 * a)


def base_columns(lhc: np.ndarray, bearings: tuple[np.ndarray, ...]) -> np.ndarray:
    s, c, s2, c2, s4, c4 = bearings
    return np.column_stack([lhc, lhc * lhc, s, c, s2, c2, s4, c4, lhc * s, lhc * c])


def time_columns(spec: FeatureSpec, lhc: np.ndarray, hour: np.ndarray, weekend: np.ndarray) -> np.ndarray:
    """Time columns in ``spec.time_column_names()`` order; callers impute unknown times beforehand."""
    cols: list[np.ndarray] = []
    if spec.use_hour:
        h = hour_terms(hour)
        cols += list(h)
        cols += [lhc * h[0], lhc * h[1], lhc * h[2], lhc * h[3]]
    if spec.use_dow:
        cols.append(weekend)
        if spec.use_hour:
            h = hour_terms(hour)
            cols += [weekend * h[0], weekend * h[1], weekend * h[2], weekend * h[3]]
    if not cols:
        return np.zeros((lhc.shape[0], 0))
    return np.column_stack(cols)


def tent_rows(grid: Grid, lat, lon) -> tuple[np.ndarray, np.ndarray]:
    """(column index, weight) per row for the sparse design: shapes (n, 4)."""
    return grid.weights(lat, lon)


def corridor_rows(grid: Grid, olat, olon, dlat, dlon, samples: int) -> tuple[np.ndarray, np.ndarray]:
    """(column index, weight) per row for the corridor mean: shapes (n, 4 * samples), weights sum to 1."""
    olat, olon, dlat, dlon = (np.asarray(a, dtype=float) for a in (olat, olon, dlat, dlon))
    idx_parts, w_parts = [], []
    for t in corridor_fractions(samples):
        idx, w = grid.weights(olat + (dlat - olat) * t, olon + (dlon - olon) * t)
        idx_parts.append(idx)
        w_parts.append(w / samples)
    return np.concatenate(idx_parts, axis=1), np.concatenate(w_parts, axis=1)
