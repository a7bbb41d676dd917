"""What the route_plan and route_exports pages show, in the order a dispatcher reads it.

The UI lists metadata in insertion order, so the summary (day, every row accounted for, the full-width map,
the per-route tables) comes first, then the row counts, then the table of rows not on a route.
"""

from __future__ import annotations

from typing import Any

import dagster as dg

from sgroute_assets.domain.exports.route_map import route_map_preview
from sgroute_assets.domain.markdown import md_text
from sgroute_assets.domain.plan_summary import plan_markdown
from sgroute_assets.domain.route_plan import RoutePlan


def plan_metadata(plan: RoutePlan, *, map_png: bytes | None = None) -> dict[str, Any]:
    preview = map_png if map_png is not None else route_map_preview(plan)
    metadata: dict[str, Any] = {
        "summary": dg.MetadataValue.md(plan_markdown(plan, map_png=preview)),
        "plan_id": plan.plan_id,
        "plan_date": plan.plan_date or "",
        "data_version": plan.data_version or "",
        **plan.totals(),
        "unplanned_stops": dg.MetadataValue.table(
            records=[
                dg.TableRecord(
                    {
                        "row": u.row,
                        "stop_ref": md_text(u.stop_ref or ""),
                        "status": u.status,
                        "reason": u.reason,
                        "message": md_text(u.message),
                    }
                )
                for u in plan.unplanned()
            ],
            schema=dg.TableSchema(
                columns=[
                    dg.TableColumn("row", "int"),
                    dg.TableColumn("stop_ref", "string"),
                    dg.TableColumn("status", "string"),
                    dg.TableColumn("reason", "string"),
                    dg.TableColumn("message", "string"),
                ]
            ),
        ),
    }
    return metadata
