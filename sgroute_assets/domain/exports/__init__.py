"""Every file a planner or driver takes away from a plan, rendered from the RoutePlan alone.

Plain Python (no Dagster) so the assets, the CLI and the tests produce byte-for-byte the same files.
"""

from __future__ import annotations

from ..routing import RoutePlan, plan_title
from ._format import csv_bytes
from .changes_csv import CHANGES_COLUMNS, change_notice, changes_csv
from .colors import vehicle_color
from .day_index import PublishedPlan, day_index_html
from .driver_csv import driver_csvs
from .driver_pack_pdf import driver_pack_pdf
from .dropped_csv import dropped_csv, unplanned_csv
from .navigation import google_maps_url, navigation_links, waze_url
from .notifications_csv import NOTIFICATION_COLUMNS, eta_window, notifications_csv
from .plan_page import plan_page_html
from .planner_csv import planner_csv
from .route_geojson import route_geojson, route_geojson_bytes
from .route_map import route_map_png, route_map_preview, route_map_thumbnail
from .route_map_html import route_map_html
from .validation_csv import VALIDATION_COLUMNS, plan_validation_csv, validation_issues_csv

__all__ = [
    "NOTIFICATION_COLUMNS",
    "eta_window",
    "google_maps_url",
    "navigation_links",
    "notifications_csv",
    "waze_url",
    "CHANGES_COLUMNS",
    "change_notice",
    "changes_csv",
    "VALIDATION_COLUMNS",
    "PublishedPlan",
    "csv_bytes",
    "day_index_html",
    "driver_csvs",
    "driver_pack_pdf",
    "dropped_csv",
    "plan_page_html",
    "planner_csv",
    "render_exports",
    "route_geojson",
    "route_geojson_bytes",
    "route_map_html",
    "route_map_png",
    "route_map_preview",
    "route_map_thumbnail",
    "unplanned_csv",
    "validation_issues_csv",
    "vehicle_color",
]


def render_exports(plan: RoutePlan, *, title: str | None = None) -> dict[str, bytes]:
    """File name -> contents; the map is drawn once and the same image goes into the PDF.

    Every file names the plan (id, day, depot, shift) so a sheet can always be matched to its plan.
    """
    title = title or plan_title(plan)
    map_png = route_map_png(plan, title=title)
    files = {
        "planner.csv": planner_csv(plan),
        "dropped_stops.csv": dropped_csv(plan),
        "unplanned_stops.csv": unplanned_csv(plan),
        "validation_issues.csv": plan_validation_csv(plan),
        "changes.csv": changes_csv(plan),
        "customer_notifications.csv": notifications_csv(plan),
        "routes.geojson": route_geojson_bytes(plan),
        "route_map.png": map_png,
        "route_map.html": route_map_html(plan, title=title),
        "plan.html": plan_page_html(plan, title=title).encode("utf-8"),
        "driver_pack.pdf": driver_pack_pdf(plan, title=title, map_png=map_png),
    }
    for vehicle_id, data in driver_csvs(plan).items():
        files[f"drivers/{vehicle_id}.csv"] = data
    return files
