"""The data layer on real databases: migrations, idempotent partition writes, Dagster beside the app."""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, inspect, select
from sqlalchemy.exc import IntegrityError

from sgroute_resources import migrations
from sgroute_resources.app_database import AppDatabase, engine_for
from sgroute_resources.app_tables import (
    Base,
    DroppedStopRecord,
    RoutePlanRecord,
    RouteStopRecord,
    StopFile,
    StopRecord,
    ValidationIssue,
)
from sgroute_resources.partition_records import replace_plan

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "data" / "demo"
# The newest migration: `sgroute db upgrade` must end there (update this one line with each new revision).
HEAD = "0007_plan_revisions"
APP_TABLES = set(Base.metadata.tables)


def _tables(url: str) -> set[str]:
    return set(inspect(engine_for(url)).get_table_names())


def _autogenerate_diff(url: str) -> list:
    with engine_for(url).connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={"compare_type": True, "include_name": lambda n, t, p: t != "table" or n in APP_TABLES},
        )
        return compare_metadata(context, Base.metadata)


@pytest.fixture(params=["sqlite", "postgres"])
def any_db_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'app.db'}"
    return request.getfixturevalue("pg_database")["app_url"]


def test_upgrade_downgrade_upgrade_and_no_drift_from_the_models(any_db_url):
    migrations.upgrade(any_db_url)
    assert APP_TABLES <= _tables(any_db_url)
    assert _autogenerate_diff(any_db_url) == []
    migrations.downgrade(any_db_url, "base")
    assert not (APP_TABLES & _tables(any_db_url))
    assert migrations.current(any_db_url) is None
    migrations.upgrade(any_db_url)
    assert APP_TABLES <= _tables(any_db_url)
    assert migrations.current(any_db_url) == HEAD


@pytest.fixture
def pg_env(make_local_resources, materialise, pg_database) -> dict:
    """Local resources but the app tables on Postgres."""
    migrations.upgrade(pg_database["app_url"])
    resources = make_local_resources(pg_database["app_url"])

    def run(instance, key):
        result = materialise(instance, resources, key, FAST)
        assert result.success
        return result

    return {"resources": resources, "url": pg_database["app_url"], "db": pg_database, "materialise": run}


FAST = {"ops": {"route_plan": {"config": {"solver_time_limit_s": 1.0}}}}


def _counts(url: str) -> dict[str, int]:
    engine = engine_for(url)
    with engine.connect() as conn:
        return {
            t.__tablename__: conn.scalar(select(func.count()).select_from(t))
            for t in (StopFile, StopRecord, ValidationIssue, RoutePlanRecord, RouteStopRecord, DroppedStopRecord)
        }


def test_a_partition_materialised_twice_leaves_one_set_of_rows(pg_env, tmp_path):
    name = "east_west_tight_windows.csv"
    shutil.copy(DEMO / name, tmp_path / "inbox" / name)
    with dg.instance_for_test() as instance:
        first = pg_env["materialise"](instance, name)
        once = _counts(pg_env["url"])
        second = pg_env["materialise"](instance, name)
        twice = _counts(pg_env["url"])
    plan = second.asset_value("route_plan")
    report = first.asset_value("validated_stops")
    assert once == twice
    assert twice["stop_files"] == 1 and twice["route_plans"] == 1
    assert twice["stops"] == report.valid_count and twice["validation_issues"] == len(report.issues)
    assert twice["route_stops"] == plan.stops_served and twice["dropped_stops"] == len(plan.dropped)
    with engine_for(pg_env["url"]).connect() as conn:
        row = conn.execute(select(StopFile.status, StopFile.content_hash, StopFile.source_uri)).one()
        geocoded = conn.scalar(select(func.count()).where(StopRecord.geocode_source == "file"))
    assert row.status == "planned" and len(row.content_hash) == 16 and row.source_uri.endswith(name)
    assert geocoded == report.valid_count


def test_a_write_failing_half_way_keeps_the_previous_rows(pg_env, tmp_path):
    name = "orchard_central_deliveries.csv"
    shutil.copy(DEMO / name, tmp_path / "inbox" / name)
    with dg.instance_for_test() as instance:
        run = pg_env["materialise"](instance, name)
    good, report, geocoded = (run.asset_value(a) for a in ("route_plan", "validated_stops", "geocoded_stops"))
    before = _counts(pg_env["url"])
    # A plan that visits one stop on two routes: the insert of the second route's stops violates a unique
    # key after the old plan was deleted and the new plan row, its first route and stops were written.
    broken = copy.deepcopy(good)
    broken.routes[1].visits.append(broken.routes[0].visits[0])
    db = AppDatabase(url=pg_env["url"])
    with pytest.raises(IntegrityError):
        with db.session() as session:
            replace_plan(session, name, broken, report, geocoded)
    assert _counts(pg_env["url"]) == before
    with engine_for(pg_env["url"]).connect() as conn:
        stored = conn.scalar(select(RoutePlanRecord.stops_served))
    assert stored == good.stops_served


def test_dagster_storage_on_postgres_beside_the_app_schema(pg_env, tmp_path, monkeypatch):
    db = pg_env["db"]
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "deploy" / "dagster.yaml", home / "dagster.yaml")
    for key, value in {
        "DAGSTER_HOME": str(home),
        "DAGSTER_PG_USER": "postgres",
        "DAGSTER_PG_PASSWORD": "",
        "DAGSTER_PG_HOST": db["host"],
        "DAGSTER_PG_PORT": str(db["port"]),
        "DAGSTER_PG_DB": db["name"],
    }.items():
        monkeypatch.setenv(key, value)
    name = "orchard_central_deliveries.csv"
    shutil.copy(DEMO / name, tmp_path / "inbox" / name)
    with dg.DagsterInstance.get() as instance:
        instance.upgrade()
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        result = pg_env["materialise"](instance, name)
        assert result.success
        run_id = result.run_id
    dsn = f"host={db['host']} port={db['port']} user=postgres dbname={db['name']}"
    with psycopg.connect(dsn) as conn:
        status = conn.execute("select status from dagster.runs where run_id = %s", (run_id,)).fetchone()
        versions = conn.execute(
            "select table_schema from information_schema.tables where table_name = 'alembic_version' order by 1"
        ).fetchall()
        public_runs = conn.execute(
            "select count(*) from information_schema.tables where table_schema='public' and table_name='runs'"
        ).fetchone()
        plans = conn.execute("select count(*) from public.route_plans").fetchone()
    assert status == ("SUCCESS",)
    assert versions == [("dagster",), ("public",)]
    assert public_runs == (0,) and plans == (1,)
    assert migrations.current(pg_env["url"]) == HEAD


def _import_definitions(env: dict) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("SGROUTE_", "DATABASE_URL"))}
    full.update(env)
    return subprocess.run(
        [sys.executable, "-c", "import sgroute_assets.definitions"],
        env=full,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "database_url,message",
    [
        (None, "SGROUTE_ENV=prod needs DATABASE_URL"),
        ("sqlite:////tmp/prod.db", "SGROUTE_ENV=prod must not use SQLite"),
    ],
)
def test_prod_refuses_sqlite_and_missing_database(database_url, message):
    env = {"SGROUTE_ENV": "prod"}
    if database_url:
        env["DATABASE_URL"] = database_url
    proc = _import_definitions(env)
    assert proc.returncode != 0
    assert message in proc.stderr


def test_guardrail_messages_never_show_the_password():
    proc = _import_definitions({"SGROUTE_ENV": "prod", "DATABASE_URL": "sqlite:///user:hunter2@/tmp/x.db"})
    assert proc.returncode != 0 and "hunter2" not in proc.stderr


def test_cli_db_upgrade_and_downgrade(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    env = {**os.environ, "DATABASE_URL": url, "DAGSTER_HOME": str(tmp_path)}
    sgroute = str(Path(sys.executable).with_name("sgroute"))
    up = subprocess.run([sgroute, "db", "upgrade"], env=env, capture_output=True, text=True, timeout=120)
    assert up.returncode == 0 and f"at revision {HEAD}" in up.stdout
    assert APP_TABLES <= _tables(url)
    down = subprocess.run([sgroute, "db", "downgrade", "base"], env=env, capture_output=True, text=True, timeout=120)
    assert down.returncode == 0 and "base (empty)" in down.stdout
    assert not (APP_TABLES & _tables(url))


def test_upgrading_keeps_existing_rows(any_db_url):
    """0001 -> 0002 adds drift_reports.details to a table that already has reports."""
    from sqlalchemy import text

    migrations.upgrade(any_db_url, "0001_app_tables")
    with engine_for(any_db_url).begin() as conn:
        conn.execute(
            text(
                "insert into drift_reports (model_version, created_at, n_observations, psi, severity, "
                "retrain_triggered) values ('v1', CURRENT_TIMESTAMP, 40, '{}', 'WARN', false)"
            )
        )
    migrations.upgrade(any_db_url)
    with engine_for(any_db_url).connect() as conn:
        rows = conn.execute(text("select model_version, severity, details from drift_reports")).all()
    assert len(rows) == 1 and rows[0][:2] == ("v1", "WARN")
    assert rows[0][2] in ({}, "{}")
    assert _autogenerate_diff(any_db_url) == []
