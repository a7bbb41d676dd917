"""Files for planners and drivers, published as a whole beside the partition, always in step with the plan.

`route_exports` follows every new `route_plan` materialisation on its own (declarative automation, see
exports_sensor.py), so a plan re-made from the UI never leaves the old planner.csv, PDF or driver sheets
behind. The `exports_match_plan` check compares the published manifest with the current plan.
"""

from typing import Any

import dagster as dg

from sgroute_assets.asset_groups import GROUP
from sgroute_assets.domain.exports import render_exports
from sgroute_assets.domain.exports.route_geojson import plan_info
from sgroute_assets.domain.routing import RoutePlan
from sgroute_assets.partitions import stop_files
from sgroute_assets.route_planning.export_index import refresh_export_index
from sgroute_assets.route_planning.plan_metadata import plan_metadata
from sgroute_resources.stop_file_store import REVISION_PREFIX, StopFileStore

EXPORTS_CHECK = "exports_match_plan"


def location(store: StopFileStore, uri: str) -> dg.MetadataValue:
    """A link the UI opens in a browser (bucket console, or `make dev`'s export server), else the path."""
    url = store.browser_url(uri)
    return dg.MetadataValue.url(url) if url else dg.MetadataValue.path(uri)


@dg.asset(
    partitions_def=stop_files,
    group_name=GROUP,
    kinds={"pdf", "csv"},
    # A new route_plan (from the sensor's job, the CLI or a re-materialisation in the UI) re-makes the exports.
    automation_condition=dg.AutomationCondition.eager(),
)
def route_exports(
    context: dg.AssetExecutionContext, route_plan: RoutePlan, stop_file_store: StopFileStore
) -> dg.Output[dict[str, str]]:
    """Planner CSV, a CSV per driver, every row not on a route, GeoJSON, the map and the PDF driver pack."""
    manifest = {"partition": context.partition_key, **plan_info(route_plan)}
    try:
        files = render_exports(route_plan)
        # The revision's own copy, kept when later revisions replace the current set (issue 18).
        files |= {f"{REVISION_PREFIX}{route_plan.revision:02d}/{name}": data for name, data in list(files.items())}
        written = stop_file_store.publish_if_newest(context.partition_key, files, manifest)
    except Exception as exc:
        # The stack goes to the step log; the run page opens on what happened. The previous exports are intact.
        context.log.exception("writing the exports failed")
        raise dg.Failure(
            description=f"exports for plan {route_plan.plan_id} could not be written ({type(exc).__name__}: {exc}); "
            "the previous exports are unchanged",
            metadata={"plan_id": route_plan.plan_id, "where": stop_file_store.describe()},
        ) from None
    if written is None:
        current = stop_file_store.read_export_manifest(context.partition_key) or {}
        newer = current.get("plan_id") or "a newer plan"
        context.log.warning(f"plan {route_plan.plan_id} is not published: plan {newer} was requested later")
        return dg.Output({}, metadata={"published": False, "superseded_by": str(newer), **plan_metadata(route_plan)})
    try:
        index = refresh_export_index(stop_file_store)
    except Exception:  # the plan's own exports are published; a stale index must not fail the run
        context.log.exception("rewriting the exports index failed; it is rewritten with the next exports")
        index = None
    # The dispatcher's page first: it is what the Dagster UI shows as the first link of the materialisation.
    metadata: dict[str, Any] = {"plan_page": location(stop_file_store, written["plan.html"])}
    if index:
        metadata["all_plans"] = location(stop_file_store, index)
    metadata.update(plan_metadata(route_plan))
    metadata.update(
        {
            "driver_pack": location(stop_file_store, written["driver_pack.pdf"]),
            "planner_csv": location(stop_file_store, written["planner.csv"]),
            "unplanned_stops_csv": location(stop_file_store, written["unplanned_stops.csv"]),
            "route_map_html": location(stop_file_store, written["route_map.html"]),
            "route_map": location(stop_file_store, written["route_map.png"]),
            "geojson": location(stop_file_store, written["routes.geojson"]),
            "manifest": location(stop_file_store, written["manifest.json"]),
            "changes_csv": location(stop_file_store, written["changes.csv"]),
            "drivers": dg.MetadataValue.md(
                " · ".join(
                    f"[{name.removeprefix('drivers/').removesuffix('.csv')}]({url})"
                    if (url := stop_file_store.browser_url(uri))
                    else f"{name} ({uri})"
                    for name, uri in written.items()
                    if name.startswith("drivers/")
                )
                or "no routes"
            ),
            "files": dg.MetadataValue.json(written),
        }
    )
    return dg.Output(written, metadata=metadata)


def _current_plan_id(instance: dg.DagsterInstance, partition_key: str) -> str | None:
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey("route_plan"), asset_partitions=[partition_key]), limit=1
    ).records
    if not records or records[0].asset_materialization is None:
        return None
    value = records[0].asset_materialization.metadata.get("plan_id")
    return str(value.value) if value is not None else None


def mark_exports_stale(context: dg.AssetExecutionContext, plan_id: str) -> None:
    """Record `exports_match_plan` as failed for the partition the moment a new plan is stored.

    Until route_exports follows (eager automation, or later in the same run), the exports on disk are the
    previous plan's; the check must not keep showing its last pass meanwhile. The evaluation is this run's (a
    runless one is stored once per partition for ever), so the check's own evaluation later in the run, or in
    the run that makes the exports, replaces it.
    """
    evaluation = dg.AssetCheckEvaluation(
        asset_key=dg.AssetKey("route_exports"),
        check_name=EXPORTS_CHECK,
        passed=False,
        severity=dg.AssetCheckSeverity.ERROR,
        description=f"plan {plan_id} is new; its exports are not published yet (route_exports follows it)",
        metadata={"current_plan_id": plan_id},
        partition=context.partition_key,
    )
    context.instance.report_dagster_event(
        dg.DagsterEvent(
            event_type_value=dg.DagsterEventType.ASSET_CHECK_EVALUATION.value,
            job_name=context.run.job_name,
            event_specific_data=evaluation,
            message=f"exports_match_plan on route_exports: {evaluation.description}",
        ),
        run_id=context.run_id,
    )


@dg.asset_check(
    asset=route_exports,
    name=EXPORTS_CHECK,
    partitions_def=stop_files,
    blocking=False,
    description="The published exports (their manifest) belong to the partition's current route plan.",
)
def exports_match_plan(context: dg.AssetCheckExecutionContext, stop_file_store: StopFileStore) -> dg.AssetCheckResult:
    key = context.partition_key
    current = _current_plan_id(context.instance, key)
    manifest = stop_file_store.read_export_manifest(key) or {}
    published = manifest.get("plan_id")
    passed = current is not None and published == current
    if passed:
        description = f"exports are from plan {current}, the current plan"
    elif current is None:
        description = "the partition has no route plan yet"
    elif not published:
        description = f"no exports are published for plan {current}; materialise route_exports"
    else:
        description = f"exports are from plan {published} but the current plan is {current}; re-run route_exports"
    return dg.AssetCheckResult(
        passed=passed,
        severity=dg.AssetCheckSeverity.ERROR,
        description=description,
        metadata={"current_plan_id": current or "", "exports_plan_id": published or ""},
    )
