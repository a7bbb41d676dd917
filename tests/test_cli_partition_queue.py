"""`sgroute plan` waits for another run of the same stop file (issue 24: it bypassed the one-run-per-partition
queue, and whichever run finished last published). The queue in turn sees the CLI's run in the instance."""

from __future__ import annotations

import threading
import time
import uuid

import dagster as dg

from sgroute_assets.cli.partition_runs import wait_for_partition


def test_the_cli_waits_while_a_run_of_the_partition_is_in_flight() -> None:
    with dg.instance_for_test() as instance:
        other = dg.DagsterRun(
            job_name="route_planning_job",
            run_id=str(uuid.uuid4()),
            status=dg.DagsterRunStatus.STARTED,
            tags={"dagster/partition": "orders.csv"},
        )
        instance.add_run(other)
        said: list[str] = []
        done = threading.Event()
        waiter = threading.Thread(
            target=lambda: (wait_for_partition(instance, "orders.csv", poll_s=0.1, say=said.append), done.set())
        )
        waiter.start()
        assert not done.wait(1.0), "went ahead while another run of the file was in flight"
        assert said == [f"waiting for run {other.run_id[:8]} of orders.csv to finish (one run per file at a time)"]
        wait_for_partition(instance, "other.csv", poll_s=0.1, say=said.append)  # other files do not wait
        instance.report_run_canceled(instance.get_run_by_id(other.run_id))
        assert done.wait(10.0), "still waiting after the other run ended"
        waiter.join()
        started = time.monotonic()
        wait_for_partition(instance, "orders.csv", poll_s=0.1)
        assert time.monotonic() - started < 1.0
