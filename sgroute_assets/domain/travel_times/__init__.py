"""How long a leg takes: the travel matrix and its sources, the learned travel-time model (features,
fitting, cross-validation, versions), trip logs of observed drives and the drift check.

What other rooms, the assets, resources and CLI may use; everything else is the room's own."""

from .baselines import baseline_predictions
from .drift import DriftResult, DriftThresholds, drift_features, drift_plot_png, error_summary, evaluate_drift
from .fitting import fit_model
from .matrix import (
    CELL_CACHE,
    CELL_MODEL,
    CELL_ONEMAP,
    CELL_SAME,
    LegTiming,
    TravelMatrix,
    estimate_matrix,
    with_extra_nodes,
)
from .matrix_sources import DEFAULT_NEIGHBOURS, all_distinct_pairs, priority_pairs, rounded_e5, same_point_mask
from .model import TravelTimeModel
from .model_terms import bucket_centre_hour
from .observations import SG_TZ, Observations
from .trip_log import TripLogRow, parse_trip_log
from .versions import load_default_model

__all__ = [
    "CELL_CACHE",
    "CELL_MODEL",
    "CELL_ONEMAP",
    "CELL_SAME",
    "DEFAULT_NEIGHBOURS",
    "DriftResult",
    "DriftThresholds",
    "LegTiming",
    "Observations",
    "SG_TZ",
    "TravelMatrix",
    "TravelTimeModel",
    "TripLogRow",
    "all_distinct_pairs",
    "baseline_predictions",
    "bucket_centre_hour",
    "drift_features",
    "drift_plot_png",
    "error_summary",
    "estimate_matrix",
    "evaluate_drift",
    "fit_model",
    "load_default_model",
    "parse_trip_log",
    "priority_pairs",
    "rounded_e5",
    "same_point_mask",
    "with_extra_nodes",
]
