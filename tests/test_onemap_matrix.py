"""Travel matrices with OneMap: pair selection under a budget, per-cell sources, OD cache, fallback."""

from __future__ import annotations

import numpy as np
import pytest
from onemap_fake_server import EMAIL, PASSWORD, FakeOneMap, fake_route
from sqlalchemy import func, select

from sgroute_assets.domain.travel_times import (
    CELL_CACHE,
    CELL_MODEL,
    CELL_ONEMAP,
    CELL_SAME,
    estimate_matrix,
    priority_pairs,
)
from sgroute_assets.domain.travel_times.matrix import haversine_matrix
from sgroute_assets.domain.travel_times.matrix_sources import neighbour_ranks
from sgroute_resources import migrations
from sgroute_resources.app_database import AppDatabase
from sgroute_resources.app_tables import ObservedTravelTime, OdCache
from sgroute_resources.onemap_client import OneMapClient
from sgroute_resources.onemap_travel_times import OneMapTravelTimes, observation_ref, travel_times_for
from sgroute_resources.travel_time_model_store import ModelTravelTimes
from sgroute_resources.travel_times import CurveTravelTimes


def points(sg_points, n: int, seed: int = 3) -> tuple[list[str], np.ndarray, np.ndarray]:
    pts = sg_points.sample(n, random_state=seed)
    ids = ["DEPOT"] + [f"S{i:03d}" for i in range(n - 1)]
    lats = np.r_[1.3354, pts.lat.to_numpy()[: n - 1]]
    lons = np.r_[103.8879, pts.lon.to_numpy()[: n - 1]]
    return ids, lats, lons


# --- pair selection (pure) --------------------------------------------------------------------------------


def test_small_files_get_every_pair_and_same_points_cost_nothing():
    lats = np.array([1.30, 1.31, 1.32, 1.32])
    lons = np.array([103.80, 103.81, 103.82, 103.82])  # nodes 2 and 3 share a point
    pairs = priority_pairs(lats, lons, budget=100)
    assert len(pairs) == 4 * 3 - 2
    assert {(2, 3), (3, 2)}.isdisjoint(map(tuple, pairs))


def test_budget_goes_to_depot_legs_then_nearest_neighbours_round_robin(sg_points):
    _, lats, lons = points(sg_points, 40)
    n = lats.size
    budget = 2 * (n - 1) + 2 * (n - 1)  # depot legs plus about one neighbour leg per stop each way
    pairs = [tuple(p) for p in priority_pairs(lats, lons, budget, neighbours=4)]
    assert len(pairs) == budget and len(set(pairs)) == budget
    head = pairs[: 2 * (n - 1)]
    assert all(0 in p for p in head)  # every depot leg first
    ranks = neighbour_ranks(haversine_matrix(lats, lons, lats, lons))
    tail = pairs[2 * (n - 1) :]
    sym = [min(ranks[i, j], ranks[j, i]) for i, j in tail]
    assert sym == sorted(sym)  # nearest neighbours of everyone before anyone's second nearest
    assert sym[0] == 1
    # Every stop's nearest-neighbour leg, both ways, is asked for (or is a depot leg, asked first).
    nearest = {(i, int(np.argmin(np.where(ranks[i] == 1, 0, 1)))) for i in range(1, n)}
    assert all(leg in set(pairs) and leg[::-1] in set(pairs) for leg in nearest)
    # Deterministic: the same stops give the same pairs (so a re-run finds them all cached).
    assert pairs == [tuple(p) for p in priority_pairs(lats, lons, budget, neighbours=4)]


def test_no_cap_at_80_stops(sg_points):
    _, lats, lons = points(sg_points, 400)
    pairs = priority_pairs(lats, lons, budget=1000)
    assert len(pairs) == 1000


# --- the travel-times resource against the fake -----------------------------------------------------------


def make_travel_times(fake: FakeOneMap, url: str, budget: int = 1000, **client_settings) -> OneMapTravelTimes:
    settings = {
        "base_url": fake.url,
        "email": EMAIL,
        "password": PASSWORD,
        "timeout_s": 0.5,
        "max_attempts": 2,
        "backoff_initial_s": 0.01,
        "backoff_max_s": 0.02,
        "requests_per_second": 500.0,
        "max_concurrency": 8,
    }
    settings.update(client_settings)
    return OneMapTravelTimes(
        client=OneMapClient(**settings), app_db=AppDatabase(url=url), model=CurveTravelTimes(), call_budget=budget
    )


def test_small_matrix_is_all_onemap_then_all_cache_with_zero_calls(fake_onemap, app_db_url, sg_points):
    ids, lats, lons = points(sg_points, 8)
    tt = make_travel_times(fake_onemap, app_db_url)
    first = tt.matrix(ids, lats, lons, "Depot")
    assert len(fake_onemap.calls("route")) == 8 * 7
    codes = first.cell_source
    assert (np.diag(codes) == CELL_SAME).all()
    assert (codes[~np.eye(8, dtype=bool)] == CELL_ONEMAP).all()
    assert first.source == "onemap" and first.source_shares()["onemap"] == 1.0
    o, d = 2, 5
    expected = fake_route(round(lats[o], 5), round(lons[o], 5), round(lats[d], 5), round(lons[d], 5))
    assert (first.duration_s[o, d], first.distance_m[o, d]) == expected
    fake_onemap.reset_log()
    second = tt.matrix(ids, lats, lons, "Depot")
    assert fake_onemap.calls() == []
    assert second.source_shares()["cache"] == 1.0
    np.testing.assert_array_equal(first.duration_s, second.duration_s)
    with AppDatabase(url=app_db_url).session() as db:
        assert db.scalar(select(func.count()).select_from(OdCache)) == 56
        refs = db.scalars(select(ObservedTravelTime.source_ref)).all()
    assert len(refs) == 56 and all(r.startswith("onemap:") and r.endswith("@8") for r in refs)
    la, lo = int(round(lats[o] * 1e5)), int(round(lons[o] * 1e5))
    lad, lod = int(round(lats[d] * 1e5)), int(round(lons[d] * 1e5))
    assert observation_ref((la, lo, lad, lod), 8) in refs


def test_budget_mixes_onemap_and_model_and_labels_every_cell(fake_onemap, app_db_url, sg_points):
    ids, lats, lons = points(sg_points, 30)
    tt = make_travel_times(fake_onemap, app_db_url, budget=150)
    matrix = tt.matrix(ids, lats, lons, "Depot")
    model = estimate_matrix(ids, lats, lons)
    assert len(fake_onemap.calls("route")) == 150
    shares = matrix.source_shares()
    assert shares["onemap"] == pytest.approx(150 / (30 * 29), abs=1e-3)
    assert shares["model"] == pytest.approx(1 - 150 / (30 * 29), abs=1e-3)
    assert matrix.source == "onemap+haversine_curve_v1"
    model_cells = matrix.cell_source == CELL_MODEL
    np.testing.assert_allclose(matrix.duration_s[model_cells], model.duration_s[model_cells])
    assert (matrix.cell_source[0, 1:] == CELL_ONEMAP).all() and (matrix.cell_source[1:, 0] == CELL_ONEMAP).all()
    assert matrix.provenance["pairs_prioritised"] == 150 and not matrix.provenance["fallback"]
    # The same stops again: no call (the budgeted pairs are cached; the rest stays with the model).
    fake_onemap.reset_log()
    again = tt.matrix(ids, lats, lons, "Depot")
    assert fake_onemap.calls() == [] and again.source_shares()["cache"] == shares["onemap"]
    # A bigger budget later asks only for the pairs it adds.
    fake_onemap.reset_log()
    bigger = make_travel_times(fake_onemap, app_db_url, budget=200).matrix(ids, lats, lons, "Depot")
    assert len(fake_onemap.calls("route")) == 50
    assert (bigger.cell_source == CELL_CACHE).sum() == 150


def test_onemap_unreachable_falls_back_to_the_model_flagged(fake_onemap, app_db_url, sg_points):
    ids, lats, lons = points(sg_points, 6)
    fake_onemap.inject("route", 500, times=-1)
    tt = make_travel_times(fake_onemap, app_db_url, max_concurrency=1, give_up_after_failures=3)
    matrix = tt.matrix(ids, lats, lons, "Depot")
    assert len(fake_onemap.calls("route")) == 3 * 2  # three pairs of two attempts, then no more calls
    assert matrix.source == "haversine_curve_v1"
    assert matrix.source_shares()["model"] == 1.0
    assert matrix.provenance["fallback"] is True
    assert "30 of 30 OneMap pairs unanswered" in matrix.provenance["fallback_reason"]
    assert "unreachable" in matrix.provenance["fallback_reason"]
    with AppDatabase(url=app_db_url).session() as db:
        assert db.scalar(select(func.count()).select_from(OdCache)) == 0


def test_od_cache_and_observations_are_insert_if_absent_on_postgres(fake_onemap, pg_database, sg_points):
    url = pg_database["app_url"]
    migrations.upgrade(url)
    ids, lats, lons = points(sg_points, 5)
    make_travel_times(fake_onemap, url).matrix(ids, lats, lons, "Depot")
    # A concurrent run that fetched the same legs (cache read before the other wrote) must not fail or duplicate.
    tt = make_travel_times(fake_onemap, url)
    fetched = {(1, 2, 3, 4): (60.0, 500.0)}
    tt._store(fetched)
    tt._store(fetched)
    with AppDatabase(url=url).session() as db:
        assert db.scalar(select(func.count()).select_from(OdCache)) == 21
        assert db.scalar(select(func.count()).select_from(ObservedTravelTime)) == 21


def test_factory_uses_the_trained_model_without_credentials(monkeypatch, app_db_url):
    monkeypatch.delenv("ONEMAP_EMAIL", raising=False)
    monkeypatch.delenv("ONEMAP_PASSWORD", raising=False)
    db = AppDatabase(url=app_db_url)
    assert isinstance(travel_times_for("local", db), ModelTravelTimes)
    monkeypatch.setenv("ONEMAP_EMAIL", EMAIL)
    monkeypatch.setenv("ONEMAP_PASSWORD", PASSWORD)
    monkeypatch.setenv("SGROUTE_ONEMAP_CALL_BUDGET", "123")
    tt = travel_times_for("local", db)
    assert isinstance(tt, OneMapTravelTimes) and tt.call_budget == 123 and tt.departure_hour == 8
    assert isinstance(tt.model, ModelTravelTimes)  # the model fills what OneMap is not asked for
