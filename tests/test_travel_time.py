"""The default travel-time curve against real OneMap drive times."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sgroute_assets.domain.travel_times import estimate_matrix
from sgroute_assets.domain.travel_times.matrix import drive_seconds_from_haversine, haversine_matrix


def test_curve_beats_the_old_fallbacks_on_real_onemap_routes(shared_dir):
    df = pd.read_csv(shared_dir / "data" / "onemap_drive_times.csv")
    h = np.diag(haversine_matrix(df.origin_lat, df.origin_lon, df.dest_lat, df.dest_lon))
    actual = df.actual_duration_s.to_numpy()

    def mape(pred):
        return float(np.mean(np.abs(pred - actual) / actual))

    curve = mape(drive_seconds_from_haversine(h))
    assert curve < 0.125
    assert curve < mape(np.maximum(60, h * 1.2 / 8.33)) - 0.08  # old system's fallback: ~23 %
    assert curve < mape(np.maximum(30, h / 9.0)) - 0.2  # old mock formula: ~36 %


def test_matrix_shape_diagonal_and_known_distance():
    # Raffles Place to Changi Airport T3: ~17.3 km straight line.
    m = estimate_matrix(["A", "B", "C"], np.array([1.2840, 1.3554, 1.2840]), np.array([103.8515, 103.9867, 103.8515]))
    assert m.duration_s.shape == (3, 3) and np.all(np.diag(m.duration_s) == 0)
    assert m.duration_s[0, 2] == 0  # same point
    assert 16_000 < haversine_matrix([1.2840], [103.8515], [1.3554], [103.9867])[0, 0] < 18_000
    assert 15 * 60 < m.duration_s[0, 1] < 40 * 60  # night drive: OneMap gives 20-35 min for ~17 km
    assert np.allclose(m.duration_s, m.duration_s.T)
