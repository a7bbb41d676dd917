"""One file version is planned once, whoever launches it (issue 23): `sgroute plan` and the daemon of `make dev`
share the claim through the instance, as the run key (partition and file version) Dagster's sensor loop checks
before it launches a run."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg

from sgroute_assets.cli.partition_runs import RUN_KEY_TAG, SENSOR_NAME_TAG, run_partition
from sgroute_assets.cli.sensor_state import store_cursor, stored_sensor_state
from sgroute_assets.definitions import ROUTE_ASSETS, ROUTE_CHECKS
from sgroute_assets.route_planning.jobs import route_planning_job
from sgroute_assets.stop_intake.stop_file_sensor import version_run_key

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ELEVEN = "".join((REPO / "data" / "demo" / "orchard_central_deliveries.csv").read_text().splitlines(True)[:12])
FAST = {"ops": {"route_plan": {"config": {"solver_time_limit_s": 1.0}}}}


def _partition_runs(instance: dg.DagsterInstance, key: str) -> list[dg.DagsterRun]:
    return list(instance.get_runs(filters=dg.RunsFilter(tags={"dagster/partition": key})))


def test_the_cli_reports_a_version_the_daemon_planned_instead_of_planning_it_again(
    make_local_resources, app_db_url, tmp_path
) -> None:
    resources = make_local_resources(app_db_url)
    (tmp_path / "inbox" / "orders.csv").write_text(ELEVEN)
    defs = dg.Definitions(
        assets=ROUTE_ASSETS, asset_checks=ROUTE_CHECKS, jobs=[route_planning_job], resources=resources
    )
    key, run_key = "orders.csv", version_run_key("orders.csv", "v1")
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("stop_files", [key])
        # The daemon's run of this version, tagged as its sensor loop tags every run it launches.
        daemon = defs.resolve_job_def("route_planning_job").execute_in_process(
            instance=instance,
            partition_key=key,
            run_config=FAST,
            tags={RUN_KEY_TAG: run_key, SENSOR_NAME_TAG: "stop_file_sensor", "sgroute/source_name": key},
        )
        assert daemon.success
        outcome = run_partition(defs, instance, key, {"sgroute/source_name": key}, FAST, run_key)
        assert outcome.reused and outcome.success and outcome.run_id == daemon.run_id
        assert outcome.plan.plan_id == daemon.asset_value("route_plan").plan_id
        assert outcome.exports == daemon.asset_value("route_exports")
        assert len(_partition_runs(instance, key)) == 1, "the CLI planned the version again"
        # New settings are a deliberate re-plan: it runs, and claims the version for the daemon in turn.
        again = run_partition(defs, instance, key, {}, FAST, run_key, reuse_earlier=False)
        assert again.success and not again.reused and again.run_id != daemon.run_id
        tags = instance.get_run_by_id(again.run_id).tags
        assert tags[RUN_KEY_TAG] == run_key and tags[SENSOR_NAME_TAG] == "stop_file_sensor"


def test_the_daemon_does_not_plan_again_a_version_sgroute_plan_planned(tmp_path: Path) -> None:
    """The race of issue 23: the daemon's tick read the sensor cursor before `sgroute plan` stored its own, so
    the tick asks for the same file version; the daemon finds the CLI's run under that run key and skips it."""
    home = tmp_path / "home"
    home.mkdir()
    shutil.copyfile(REPO / "deploy" / "dagster-dev.yaml", home / "dagster.yaml")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "SGROUTE_INBOX": str(tmp_path / "inbox"),
        "SGROUTE_EXPORTS": str(tmp_path / "exports"),
        "SGROUTE_QUARANTINE": str(tmp_path / "quarantine"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
        "SGROUTE_INBOX_MIN_AGE_S": "0.2",
        "SGROUTE_SOLVER_TIME_LIMIT_S": "1",
    }
    source = tmp_path / "files" / "orders.csv"
    source.parent.mkdir()
    source.write_text(ELEVEN)
    planned = subprocess.run(
        [str(BIN / "sgroute"), "plan", str(source), "--json"], env=env, capture_output=True, text=True, timeout=300
    )
    assert planned.returncode == 0, planned.stderr[-3000:]
    plan_id = json.loads(planned.stdout)["plan_id"]

    with dg.DagsterInstance.from_config(str(home)) as instance:
        (cli_run,) = _partition_runs(instance, "orders.csv")
        run_key = cli_run.tags[RUN_KEY_TAG]
        assert cli_run.tags[SENSOR_NAME_TAG] == "stop_file_sensor" and run_key.startswith("orders.csv:")
        store_cursor(instance, None)  # the racing tick's view: this version not yet handled
        state = stored_sensor_state(instance)
        daemon = subprocess.Popen(
            [str(BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 180
            asked = None
            while asked is None and time.monotonic() < deadline and daemon.poll() is None:
                ticks = instance.get_ticks(state.instigator_origin_id, state.selector_id, limit=20)
                asked = next((t for t in ticks if run_key in (t.tick_data.run_keys or ()) and t.end_timestamp), None)
                time.sleep(0.5)
            assert asked is not None, "the daemon's sensor never asked for the version (or the daemon died)"
            assert list(asked.tick_data.run_ids or ()) == [], "the daemon launched a run for a planned version"
            time.sleep(2)  # a run it had launched would be in the instance by now
            assert [r.run_id for r in _partition_runs(instance, "orders.csv")] == [cli_run.run_id]
        finally:
            os.killpg(daemon.pid, signal.SIGTERM)
            try:
                daemon.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(daemon.pid, signal.SIGKILL)
    manifest = json.loads((tmp_path / "exports" / "orders.csv" / "manifest.json").read_text())
    assert manifest["plan_id"] == plan_id
