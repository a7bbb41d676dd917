"""Every failure has its reason (issues 23 and 24): `sgroute plan` on a file it cannot plan prints the plain
reason and exits 1, never a traceback; `sgroute db` on a bad URL says so in one line; two first runs at once do
not race the migration."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import inspect

from sgroute_resources import migrations
from sgroute_resources.app_database import engine_for

SGROUTE = Path(sys.executable).parent / "sgroute"
DEMO = Path(__file__).resolve().parents[1] / "data" / "demo"


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DAGSTER_HOME": str(tmp_path / "home"),
        "SGROUTE_INBOX": str(tmp_path / "inbox"),
        "SGROUTE_EXPORTS": str(tmp_path / "exports"),
        "SGROUTE_QUARANTINE": str(tmp_path / "quarantine"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
        **extra,
    }


def _sgroute(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(SGROUTE), *args], capture_output=True, text=True, timeout=300, env=_env(tmp_path, **env))


def test_plan_on_a_file_with_no_valid_row_prints_the_reason(tmp_path: Path) -> None:
    bad = tmp_path / "none_valid.csv"
    bad.write_text("stop_ref,address,postal_code,lat,lon,demand\nX1,,,1.30,103.85,-1\n")
    for extra in ((), ("--json",)):
        proc = _sgroute(tmp_path, "plan", str(bad), "--time-limit", "1", *extra)
        assert proc.returncode == 1, proc.stderr[-2000:]
        out = proc.stdout + proc.stderr
        assert "Traceback" not in out and "AttributeError" not in out, out[-3000:]
        assert "dagster._core" not in out and "blocking asset check" not in out, out[-3000:]  # the sentence alone
        assert "no valid stop row" in out and "demand" in out and "must not be negative" in out, out[-2000:]


def test_plan_with_a_bad_fleet_file_prints_the_fleet_problem(tmp_path: Path) -> None:
    source = tmp_path / "files" / "orders.csv"
    source.parent.mkdir()
    source.write_bytes((DEMO / "east_west_tight_windows.csv").read_bytes())
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "orders.fleet.csv").write_text("name,count,capacity\nVan,2,-5\n")
    proc = _sgroute(tmp_path, "plan", str(source), "--time-limit", "1")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out[-3000:]
    assert "Traceback" not in out and "AttributeError" not in out, out[-3000:]
    assert "fleet file problems" in out and "capacity" in out, out[-2000:]
    assert "dagster._core" not in out, out[-3000:]


def test_db_commands_on_a_bad_url_say_so_in_one_line(tmp_path: Path) -> None:
    for url, expected in (
        ("notaurl", "not a database URL"),
        ("postgresql+psycopg2://planner:s3cret-pw@127.0.0.1:1/routes", "cannot reach the database"),
    ):
        for command in ("current", "upgrade"):
            proc = _sgroute(tmp_path, "db", command, DATABASE_URL=url)
            assert proc.returncode == 2, proc.stderr
            assert "Traceback" not in proc.stderr and expected in proc.stderr, proc.stderr
            assert len(proc.stderr.strip().splitlines()) == 1 and "s3cret-pw" not in proc.stderr


def test_two_first_migrations_at_once_both_succeed(tmp_path: Path) -> None:
    for attempt in range(3):  # the race needs both to find the database empty: try it a few times
        url = f"sqlite:///{tmp_path / f'race{attempt}.db'}"
        with ThreadPoolExecutor(max_workers=2) as pool:
            results = [pool.submit(migrations.upgrade, url) for _ in range(2)]
            for result in results:
                result.result()  # raised "table alembic_version already exists" before the lock
        assert migrations.current(url) is not None
        assert inspect(engine_for(url)).has_table("stop_files")


def test_plan_has_an_overall_deadline(tmp_path: Path) -> None:
    """A run that cannot finish (here: a 120 s solver limit against a 4 s deadline) is ended with a reason."""
    import time

    started = time.monotonic()
    proc = _sgroute(
        tmp_path, "plan", str(DEMO / "east_west_tight_windows.csv"), "--time-limit", "120", "--timeout", "4"
    )
    assert proc.returncode == 124, (proc.returncode, proc.stderr[-2000:])
    assert "no result within 4 s (--timeout)" in proc.stderr and "Traceback" not in proc.stderr
    assert time.monotonic() - started < 60


def test_a_second_plan_of_a_file_already_in_the_inbox_replans_with_the_new_settings(tmp_path: Path) -> None:
    """Issue 23: `sgroute plan data/inbox/x.csv --vehicles 1` a second time said "the sensor did not take the
    file" (it had, the first time), although the README promises a re-plan with the new settings."""
    import json

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    name = "east_west_tight_windows.csv"
    (inbox / name).write_bytes((DEMO / name).read_bytes())
    first = _sgroute(tmp_path, "plan", str(inbox / name), "--time-limit", "1", "--json")
    assert first.returncode == 0, first.stderr[-2000:]
    again = _sgroute(tmp_path, "plan", str(inbox / name), "--time-limit", "1", "--vehicles", "1", "--json")
    assert again.returncode == 0, again.stderr[-2000:]
    out = json.loads(again.stdout)
    assert out["vehicles_used"] == 1 and out["plan_id"] != json.loads(first.stdout)["plan_id"]
