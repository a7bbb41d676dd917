"""Nothing unbounded (issue 14): every outside call has a deadline, a partition's runs cannot tear each other's
writes, and no resource config the webserver serves holds a secret.

Real parts only: the loopback fake OneMap with injected faults (a drip, an HTML 200, a long Retry-After), the
throwaway PostgreSQL server (and a frozen one: a loopback socket that accepts and never answers), Dagster's own
instance config loader and run-queue limit counter, and the code location loaded as the webserver loads it.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import dagster as dg
import numpy as np
import pytest
from onemap_fake_server import EMAIL, PASSWORD, FakeOneMap, fast_client_settings

from sgroute_resources.app_database import AppDatabase
from sgroute_resources.onemap_client import OneMapClient, OneMapUnavailable, onemap_client_from_env
from sgroute_resources.onemap_travel_times import OneMapTravelTimes
from sgroute_resources.travel_times import CurveTravelTimes

REPO = Path(__file__).resolve().parents[1]


def client_settings(fake: FakeOneMap, **settings) -> dict:
    """Fast settings: tiny backoff, a generous rate limit; each test sets the deadlines it is about."""
    return fast_client_settings(fake, **{"timeout_s": 1.0, **settings})


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


# --- PostgreSQL: connect and statement timeouts ------------------------------------------------------------


def test_a_statement_past_the_statement_timeout_fails_with_a_plain_message(pg_database, monkeypatch):
    from sqlalchemy import text

    from sgroute_resources import migrations
    from sgroute_resources.app_database import DatabaseUnavailableError

    url = pg_database["app_url"]
    migrations.upgrade(url)
    monkeypatch.setenv("SGROUTE_DB_STATEMENT_TIMEOUT_S", "1")
    db = AppDatabase(url=url)
    with db.session() as session:
        assert session.execute(text("SHOW statement_timeout")).scalar() == "1s"
        session.execute(text("SELECT pg_sleep(0.2)"))  # well inside the limit
    started = time.monotonic()
    with pytest.raises(DatabaseUnavailableError) as caught:
        with db.session() as session:
            session.execute(text("SELECT pg_sleep(5)"))
    assert time.monotonic() - started < 3.0
    message = str(caught.value)
    assert "ran past the 1 s statement timeout (SGROUTE_DB_STATEMENT_TIMEOUT_S)" in message
    assert caught.value.__cause__ is None and "psycopg" not in message and "[SQL:" not in message


@pytest.fixture
def frozen_postgres():
    """A loopback port that accepts TCP connections and never says a word: a PostgreSQL that froze."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    try:
        yield server.getsockname()[1]
    finally:
        server.close()


def test_a_frozen_server_fails_to_connect_within_the_connect_timeout(frozen_postgres, monkeypatch):
    from sgroute_resources.app_database import DatabaseUnavailableError

    monkeypatch.setenv("SGROUTE_DB_CONNECT_TIMEOUT_S", "2")
    url = f"postgresql+psycopg://app:frozen-Pa55@127.0.0.1:{frozen_postgres}/sgroute"
    started = time.monotonic()
    with pytest.raises(DatabaseUnavailableError) as caught:
        with AppDatabase(url=url).session():
            pass
    elapsed = time.monotonic() - started
    assert 1.5 < elapsed < 8.0, elapsed  # libpq's whole seconds; psycopg may try IPv4 and IPv6 once each
    message = str(caught.value)
    assert f"cannot reach the app database at postgresql+psycopg://app:***@127.0.0.1:{frozen_postgres}" in message
    assert "within 2 s (SGROUTE_DB_CONNECT_TIMEOUT_S)" in message and "frozen-Pa55" not in message


# --- two runs of one partition at once -----------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def migrated_db_url(request, tmp_path) -> str:
    from sgroute_resources import migrations

    url = (
        f"sqlite:///{tmp_path / 'app.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("pg_database")["app_url"]
    )
    migrations.upgrade(url)
    return url


def _report(name: str, refs: list[str]):
    from sgroute_assets.domain.stops import validate_file

    rows = "".join(f"{ref},1.3{i},103.8{i},1\n" for i, ref in enumerate(refs))
    report = validate_file(name, f"stop_ref,lat,lon,demand\n{rows}".encode())
    report.content_hash = "".join(refs).lower()[:1]
    return report


def test_two_writers_of_one_partition_serialise_instead_of_failing(migrated_db_url):
    """The first run's transaction is open (its partition row inserted, not committed) when the second run
    writes the same new partition: the second waits for the first and replaces its rows, no IntegrityError."""
    from sqlalchemy import func, select

    from sgroute_resources.app_tables import StopFile, StopRecord
    from sgroute_resources.partition_records import replace_validation

    db = AppDatabase(url=migrated_db_url)
    key = "week_1.csv"
    first_wrote, first_committed = threading.Event(), threading.Event()
    errors: list[BaseException] = []
    second_done: list[float] = []

    def first() -> None:
        try:
            with db.session() as session:
                replace_validation(session, key, _report(key, ["A1", "A2"]))
                first_wrote.set()
                time.sleep(1.0)
            first_committed.set()
        except BaseException as exc:  # noqa: BLE001 - the test reports any failure of either writer
            errors.append(exc)
            first_wrote.set()

    def second() -> None:
        first_wrote.wait(10)
        try:
            with db.session() as session:
                replace_validation(session, key, _report(key, ["B1", "B2", "B3"]))
            second_done.append(time.monotonic())
            assert first_committed.is_set(), "the second writer did not wait for the first"
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == [] and second_done
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(StopFile)) == 1
        row = session.scalar(select(StopFile))
        refs = set(session.scalars(select(StopRecord.stop_ref).where(StopRecord.stop_file_id == row.id)))
    assert row.content_hash == "b" and refs == {"B1", "B2", "B3"}


def test_on_postgres_other_partitions_do_not_wait(pg_database):
    from sgroute_resources import migrations
    from sgroute_resources.partition_records import replace_validation

    url = pg_database["app_url"]
    migrations.upgrade(url)
    db = AppDatabase(url=url)
    holding = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with db.session() as session:
            replace_validation(session, "a.csv", _report("a.csv", ["A"]))
            holding.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(10)
        started = time.monotonic()
        with db.session() as session:
            replace_validation(session, "b.csv", _report("b.csv", ["B"]))
        assert time.monotonic() - started < 0.5  # not behind a.csv's open transaction
    finally:
        release.set()
        holder.join(20)


class _SlowToPickle:
    """Pickles as an empty dict, slowly: the first half of the enclosing pickle is on disk meanwhile."""

    def __init__(self, started: threading.Event):
        self.started = started

    def __reduce__(self):
        self.started.set()
        time.sleep(0.6)
        return (dict, ())


def test_local_pickles_are_replaced_whole_so_a_reader_never_sees_half_of_one(tmp_path):
    from upath import UPath

    from sgroute_resources.local_io_manager import AtomicFilesystemIOManager

    manager = AtomicFilesystemIOManager(base_dir=str(tmp_path)).create_io_manager(
        dg.build_init_resource_context(instance=None)
    )
    path = UPath(tmp_path / "route_plan" / "week_1.csv")
    old = {"plan": "previous", "blob": b"x" * 300_000}
    manager.dump_to_path(context=None, obj=old, path=path)
    started = threading.Event()
    writer = threading.Thread(
        target=manager.dump_to_path,
        kwargs={"context": None, "obj": [b"y" * 300_000, _SlowToPickle(started), b"z" * 300_000], "path": path},
    )
    writer.start()
    assert started.wait(5)
    seen = manager.load_from_path(context=None, path=path)  # mid-write: the previous value, whole
    writer.join(10)
    assert seen == old
    new = manager.load_from_path(context=None, path=path)
    assert new[0] == b"y" * 300_000 and new[1] == {} and new[2] == b"z" * 300_000
    assert [p.name for p in path.parent.iterdir()] == ["week_1.csv"]  # no temporary file left behind


def test_local_resources_use_the_atomic_io_manager():
    from sgroute_assets.resources import local_resources
    from sgroute_resources.local_io_manager import AtomicFilesystemIOManager

    assert isinstance(local_resources()["io_manager"], AtomicFilesystemIOManager)


# --- the run queue: one run per partition at a time, and run monitoring on -------------------------------------


def _instance_from(yaml_file: Path, home: Path) -> dg.DagsterInstance:
    """The instance a deployment builds from this dagster.yaml (its Postgres storage swapped for SQLite)."""
    import yaml

    config = yaml.safe_load(yaml_file.read_text())
    config.pop("storage", None)
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    return dg.DagsterInstance.from_config(str(home))


@pytest.mark.parametrize("yaml_name", ["dagster.yaml", "dagster-dev.yaml"])
def test_instance_queues_a_second_run_of_a_partition_and_monitors_run_time(yaml_name, tmp_path):
    from dagster._core.run_coordinator import QueuedRunCoordinator
    from dagster._utils.tags import TagConcurrencyLimitsCounter

    from sgroute_assets.route_planning.jobs import route_planning_job

    instance = _instance_from(REPO / "deploy" / yaml_name, tmp_path / "home")
    try:
        assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
        assert instance.run_monitoring_enabled
        limits = instance.get_concurrency_config().run_queue_config.tag_concurrency_limits

        def run(partition: str) -> dg.DagsterRun:
            tags = {**route_planning_job.tags, "dagster/partition": partition}
            return dg.DagsterRun(job_name=route_planning_job.name, tags=tags)

        in_flight = [run("week_1.csv")]
        counter = TagConcurrencyLimitsCounter(limits, in_flight)
        assert counter.is_blocked(run("week_1.csv"))  # the same stop file waits in the queue
        assert not counter.is_blocked(run("week_2.csv"))  # another one starts
        assert float(in_flight[0].tags["dagster/max_runtime"]) > 0
    finally:
        instance.dispose()


# --- no secret in what the webserver serves ----------------------------------------------------------------


SNAPSHOT_CODE = """
from dagster._core.remote_representation.external_data import RepositorySnap
from dagster_shared.serdes import serialize_value
from sgroute_assets.definitions import defs

repo = defs.get_repository_def()
snap = RepositorySnap.from_def(repo)
print(serialize_value(snap))
print(repr(defs.resources["app_db"]))
"""


def test_no_database_password_in_the_repository_snapshot_the_webserver_serves(tmp_path):
    password = "Sup3r-s3cret-db-pw"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SGROUTE_", "ONEMAP_"))}
    env.update(
        {
            "SGROUTE_ENV": "local",
            "DAGSTER_HOME": str(tmp_path),
            "DATABASE_URL": f"postgresql+psycopg://planner:{password}@db.internal:5432/sgroute",
            "ONEMAP_EMAIL": EMAIL,
            "ONEMAP_PASSWORD": PASSWORD,  # OneMap on: the geocoder and travel times nest app_db too
        }
    )
    proc = subprocess.run(
        [sys.executable, "-c", SNAPSHOT_CODE], env=env, capture_output=True, text=True, timeout=180, cwd=REPO
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    served = proc.stdout
    assert password not in served and password not in proc.stderr
    assert PASSWORD not in served
    snapshot = json.loads(served.splitlines()[0])
    assert "DATABASE_URL" in json.dumps(snapshot)  # shown by name: the operator sees where it comes from
