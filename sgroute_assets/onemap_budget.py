"""One OneMap budget per run: the steps that call OneMap (geocoding, the matrix, road-leg verification) open
their sessions inside ``onemap_budget(context)``, which counts SGROUTE_ONEMAP_RUN_DEADLINE_S from when the run
started (sgroute_resources/onemap_client.py). A queued run's wait in the queue does not count."""

import dagster as dg

from sgroute_resources.onemap_client import onemap_run


def run_started_at(context: dg.AssetExecutionContext) -> float | None:
    record = context.instance.get_run_record_by_id(context.run_id)
    if record is None:
        return None
    return record.start_time or record.create_timestamp.timestamp()


def onemap_budget(context: dg.AssetExecutionContext):
    return onemap_run(run_started_at(context))
