"""One dynamic partition per stop file; the sensor adds them as files arrive."""

import dagster as dg

stop_files = dg.DynamicPartitionsDefinition(name="stop_files")


def run_requested_at(context: dg.AssetExecutionContext) -> float | None:
    """When this run was requested (created), in epoch seconds: the order of a partition's runs.

    Two runs of one file may overlap and finish in either order; the app tables and exports keep the one
    requested last (partition_records.newer_plan, the export store's publish_if_newest).
    """
    record = context.instance.get_run_record_by_id(context.run_id)
    return record.create_timestamp.timestamp() if record is not None else None


def plan_id_of(run_id: str) -> str:
    """A plan's id: the first block of the run that made it, short enough to print on a driver's sheet and
    enough to find the run in the UI's search."""
    return run_id.split("-")[0]
