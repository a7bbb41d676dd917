"""One daemon-like tick of ``stop_file_sensor``, shared by every test that drives the sensor.

A directly evaluated sensor does not add the partitions it requests (the daemon does), so the tick applies them
as the daemon would; the context is a context manager because resources may be generators.
"""

from __future__ import annotations

import dagster as dg

from sgroute_assets.definitions import defs


def stop_file_tick(instance: dg.DagsterInstance, store, app_db, cursor: str | None = None) -> dg.SensorResult:
    with dg.build_sensor_context(
        instance=instance,
        instance_ref=instance.get_ref(),
        cursor=cursor,
        resources={"stop_file_store": store, "app_db": app_db},
        definitions=defs,
    ) as context:
        result = defs.resolve_sensor_def("stop_file_sensor").evaluate_tick(context)
    for request in result.dynamic_partitions_requests or []:
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    return result
