"""Model versions: the shipped default, version ids and the rounding that makes stored versions reproducible."""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path

import numpy as np

from .model import TravelTimeModel
from .observations import Observations

DEFAULT_MODEL_PATH = Path(__file__).resolve().parent / "models" / "travel_time_default.json"


@cache
def _default_model_json(path: str) -> str:
    return Path(path).read_text()


def load_default_model(path: str | Path | None = None) -> TravelTimeModel:
    """The model shipped with the package (fitted on the shared OneMap file; parameters only)."""
    return TravelTimeModel.from_json(_default_model_json(str(path or DEFAULT_MODEL_PATH)))


def version_for(model: TravelTimeModel) -> str:
    digest = hashlib.sha256(
        json.dumps(
            {"d": model.duration.to_dict(), "cal": model.calibration, "n": model.n_train}, sort_keys=True
        ).encode()
    ).hexdigest()[:8]
    return f"ttm-{model.trained_at.strftime('%Y%m%d%H%M%S')}-{digest}"


def source_counts(obs: Observations) -> dict[str, int]:
    if obs.source is None:
        return {}
    values, counts = np.unique(obs.source.astype(str), return_counts=True)
    return {str(v): int(c) for v, c in zip(values, counts, strict=True)}
