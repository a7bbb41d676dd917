"""One OneMap budget for a whole run (issue 24): geocoding, the matrix and road-leg verification used to get
SGROUTE_ONEMAP_RUN_DEADLINE_S each, three times the documented bound. Sessions opened inside ``onemap_run``
share what is left of the budget counted from the run's start."""

from __future__ import annotations

import time

import numpy as np
from onemap_fake_server import fast_client_settings

from sgroute_resources.app_database import AppDatabase
from sgroute_resources.onemap_client import OneMapClient, onemap_run
from sgroute_resources.onemap_travel_times import OneMapTravelTimes
from sgroute_resources.travel_times import CurveTravelTimes


def test_a_later_step_gets_only_what_the_run_has_left(fake_onemap) -> None:
    client = OneMapClient(**fast_client_settings(fake_onemap, run_deadline_s=10.0))
    with onemap_run(time.time() - 7.0):  # the run's first steps took 7 s of its 10 s
        with client.session() as session:
            assert 2.0 <= session.ends_at - session.started <= 3.1
    with client.session() as outside:  # outside a run, a session has the whole budget
        assert outside.ends_at - outside.started >= 9.9


def test_a_spent_budget_leaves_the_matrix_to_the_model_flagged(fake_onemap, app_db_url, sg_points) -> None:
    settings = fast_client_settings(fake_onemap, run_deadline_s=5.0)
    tt = OneMapTravelTimes(
        client=OneMapClient(**settings), app_db=AppDatabase(url=app_db_url), model=CurveTravelTimes(), call_budget=200
    )
    pts = sg_points.sample(6, random_state=4)
    ids = [f"N{i}" for i in range(6)]
    with onemap_run(time.time() - 6.0):  # geocoding already used the run's 5 s
        matrix = tt.matrix(ids, pts.lat.to_numpy(), pts.lon.to_numpy(), "Depot")
    assert fake_onemap.calls("route") == []
    assert matrix.provenance["fallback"] is True
    assert "this run's OneMap time budget of 5 s is used up" in matrix.provenance["fallback_reason"]
    assert np.isfinite(matrix.duration_s).all()
