"""What a training run may do: ridge strengths, folds, time-of-day thresholds (TrainingConfig).

Its own module because the fitting, the cross-validation and the assets that start a retrain all read it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .features import FeatureSpec, default_spec


@dataclass(frozen=True)
class TrainingConfig:
    """Hyperparameters. Chosen once by 5-fold CV on the shared file over a small grid and checked on three
    other shuffles (``benchmarks/travel_time_model_cv.py``); not tuned per split."""

    area_step: float = 0.04
    corridor_step: float = 0.02
    corridor_samples: int = 8
    alpha: float = 3.0
    # Penalty per block = alpha / scale**2: the few global terms are nearly free, the grids are shrunk.
    base_scale: float = 10.0
    area_scale: float = 1.0
    corridor_scale: float = 2.0
    time_scale: float = 3.0
    # Per-location effect shared by origin and destination on a fine tent grid (~830 m): the last-mile access
    # of a street address, which the 0.04 degree areas average away; it matters most on short legs.
    point_step: float = 0.0075  # 0 = off
    point_scale: float = 0.7
    # Corridor fields times cos/sin of twice the bearing: crossing a place is faster along its expressways.
    corridor_dir: bool = True
    corridor_dir_scale: float = 0.5
    clip_mads: float = 2.5  # winsorise log-residuals beyond this many robust SDs (0 = plain least squares)
    calibrate: bool = True
    calibration_folds: int = 5
    calibration_max_rows: int = 20_000
    min_time_rows: int = 30
    min_time_share: float = 0.05
    seed: int = 42

    def spec(self, use_hour: bool = False, use_dow: bool = False) -> FeatureSpec:
        base = default_spec()
        return FeatureSpec(
            area=replace(base.area, step=self.area_step),
            corridor=replace(base.corridor, step=self.corridor_step),
            corridor_samples=self.corridor_samples,
            use_hour=use_hour,
            use_dow=use_dow,
            point=replace(base.area, step=self.point_step) if self.point_step > 0 else None,
            corridor_dir=self.corridor_dir,
        )

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}
