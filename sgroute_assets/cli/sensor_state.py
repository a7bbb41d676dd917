"""The daemon's cursor of ``stop_file_sensor``, read and written by the CLI's own ticks.

`sgroute demo` and `sgroute plan` tick the real sensor in this process. If they kept their cursor to
themselves, the daemon of `make dev` (same DAGSTER_HOME) would start from an empty cursor and plan every file
the CLI had already planned. So the CLI ticks from the cursor the daemon keeps, and stores what it handled
back where the daemon looks: the instance's instigator state for this sensor, found by the same selector the
daemon uses (code location name from workspace.yaml, Dagster's repository name for a ``Definitions``, the
sensor's name). A state the daemon already wrote is updated in place; otherwise one is added with the status
"declared in code", so the sensor's default (running) still applies in the UI.
"""

from __future__ import annotations

import dagster as dg
from dagster._core.definitions.sensor_definition import SensorType
from dagster._core.remote_origin import RegisteredCodeLocationOrigin, RemoteInstigatorOrigin, RemoteRepositoryOrigin
from dagster._core.scheduler.instigation import (
    InstigatorState,
    InstigatorStatus,
    InstigatorType,
    SensorInstigatorData,
)

from sgroute_assets.stop_intake.stop_file_sensor import SensorCursor

CODE_LOCATION = "sgroute"  # workspace.yaml's location_name and [tool.dagster] code_location_name
REPOSITORY = "__repository__"  # the repository Dagster makes of a Definitions object
SENSOR = "stop_file_sensor"


def _origin() -> RemoteInstigatorOrigin:
    return RemoteInstigatorOrigin(
        repository_origin=RemoteRepositoryOrigin(
            code_location_origin=RegisteredCodeLocationOrigin(location_name=CODE_LOCATION),
            repository_name=REPOSITORY,
        ),
        instigator_name=SENSOR,
    )


def stored_sensor_state(instance: dg.DagsterInstance) -> InstigatorState | None:
    """The daemon's stored state of stop_file_sensor (None before its first tick)."""
    origin = _origin()
    selector_id = InstigatorState(origin, InstigatorType.SENSOR, InstigatorStatus.DECLARED_IN_CODE).selector_id
    return instance.get_instigator_state(origin.get_id(), selector_id)


def daemon_cursor(instance: dg.DagsterInstance) -> str | None:
    """The cursor the daemon's next tick would start from (None before any tick)."""
    state = stored_sensor_state(instance)
    data = state.instigator_data if state is not None else None
    return data.cursor if isinstance(data, SensorInstigatorData) else None


def store_cursor(instance: dg.DagsterInstance, cursor: str | None, only_names: set[str] | None = None) -> None:
    """Keep ``cursor`` for the daemon. With ``only_names``, take from it just those files' entries and leave the
    rest of the stored cursor as it was: `sgroute plan` plans one file, and must not mark others as handled."""
    stored = stored_sensor_state(instance)
    previous = daemon_cursor(instance)
    if only_names is not None:
        merged, new = SensorCursor.load(previous), SensorCursor.load(cursor)
        for name in only_names:
            if name in new.files:
                merged.files[name] = new.files[name]
        cursor = merged.dump()
    if stored is None:
        instance.add_instigator_state(
            InstigatorState(
                _origin(),
                InstigatorType.SENSOR,
                InstigatorStatus.DECLARED_IN_CODE,
                SensorInstigatorData(cursor=cursor, sensor_type=SensorType.STANDARD),
            )
        )
        return
    data = stored.instigator_data
    if isinstance(data, SensorInstigatorData):
        data = _with_cursor(data, cursor)
    else:
        data = SensorInstigatorData(cursor=cursor, sensor_type=SensorType.STANDARD)
    instance.update_instigator_state(stored.with_data(data))


def _with_cursor(data: SensorInstigatorData, cursor: str | None) -> SensorInstigatorData:
    return SensorInstigatorData(
        last_tick_timestamp=data.last_tick_timestamp,
        last_run_key=data.last_run_key,
        min_interval=data.min_interval,
        cursor=cursor,
        last_tick_start_timestamp=data.last_tick_start_timestamp,
        last_sensor_start_timestamp=data.last_sensor_start_timestamp,
        sensor_type=data.sensor_type,
        last_tick_success_timestamp=data.last_tick_success_timestamp,
    )
