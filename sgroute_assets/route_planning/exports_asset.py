"""Files for planners and drivers, written to the stop file store beside the partition."""

from typing import Any

import dagster as dg

from sgroute_assets.domain.exports import render_exports
from sgroute_assets.domain.route_plan import RoutePlan
from sgroute_assets.partitions import stop_files
from sgroute_assets.route_planning.plan_metadata import plan_metadata
from sgroute_assets.stop_intake.assets import GROUP
from sgroute_resources.stop_file_store import StopFileStore


def location(uri: str) -> dg.MetadataValue:
    """Bucket objects as links (the UI opens them), local files as paths."""
    if uri.startswith("gs://"):
        return dg.MetadataValue.url("https://storage.cloud.google.com/" + uri.removeprefix("gs://"))
    return dg.MetadataValue.path(uri)


@dg.asset(partitions_def=stop_files, group_name=GROUP, kinds={"pdf", "csv"})
def route_exports(
    context: dg.AssetExecutionContext, route_plan: RoutePlan, stop_file_store: StopFileStore
) -> dg.Output[dict[str, str]]:
    """Planner CSV, a CSV per driver, every row not on a route, GeoJSON, the map and the PDF driver pack."""
    files = render_exports(route_plan)
    written = {name: stop_file_store.write_export(context.partition_key, name, data) for name, data in files.items()}
    metadata: dict[str, Any] = plan_metadata(route_plan)
    metadata.update(
        {
            "planner_csv": location(written["planner.csv"]),
            "unplanned_stops_csv": location(written["unplanned_stops.csv"]),
            "driver_pack": location(written["driver_pack.pdf"]),
            "route_map": location(written["route_map.png"]),
            "geojson": location(written["routes.geojson"]),
            "files": dg.MetadataValue.json(written),
        }
    )
    return dg.Output(written, metadata=metadata)
