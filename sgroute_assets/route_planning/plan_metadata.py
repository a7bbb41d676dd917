"""What the route_plan and route_exports pages show, in the order a dispatcher reads it.

The UI lists metadata in insertion order, so the summary (day, every row accounted for, the full-width map,
the per-route tables) comes first, then the row counts, then the table of rows not on a route.
"""

from __future__ import annotations

from typing import Any

import dagster as dg

from sgroute_assets.domain.exports.route_map import route_map_preview
from sgroute_assets.domain.markdown import md_text
from sgroute_assets.domain.routing import RoutePlan, plan_markdown


def plan_metadata(
    plan: RoutePlan,
    *,
    map_png: bytes | None = None,
    fixed_routes: list[str] | None = None,
    sequence_source: str | None = None,
) -> dict[str, Any]:
    """``fixed_routes`` (vehicle labels) and ``sequence_source`` say which routes kept a planner's order."""
    preview = map_png if map_png is not None else route_map_preview(plan)
    # A re-plan leads with what changed (the dispatcher's first question is which drivers to call); a first plan
    # with its summary and map.
    revision = revision_metadata(plan)
    metadata: dict[str, Any] = dict(revision) if plan.revision > 1 else {}
    metadata |= {
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
    metadata |= revision
    if fixed_routes is not None:
        metadata["fixed_routes"] = dg.MetadataValue.md(
            (", ".join(md_text(label) for label in fixed_routes) or "none")
            + (f" (from {md_text(sequence_source)})" if sequence_source else "")
        )
    if fixed_routes is not None or plan.violations:
        metadata.update(violations_metadata(plan))
    return metadata


def violations_metadata(plan: RoutePlan) -> dict[str, Any]:
    """Per stop, what a planner's fixed order breaks (late, over capacity, past the shift): reported, not refused."""
    rows = [(route, visit, text) for route in plan.routes for visit in route.visits for text in visit.violations]
    return {
        "stops_with_violations": sum(1 for r in plan.routes for v in r.visits if v.violations),
        "violations": dg.MetadataValue.table(
            records=[
                dg.TableRecord(
                    {
                        "vehicle": route.vehicle_id,
                        "vehicle_name": md_text(route.vehicle_name),
                        "sequence": visit.sequence,
                        "stop_ref": md_text(visit.stop.stop_ref),
                        "violation": md_text(text),
                    }
                )
                for route, visit, text in rows
            ],
            schema=dg.TableSchema(
                columns=[
                    dg.TableColumn("vehicle", "string"),
                    dg.TableColumn("vehicle_name", "string"),
                    dg.TableColumn("sequence", "int"),
                    dg.TableColumn("stop_ref", "string"),
                    dg.TableColumn("violation", "string"),
                ]
            ),
        ),
    }


def revision_metadata(plan: RoutePlan) -> dict[str, Any]:
    """Revision 2 onwards: its number and reason, the changes table first, what the re-plan kept and moved."""
    if plan.revision <= 1 and not plan.changes:
        return {"revision": plan.revision, "revision_reason": plan.revision_reason}
    rows = [c.row() for c in plan.changes]
    out: dict[str, Any] = {
        "changes": dg.MetadataValue.md(changes_markdown(plan)),
        "revision": plan.revision,
        "revision_reason": plan.revision_reason,
        "stops_changed": len(rows),
    }
    if plan.replan is not None:
        out["replan"] = dg.MetadataValue.json(plan.replan.summary())
    return out


def changes_markdown(plan: RoutePlan, limit: int = 200) -> str:
    """The changes since the previous revision as a table (the first ``limit``; changes.csv has them all)."""
    head = f"**Revision {plan.revision}** ({md_text(plan.revision_reason)}): "
    if not plan.changes:
        return head + "no stop changed van, place or ETA by more than 5 minutes."
    lines = [
        head + f"{len(plan.changes)} stop(s) changed.",
        "",
        "| stop_ref | old van | new van | old # | new # | old ETA | new ETA | moved | why |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for change in plan.changes[:limit]:
        r = change.row()
        lines.append(
            "| "
            + " | ".join(
                md_text(r[k])
                for k in (
                    "stop_ref", "old_vehicle", "new_vehicle", "old_position", "new_position", "old_eta", "new_eta",
                    "eta_moved_min", "why",
                )
            )
            + " |"
        )  # fmt: skip
    if len(plan.changes) > limit:
        lines.append(f"\n... and {len(plan.changes) - limit} more in changes.csv")
    return "\n".join(lines)
