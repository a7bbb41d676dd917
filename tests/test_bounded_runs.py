"""Nothing unbounded (issue 14): every outside call has a deadline, a partition's runs cannot tear each other's
writes, and no resource config the webserver serves holds a secret.

Real parts only: the loopback fake OneMap with injected faults (a drip, an HTML 200, a long Retry-After), the
throwaway PostgreSQL server (and a frozen one: a loopback socket that accepts and never answers), Dagster's own
instance config loader and run-queue limit counter, and the code location loaded as the webserver loads it.
"""

from __future__ import annotations

import time
from pathlib import Path

import dagster as dg
import numpy as np
import pytest
from onemap_fake_server import EMAIL, PASSWORD, FakeOneMap

from sgroute_resources.app_database import AppDatabase
from sgroute_resources.onemap_client import OneMapClient, OneMapUnavailable, onemap_client_from_env
from sgroute_resources.onemap_travel_times import OneMapTravelTimes
from sgroute_resources.travel_times import CurveTravelTimes

REPO = Path(__file__).resolve().parents[1]


def client_settings(fake: FakeOneMap, **settings) -> dict:
    """Fast settings: tiny backoff, a generous rate limit; each test sets the deadlines it is about."""
    base = {
        "base_url": fake.url,
        "email": EMAIL,
        "password": PASSWORD,
        "timeout_s": 1.0,
        "max_attempts": 3,
        "backoff_initial_s": 0.01,
        "backoff_max_s": 0.05,
        "requests_per_second": 200.0,
        "max_concurrency": 4,
    }
    base.update(settings)
    return base


def client(fake: FakeOneMap, **settings) -> OneMapClient:
    return OneMapClient(**client_settings(fake, **settings))


def points(sg_points, n: int) -> tuple[list[str], np.ndarray, np.ndarray]:
    pts = sg_points.sample(n, random_state=3)
    return [f"N{i}" for i in range(n)], pts.lat.to_numpy(), pts.lon.to_numpy()


# --- OneMap: per-request, per-call and per-run deadlines ---------------------------------------------------


def test_a_server_dripping_one_byte_at_a_time_is_cut_off_at_the_request_deadline(fake_onemap):
    """Each byte arrives well inside httpx's read timeout, so only a total deadline ends the exchange."""
    fake_onemap.drip("route", every_s=0.25)
    with client(fake_onemap, timeout_s=1.0, max_attempts=2, call_deadline_s=10.0).session() as s:
        s.search("049178")  # the token and a normal call are unaffected
        started = time.monotonic()
        with pytest.raises(OneMapUnavailable, match=r"no complete answer within 1 s; gave up after 2 attempts"):
            s.route(1.30, 103.80, 1.35, 103.85)
        elapsed = time.monotonic() - started
        assert s.stats.get("timeouts") == 2
    assert 1.9 < elapsed < 3.0  # two attempts of 1 s each, not the ~2 minutes the drip would take
    assert len(fake_onemap.calls("route")) == 2


def test_a_call_never_outlives_its_deadline_whatever_the_retries(fake_onemap):
    fake_onemap.drip("search", every_s=0.25)
    with client(fake_onemap, timeout_s=1.0, max_attempts=10, call_deadline_s=2.5).session() as s:
        started = time.monotonic()
        with pytest.raises(OneMapUnavailable, match=r"call's 2.5 s deadline"):
            s.search("049178")
        assert time.monotonic() - started < 3.0
    assert len(fake_onemap.calls("search")) == 3  # 1 s + 1 s + the 0.5 s that was left


def test_retry_after_longer_than_the_budget_is_not_slept_and_the_session_stops(fake_onemap):
    fake_onemap.rate_limit("search", retry_after="60")
    with client(fake_onemap, call_deadline_s=20.0, run_deadline_s=30.0).session() as s:
        started = time.monotonic()
        with pytest.raises(OneMapUnavailable, match=r"OneMap asked to wait 60 s \(Retry-After\)"):
            s.search("049178")
        assert time.monotonic() - started < 1.0
        # Nothing in this session can wait a minute: it stops calling at once, no further 429s.
        assert s.unavailable and "Retry-After" in s.unavailable
        with pytest.raises(OneMapUnavailable, match="not called"):
            s.search("238801")
    assert [r.status for r in fake_onemap.calls("search")] == [429]


def test_a_short_retry_after_within_the_budget_is_still_honoured(fake_onemap):
    fake_onemap.rate_limit("search", retry_after="1", times=1)
    with client(fake_onemap, call_deadline_s=5.0).session() as s:
        started = time.monotonic()
        assert s.search("049178")["found"] == 1
        assert time.monotonic() - started >= 0.95


def test_matrix_under_a_long_retry_after_falls_back_to_the_model_flagged(fake_onemap, app_db_url, sg_points):
    fake_onemap.rate_limit("route", retry_after="60")
    ids, lats, lons = points(sg_points, 6)
    settings = client_settings(fake_onemap, call_deadline_s=20.0, run_deadline_s=40.0)
    tt = OneMapTravelTimes(
        client=OneMapClient(**settings), app_db=AppDatabase(url=app_db_url), model=CurveTravelTimes(), call_budget=100
    )
    started = time.monotonic()
    matrix = tt.matrix(ids, lats, lons, "Depot")
    assert time.monotonic() - started < 5.0
    assert matrix.provenance["fallback"] is True and "Retry-After" in matrix.provenance["fallback_reason"]
    assert matrix.source_shares()["model"] > 0.9
    assert len(fake_onemap.calls("route")) <= 4  # the requests in flight when the 429 came, then none


def test_per_run_deadline_from_the_environment_stops_a_silent_onemap_and_the_model_fills_in(
    fake_onemap, app_db_url, sg_points, monkeypatch
):
    """A OneMap that never answers: SGROUTE_ONEMAP_RUN_DEADLINE_S bounds the whole matrix step."""
    fake_onemap.inject("route", delay_s=30.0, times=-1)
    for name, value in {
        "ONEMAP_BASE_URL": fake_onemap.url,
        "ONEMAP_EMAIL": EMAIL,
        "ONEMAP_PASSWORD": PASSWORD,
        "SGROUTE_ONEMAP_RUN_DEADLINE_S": "2",
        "SGROUTE_ONEMAP_REQUEST_TIMEOUT_S": "10",
    }.items():
        monkeypatch.setenv(name, value)
    onemap = onemap_client_from_env()
    assert (onemap.run_deadline_s, onemap.timeout_s) == (2.0, 10.0)
    settings = {
        "base_url": fake_onemap.url,
        "email": EMAIL,
        "password": PASSWORD,
        "give_up_after_failures": 1000,  # only the run deadline can stop it
        "max_concurrency": 4,
        "requests_per_second": 200.0,
    }
    tt = OneMapTravelTimes(
        client=onemap_client_from_env(**settings),
        app_db=AppDatabase(url=app_db_url),
        model=CurveTravelTimes(),
        call_budget=200,
    )
    ids, lats, lons = points(sg_points, 12)
    started = time.monotonic()
    matrix = tt.matrix(ids, lats, lons, "Depot")
    elapsed = time.monotonic() - started
    assert elapsed < 3.5, elapsed
    assert matrix.provenance["fallback"] is True
    assert "SGROUTE_ONEMAP_RUN_DEADLINE_S" in matrix.provenance["fallback_reason"]
    assert matrix.source_shares()["onemap"] == 0.0
    assert np.isfinite(matrix.duration_s).all()
    assert len(fake_onemap.calls("route")) == 4  # the first four in flight; nothing after the deadline


def test_an_html_200_is_a_failure_not_an_answer(fake_onemap):
    fake_onemap.serve_html("search")
    with client(fake_onemap, give_up_after_failures=2).session() as s:
        with pytest.raises(OneMapUnavailable, match=r"not JSON \(HTTP 200, text/html\); gave up after 3 attempts"):
            s.search("049178")
        with pytest.raises(OneMapUnavailable):
            s.search("238801")
        assert s.unavailable and "2 calls in a row failed" in s.unavailable
        assert s.stats.get("not_json") == 6


def test_an_html_200_makes_the_geocoding_check_not_green(
    tmp_path, make_local_resources, materialise, app_db_url, fake_onemap
):
    from sgroute_assets.stop_intake.assets import GEOCODER_CHECK

    fake_onemap.serve_html("search")
    resources = make_local_resources(
        app_db_url, ONEMAP_BASE_URL=fake_onemap.url, ONEMAP_EMAIL=EMAIL, ONEMAP_PASSWORD=PASSWORD
    )
    (tmp_path / "inbox" / "html.csv").write_text(
        "stop_ref,address,postal_code,lat,lon,demand\nH1,,049178,,,1\nH2,,238801,,,1\nH3,,,1.30,103.85,1\n"
    )
    with dg.instance_for_test() as instance:
        result = materialise(instance, resources, "html.csv", selection=["stops", "validated_stops", "geocoded_stops"])
        assert result.success
        check = next(e for e in result.get_asset_check_evaluations() if e.check_name == GEOCODER_CHECK)
        assert check.passed is False
        assert "not JSON" in check.description and check.metadata["stops_affected"].value == 2
        geocoded = result.asset_value("geocoded_stops")
        assert {r.stop.stop_ref for r in geocoded.needs_attention} == {"H1", "H2"}


# --- the run-level timeout ---------------------------------------------------------------------------------


def test_planning_job_carries_a_max_runtime_tag_the_daemon_enforces(monkeypatch):
    from dagster._core.storage.tags import MAX_RUNTIME_SECONDS_TAG

    from sgroute_assets.route_planning import jobs

    assert MAX_RUNTIME_SECONDS_TAG == "dagster/max_runtime"
    assert float(jobs.route_planning_job.tags[MAX_RUNTIME_SECONDS_TAG]) == jobs.DEFAULT_MAX_RUNTIME_S
    monkeypatch.setenv("SGROUTE_RUN_MAX_RUNTIME_S", "900")
    assert jobs.planning_job_tags() == {MAX_RUNTIME_SECONDS_TAG: "900"}
    monkeypatch.setenv("SGROUTE_RUN_MAX_RUNTIME_S", "soon")
    with pytest.raises(ValueError, match="SGROUTE_RUN_MAX_RUNTIME_S"):
        jobs.planning_job_tags()
