"""route_plan's re-plan during the day (issue 18): the progress file beside the stop file laid over the
partition's newest revision, planned by domain/routing/replan.py, each revision explained.

A partition re-plans from progress whenever ``<stop file>.progress.csv`` (or ``.xlsx``) is beside its stop
file and a revision exists; later runs (a fleet change, a re-upload with urgent stops, an ``.add`` file) re-plan
from the same picture. The inputs that make a re-plan are fingerprinted: the same picture over the same file
version, mode and fleet makes no new revision (``sgroute replan`` twice, the same progress file re-uploaded).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import dagster as dg

from sgroute_assets.domain.routing import (
    MODES,
    PROGRESS_MARK,
    DayProgress,
    Fleet,
    ReplanOptions,
    Revision,
    RoutePlan,
    day_state,
    parse_progress_file,
    progress_from_config,
    replan_day,
    van_points,
)
from sgroute_assets.domain.stops import Stop, ValidationReport, find_sidecar, format_clock
from sgroute_assets.domain.travel_times import TravelMatrix, with_extra_nodes
from sgroute_assets.route_planning.planning_config import FleetConfig, clock_minutes
from sgroute_resources.stop_file_store import StopFileStore
from sgroute_resources.travel_times import TravelTimes

# Run tags the sensor sets on a sidecar's re-run (stop_file_sensor): what a fresh plan's revision says it is for.
SIDECAR_REASONS = {"fleet": "fleet change", "sequence": "planner's sequence", "overrides": "location overrides"}


@dataclass(frozen=True)
class ProgressInput:
    name: str
    data: bytes
    progress: DayProgress


def find_progress(
    store: StopFileStore | None, report: ValidationReport, fleet: Fleet, config: FleetConfig
) -> ProgressInput | None:
    """The Launchpad's progress rows, else the progress file beside the stop file, checked against the fleet and
    every stop_ref of the file; any problem fails the run with all of them (a re-plan from half a picture moves
    delivered parcels)."""
    given = clock_minutes(config.replan_at, "replan_at") if config.replan_at.strip() else None
    refs = [r.stop_ref for r in report.rows if r.stop_ref]
    if config.progress:
        rows = [row.model_dump() for row in config.progress]
        name, data = "config (progress)", json.dumps(rows, sort_keys=True).encode()
        progress = progress_from_config(rows, fleet, refs, given)
    else:
        if store is None or not report.file:
            return None
        found = find_sidecar(store, report.file, PROGRESS_MARK)
        if found is None:
            return None
        name, data = found
        progress = parse_progress_file(name, data, fleet, refs, given)
    if progress.issues:
        raise dg.Failure(description="progress file problems:\n" + "\n".join(f"- {i}" for i in progress.issues[:50]))
    return ProgressInput(name, data, progress)


def fingerprint(found: ProgressInput, report: ValidationReport, fleet: Fleet, config: FleetConfig) -> str:
    """What a re-plan is made from: progress content, file version, mode, retry rule and fleet."""
    parts = {
        "progress": hashlib.sha256(found.data).hexdigest(),
        "as_of": found.progress.as_of_min,
        "file": report.source_version,
        "mode": config.replan_mode,
        "retry": config.retry_after_min,
        "fleet": repr(fleet),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:32]


def options_from_config(config: FleetConfig, found: ProgressInput, digest: str) -> ReplanOptions:
    if config.replan_mode not in MODES:
        raise dg.Failure(description=f"replan_mode '{config.replan_mode}' is not one of {', '.join(MODES)}")
    try:
        return ReplanOptions(config.replan_mode, config.retry_after_min, found.name, digest)
    except ValueError as exc:
        raise dg.Failure(description=f"re-plan settings: {exc}") from None


def matrix_with_vans(matrix: TravelMatrix, points, travel_times: TravelTimes) -> TravelMatrix:
    """The plan's matrix with the vans' reported positions after the fleet's points, from the same source."""

    def build(ids, lats, lons, timing):
        return travel_times.matrix(ids, lats, lons, depot_name=matrix.depot_name, timing=timing)

    return with_extra_nodes(
        matrix, [node for node, _ in points], [p.lat for _, p in points], [p.lon for _, p in points], build
    )


def replan_from_progress(
    fleet: Fleet,
    located: list[Stop],
    matrix: TravelMatrix,
    previous: Revision,
    found: ProgressInput,
    options: ReplanOptions,
    travel_times: TravelTimes,
    settings,
    weights,
    progress_log,
    log,
) -> RoutePlan:
    day = day_state(fleet, previous, found.progress, located)
    points = van_points(day)
    for node, point in points:
        log.info(f"{node}: {point.name} ({point.lat:.5f}, {point.lon:.5f})")
    full = matrix_with_vans(matrix, points, travel_times)
    log.info(
        f"re-plan at {format_clock(day.as_of_min)} from {found.name} after revision {previous.number}, mode "
        f"{options.mode}: {len(day.frozen_refs())} visits are history, {len(day.unassigned)} stops on no van"
    )
    plan = replan_day(fleet, located, full, previous, day, options, settings, weights, progress_log)
    return plan


def revision_reason(plan: RoutePlan, previous: Revision | None, tags: dict[str, str]) -> str:
    """Why this revision exists, in a few words for the revision list and changes.csv's readers."""
    if previous is None:
        return "initial"
    replan = plan.replan
    if replan is not None:
        parts = [f"progress at {format_clock(replan.as_of_min)}"]
        if replan.new_served or any(why.startswith("urgent") for _, why in replan.reasons):
            parts.append("urgent stops")
        parts += [f"{van} off" for van in replan.vans_off]
        kind = next((k for k in SIDECAR_REASONS if tags.get(f"sgroute/{k}")), None)
        if kind:
            parts.append(SIDECAR_REASONS[kind])
        return ", ".join(parts)
    kind = next((k for k in SIDECAR_REASONS if tags.get(f"sgroute/{k}")), None)
    return SIDECAR_REASONS[kind] if kind else "re-planned from the stop file"
