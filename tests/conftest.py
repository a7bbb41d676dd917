"""Shared fixtures: where the shared data lives, and small real plans built from it."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SGROUTE_SHARED", REPO.parent / "shared"))


@pytest.fixture(autouse=True)
def _no_real_services(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's shell may hold real OneMap credentials or a database URL: tests never use them."""
    for name in ("ONEMAP_EMAIL", "ONEMAP_PASSWORD", "ONEMAP_BASE_URL", "DATABASE_URL", "SGROUTE_ENV"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.fail(f"shared data not found at {SHARED}: set SGROUTE_SHARED")
    return SHARED


@pytest.fixture(scope="session")
def sg_points(shared_dir: Path) -> pd.DataFrame:
    return pd.read_csv(shared_dir / "data" / "sg_points.csv")


@pytest.fixture(scope="session")
def small_plan(sg_points: pd.DataFrame):
    """A real solved plan over 25 Singapore points: some windows, a couple of stops that must be dropped."""
    from sgroute_assets.domain.routing import Fleet, SolverSettings, plan_routes
    from sgroute_assets.domain.stops import Stop
    from sgroute_assets.domain.travel_times import estimate_matrix

    pts = sg_points.sample(25, random_state=7)
    rng = np.random.default_rng(7)
    stops = []
    for i, (lat, lon) in enumerate(zip(pts.lat, pts.lon, strict=True)):
        tw = None if i % 3 else int(rng.integers(9 * 60, 15 * 60))
        stops.append(
            Stop(
                stop_ref=f"T{i:03d}",
                row=i + 2,
                address=f"{100 + i} Test Road",
                postal_code=f"{(i * 7919) % 1000000:06d}",
                lat=float(lat),
                lon=float(lon),
                demand=int(rng.integers(1, 6)),
                service_time_min=10,
                tw_start_min=tw,
                tw_end_min=None if tw is None else tw + 60,
                phone="+6591234567" if i % 2 else None,
                contact_name=f"Contact {i}",
            )
        )
    # One stop whose window closes before any vehicle can get there, one too heavy for a vehicle.
    stops.append(
        Stop(stop_ref="EARLY", row=40, lat=1.35, lon=103.99, demand=1, tw_start_min=7 * 60, tw_end_min=7 * 60 + 30)
    )
    stops.append(Stop(stop_ref="HEAVY", row=41, lat=1.30, lon=103.85, demand=500))
    fleet = Fleet(
        depot_lat=1.3354,
        depot_lon=103.8879,
        vehicles=3,
        capacity=40,
        shift_start_min=8 * 60,
        shift_end_min=18 * 60,
        max_route_min=9 * 60,
        depot_name="Tai Seng depot",
    )
    ids = ["DEPOT"] + [s.stop_ref for s in stops]
    lats = np.r_[fleet.depot_lat, [s.lat for s in stops]]
    lons = np.r_[fleet.depot_lon, [s.lon for s in stops]]
    return plan_routes(fleet, stops, estimate_matrix(ids, lats, lons), SolverSettings(time_limit_s=2))


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def app_db_url(tmp_path: Path) -> str:
    """A fresh SQLite app database migrated to head, as the embedded default has it."""
    from sgroute_resources import migrations

    url = f"sqlite:///{tmp_path / 'app.db'}"
    migrations.upgrade(url)
    return url


@pytest.fixture(scope="session")
def pg_server():
    """A throwaway PostgreSQL server on 127.0.0.1 (Debian's binaries, run as the postgres user when root)."""
    import glob
    import pwd
    import shutil
    import subprocess
    import tempfile

    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    if not bins:
        pytest.fail("PostgreSQL server binaries not found: install the Debian 'postgresql' package (make test does)")
    pgbin = bins[-1]
    data = tempfile.mkdtemp(prefix="sgroute-pg-")
    as_user: list[str] = []
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        os.chown(data, pw.pw_uid, pw.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    subprocess.run(
        as_user
        + [
            f"{pgbin}/initdb",
            "-D",
            data,
            "-U",
            "postgres",
            "-A",
            "trust",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    subprocess.run(
        as_user
        + [
            f"{pgbin}/pg_ctl",
            "-D",
            data,
            "-l",
            f"{data}/server.log",
            "-w",
            "-o",
            f"-k {data} -h 127.0.0.1 -p {port} -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
            "start",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    try:
        yield {"host": "127.0.0.1", "port": port, "user": "postgres"}
    finally:
        subprocess.run(
            as_user + [f"{pgbin}/pg_ctl", "-D", data, "-m", "fast", "-w", "stop"],
            stdout=subprocess.DEVNULL,
            check=False,
        )
        shutil.rmtree(data, ignore_errors=True)


@pytest.fixture
def pg_database(pg_server) -> dict:
    """A new empty database on the shared server, dropped afterwards."""
    import uuid

    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = f"host={pg_server['host']} port={pg_server['port']} user=postgres dbname=postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = f"postgres@{pg_server['host']}:{pg_server['port']}/{name}"
    yield {
        "name": name,
        "app_url": f"postgresql+psycopg://{base}",
        "dagster_url": f"postgresql+psycopg2://{base}",
        **pg_server,
    }
    from sgroute_resources.app_database import engine_for

    engine_for(f"postgresql+psycopg://{base}").dispose()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def gcs_emulator():
    """gcp-storage-emulator in-process on 127.0.0.1; google-cloud-storage finds it via STORAGE_EMULATOR_HOST."""
    from gcp_storage_emulator.server import create_server

    port = _free_port()
    server = create_server("127.0.0.1", port, in_memory=True)
    server.start()
    previous = os.environ.get("STORAGE_EMULATOR_HOST")
    os.environ["STORAGE_EMULATOR_HOST"] = f"http://127.0.0.1:{port}"
    try:
        yield os.environ["STORAGE_EMULATOR_HOST"]
    finally:
        server.stop()
        if previous is None:
            os.environ.pop("STORAGE_EMULATOR_HOST", None)
        else:
            os.environ["STORAGE_EMULATOR_HOST"] = previous


@pytest.fixture
def gcs_bucket(gcs_emulator):
    """A fresh bucket per test."""
    import uuid

    from google.cloud import storage

    client = storage.Client(project="sgroute-test")
    bucket = client.create_bucket(f"sgroute-{uuid.uuid4().hex[:10]}")
    return bucket


@pytest.fixture
def fake_onemap():
    """A fresh loopback server speaking OneMap's API per test (tests/onemap_fake_server.py), stopped afterwards."""
    from onemap_fake_server import running_fake_onemap

    with running_fake_onemap() as state:
        yield state


@pytest.fixture
def make_local_resources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The embedded default's resources (what `defs` gets with SGROUTE_ENV=local), on this test's folders and a
    given app database; extra keyword arguments become environment variables (OneMap settings, say)."""
    import dagster as dg

    def build(database_url: str, **env: str) -> dict:
        from sgroute_assets.resources import resources_for

        for name, value in {
            "SGROUTE_INBOX": str(tmp_path / "inbox"),
            "SGROUTE_EXPORTS": str(tmp_path / "exports"),
            "SGROUTE_QUARANTINE": str(tmp_path / "quarantine"),
            "DATABASE_URL": database_url,
            **env,
        }.items():
            monkeypatch.setenv(name, value)
        (tmp_path / "inbox").mkdir(exist_ok=True)
        resources = resources_for("local")
        resources["io_manager"] = dg.FilesystemIOManager(base_dir=str(tmp_path / "storage"))
        return resources

    return build


@pytest.fixture
def materialise():
    """Materialise one stop_files partition through the real route assets and the blocking check."""
    import dagster as dg

    def run(instance, resources: dict, key: str, run_config: dict | None = None, selection=None):
        from sgroute_assets.definitions import ROUTE_ASSETS, ROUTE_CHECKS

        instance.add_dynamic_partitions("stop_files", [key])
        return dg.materialize(
            [*ROUTE_ASSETS, *ROUTE_CHECKS],
            resources=resources,
            instance=instance,
            partition_key=key,
            run_config=run_config,
            selection=selection,
            raise_on_error=False,
        )

    return run
