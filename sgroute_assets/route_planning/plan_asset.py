"""The optimised, independently checked route plan for a partition."""

from collections.abc import Callable, Iterator
from dataclasses import replace

import dagster as dg

from sgroute_assets.asset_groups import GROUP
from sgroute_assets.domain.routing import (
    BALANCE_MODES,
    DEFAULT_TYPE_NAME,
    FLEET_MARK,
    Fleet,
    FleetError,
    InfeasiblePlanError,
    ObjectiveWeights,
    Progress,
    RoutePlan,
    SequenceError,
    SolverSettings,
    StopSequence,
    VehicleBreak,
    VehicleType,
    account_rows,
    find_sequence,
    missing_skill_issues,
    model_only,
    parse_fleet_file,
    plan_routes,
    plan_with_sequence,
    verify_plan,
)
from sgroute_assets.domain.stops import GeocodedStops, Stop, ValidationReport, find_sidecar, parse_skills
from sgroute_assets.domain.travel_times import TravelMatrix, with_extra_nodes
from sgroute_assets.onemap_budget import onemap_budget
from sgroute_assets.partitions import plan_id_of, run_requested_at, stop_files
from sgroute_assets.route_planning.exports_asset import mark_exports_stale
from sgroute_assets.route_planning.plan_metadata import plan_metadata
from sgroute_assets.route_planning.planning_config import FleetConfig, VehicleTypeConfig, clock_minutes
from sgroute_assets.route_planning.replanning import (
    find_progress,
    fingerprint,
    options_from_config,
    replan_from_progress,
    revision_reason,
)
from sgroute_resources.app_database import AppDatabase
from sgroute_resources.partition_records import replace_plan
from sgroute_resources.plan_revisions import latest_revision, number_revision, record_revision
from sgroute_resources.solver_settings import RoutingSolver
from sgroute_resources.stop_file_store import StopFileStore
from sgroute_resources.travel_times import TravelTimes


def _default_type(config: FleetConfig, matrix: TravelMatrix) -> VehicleType:
    timing = matrix.timing
    if timing is None:
        raise dg.Failure(description="the travel matrix has no shift; re-materialise travel_time_matrix")
    return VehicleType(
        name=DEFAULT_TYPE_NAME,
        count=config.vehicles,
        capacity=config.capacity,
        shift_start_min=timing.shift_start_min,
        shift_end_min=timing.shift_end_min,
        max_route_min=config.max_route_minutes,
        fixed_cost_min=float(config.vehicle_fixed_cost_min),
    )


def _type_from_config(c: VehicleTypeConfig, default: VehicleType) -> VehicleType:
    skills, bad = parse_skills(c.skills)
    if bad:
        raise dg.Failure(description=f"vehicle type {c.name}: skills: '{bad[0]}' is not a skill name")
    brk = None
    if c.break_earliest or c.break_latest or c.break_minutes:
        if not (c.break_earliest and c.break_latest and c.break_minutes):
            raise dg.Failure(
                description=f"vehicle type {c.name}: a break needs break_earliest, break_latest and break_minutes"
            )
        brk = VehicleBreak(
            clock_minutes(c.break_earliest, "break_earliest"),
            clock_minutes(c.break_latest, "break_latest"),
            c.break_minutes,
        )
    return replace(
        default,
        name=c.name,
        count=c.count,
        capacity=default.capacity if c.capacity is None else c.capacity,
        shift_start_min=clock_minutes(c.shift_start, "shift_start") if c.shift_start else default.shift_start_min,
        shift_end_min=clock_minutes(c.shift_end, "shift_end") if c.shift_end else default.shift_end_min,
        max_route_min=default.max_route_min if c.max_route_minutes is None else c.max_route_minutes,
        fixed_cost_min=default.fixed_cost_min if c.fixed_cost_min is None else c.fixed_cost_min,
        start_lat=c.start_lat,
        start_lon=c.start_lon,
        end_lat=c.end_lat,
        end_lon=c.end_lon,
        break_=brk,
        skills=skills,
        max_stops=c.max_stops,
        capacity_weight_kg=c.capacity_weight_kg,
        capacity_volume_l=c.capacity_volume_l,
        max_overtime_min=c.max_overtime_min,
        overtime_cost_per_hour=c.overtime_cost_per_hour,
    )


def fleet_from_config(
    config: FleetConfig, matrix: TravelMatrix, store: StopFileStore | None = None, stop_file: str | None = None
) -> tuple[Fleet, str]:
    """The fleet and where it came from: the Launchpad's vehicle types, else the stop file's
    ``<name>.fleet.csv``, else the single default type; the depot and default shift from the matrix."""
    default = _default_type(config, matrix)
    source = "config (single type)"
    types: tuple[VehicleType, ...] = ()
    if config.vehicle_types:
        types = tuple(_type_from_config(c, default) for c in config.vehicle_types)
        source = "config (vehicle_types)"
    elif store is not None and stop_file:
        found = find_sidecar(store, stop_file, FLEET_MARK)
        if found is not None:
            fleet_file = parse_fleet_file(*found, default)
            if fleet_file.issues:
                raise dg.Failure(
                    description="fleet file problems:\n" + "\n".join(f"- {i}" for i in fleet_file.issues[:50])
                )
            types = tuple(fleet_file.types)
            source = found[0]
    try:
        fleet = Fleet(
            depot_lat=float(matrix.lats[0]),
            depot_lon=float(matrix.lons[0]),
            depot_name=matrix.depot_name,
            vehicles=default.count,
            capacity=default.capacity,
            shift_start_min=default.shift_start_min,
            shift_end_min=default.shift_end_min,
            max_route_min=default.max_route_min,
            vehicle_fixed_cost_s=config.vehicle_fixed_cost_min * 60,
            types=types,
        )
    except FleetError as exc:
        raise dg.Failure(description=f"fleet settings: {exc}") from None
    return fleet, source


def sequence_for_plan(
    config: FleetConfig,
    fleet: Fleet,
    validated: ValidationReport,
    geocoded: GeocodedStops,
    store: StopFileStore | None,
) -> StopSequence | None:
    """The planner's fixed routes: the Launchpad's ``sequence``, else ``<stop file>.sequence.csv``, else None.

    A sequence with problems fails the run with all of them, like a fleet file: half a planner's order is
    not what they asked for."""
    not_routable = {r.stop_ref: "invalid row" for r in validated.invalid_rows if r.stop_ref}
    not_routable |= {g.stop.stop_ref: g.reason or "not located" for g in geocoded.needs_attention}
    sequence = find_sequence(
        store,
        validated.file,
        fleet,
        [s.stop_ref for s in geocoded.located],
        not_routable,
        [(r.vehicle, list(r.stops)) for r in config.sequence],
    )
    if sequence is not None and sequence.issues:
        raise dg.Failure(description="sequence problems:\n" + "\n".join(f"- {i}" for i in sequence.issues[:50]))
    return sequence


def matrix_for_fleet(fleet: Fleet, matrix: TravelMatrix, travel_times: TravelTimes) -> TravelMatrix:
    """The travel matrix with the vehicle types' own start/end points after the stops.

    travel_time_matrix covers the depot and the stops; which types start or end elsewhere is only known here
    (from the Launchpad's vehicle_types or the stop file's fleet file), so their legs are asked from the same
    travel-time resource now, and the stop-to-stop cells stay the ones the matrix asset built and reported.
    """
    points = fleet.depot_points()
    if not points:
        return matrix

    def build(ids, lats, lons, timing):
        return travel_times.matrix(ids, lats, lons, depot_name=matrix.depot_name, timing=timing)

    return with_extra_nodes(
        matrix, [node for node, _ in points], [p.lat for _, p in points], [p.lon for _, p in points], build
    )


def objective_from_config(config: FleetConfig) -> ObjectiveWeights:
    if config.travel_weight < 0 or config.paid_time_weight < 0 or config.travel_weight + config.paid_time_weight == 0:
        raise dg.Failure(description="travel_weight and paid_time_weight must not be negative, nor both zero")
    return ObjectiveWeights(
        travel=config.travel_weight, paid_time=config.paid_time_weight, vehicles_first=config.vehicles_first
    )


def progress_logger(log) -> Callable[[Progress], None]:
    """Solver progress as run-log lines: the best cost so far and when it was found."""

    def report(p: Progress) -> None:
        if p.best_cost is None:
            log.info(f"{p.engine}: {p.elapsed_s:.1f} s, no feasible plan yet")
        else:
            log.info(f"{p.engine}: {p.elapsed_s:.1f} s, best cost {p.best_cost} found at {p.best_found_s:.1f} s")

    return report


def verify_on_roads(
    plan: RoutePlan,
    stops: list[Stop],
    matrix: TravelMatrix,
    settings: SolverSettings,
    weights: ObjectiveWeights,
    travel_times: TravelTimes,
    fixed_vehicles: set[int],
    log,
) -> RoutePlan:
    """The plan on OneMap's times for the legs it drives, repaired where they break it
    (domain/routing/leg_verification.py); without a road-time source (the embedded default) the plan only says
    its ETAs come from the model."""
    if not travel_times.verifies_legs:
        return model_only(plan)
    verified = verify_plan(
        plan,
        stops,
        matrix,
        settings,
        travel_times.verify_legs,
        weights=weights,
        fixed_vehicles=fixed_vehicles,
        budget=getattr(travel_times, "verify_budget", None),
    )
    v = verified.verification
    log.info(
        f"road legs: {v.legs_onemap} of {v.legs_driven} driven legs timed by OneMap ({v.onemap_calls} calls, "
        f"{v.legs_from_cache} from the cache), {v.rounds} round(s), {v.resolves} re-solve(s) in {v.time_s:.1f} s"
    )
    for leg in v.fallback_legs[:20]:
        log.warning(f"model time kept for {leg.origin} -> {leg.destination}: {leg.reason}")
    return verified


def verification_metadata(plan: RoutePlan) -> dict:
    """The road-time verification's figures on the route_plan page (eta_source alone without OneMap)."""
    v = plan.verification
    if v is None:
        return {"eta_source": plan.eta_source}
    return {
        "eta_source": v.eta_source,
        "share_legs_onemap": v.share_onemap,
        "legs_driven": v.legs_driven,
        "legs_onemap": v.legs_onemap,
        "verification": dg.MetadataValue.json(v.summary()),
    }


LEGS_CHECK = "legs_verified_on_roads"


def legs_check(plan: RoutePlan, verifies_legs: bool) -> dg.AssetCheckResult:
    """Whether every driven leg's time came from OneMap: a OneMap outage during verification leaves the model's
    times on some legs, which used to show only as "ETA source: model" on the page."""
    v = plan.verification
    if plan.replan is not None and verifies_legs:
        return replan_legs_check(verifies_legs)
    if v is None or not verifies_legs:
        passed, description = True, "OneMap is not configured here: ETAs come from the travel-time model by design"
    elif v.legs_onemap >= v.legs_driven:
        passed, description = True, f"all {v.legs_driven} driven legs timed by OneMap"
    else:
        reasons = sorted({leg.reason for leg in v.fallback_legs})[:3]
        passed = False
        description = (
            f"{v.legs_driven - v.legs_onemap} of {v.legs_driven} driven legs kept the model's time "
            f"({'; '.join(reasons) or 'OneMap did not answer'}): their ETAs are estimates"
        )
    figures = {"legs_driven": v.legs_driven, "legs_onemap": v.legs_onemap} if v is not None else {}
    return dg.AssetCheckResult(
        check_name=LEGS_CHECK, passed=passed, severity=dg.AssetCheckSeverity.WARN, description=description,
        metadata=figures,
    )  # fmt: skip


def replan_legs_check(verifies_legs: bool) -> dg.AssetCheckResult:
    """A re-plan during the day is not re-timed on OneMap's roads (its history is as reported and its vans start
    where they are; domain/routing/leg_verification.py re-times whole routes from the depot): say so."""
    if not verifies_legs:
        passed, description = True, "OneMap is not configured here: ETAs come from the travel-time model by design"
    else:
        passed = False
        description = (
            "a re-plan during the day times the stops ahead on the travel-time model (OneMap verifies morning "
            "plans' legs): its ETAs are estimates"
        )
    return dg.AssetCheckResult(
        check_name=LEGS_CHECK, passed=passed, severity=dg.AssetCheckSeverity.WARN, description=description
    )


@dg.asset(
    partitions_def=stop_files,
    group_name=GROUP,
    kinds={"pyvrp", "ortools"},
    # A re-plan from a progress picture already planned makes no new revision: nothing is materialised.
    output_required=False,
    check_specs=[
        dg.AssetCheckSpec(
            LEGS_CHECK,
            asset="route_plan",
            blocking=False,
            description="Every driven leg of the plan was timed on OneMap's roads; fails (warning) when OneMap "
            "could not be reached during verification and the model's times stand in.",
        )
    ],
)
def route_plan(
    context: dg.AssetExecutionContext,
    config: FleetConfig,
    validated_stops: ValidationReport,
    geocoded_stops: GeocodedStops,
    travel_time_matrix: TravelMatrix,
    solver: RoutingSolver,
    app_db: AppDatabase,
    stop_file_store: StopFileStore,
    travel_times: TravelTimes,
) -> Iterator[dg.Output[RoutePlan] | dg.AssetCheckResult]:
    """Routes from PyVRP or OR-Tools (optional visits, paid-time objective), verified before they are stored."""
    fleet, fleet_source = fleet_from_config(config, travel_time_matrix, stop_file_store, validated_stops.file)
    context.log.info(
        f"fleet from {fleet_source}: "
        + ", ".join(
            f"{t.count} x {t.name} (capacity {t.capacity}"
            + (f", break {t.break_.minutes} min" if t.break_ else "")
            + (", own start/end" if t.start_lat is not None or t.end_lat is not None else "")
            + ")"
            for t in fleet.vehicle_types
        )
    )
    located = geocoded_stops.located
    if [s.stop_ref for s in located] != travel_time_matrix.node_ids[1:]:
        raise dg.Failure(description="the travel matrix does not match the geocoded stops; re-materialise both")
    matrix = matrix_for_fleet(fleet, travel_time_matrix, travel_times)
    for node, point in fleet.depot_points():
        context.log.info(f"{point.name} ({point.lat:.5f}, {point.lon:.5f}) is matrix node {node}")
    try:
        settings = solver.settings(config.solver_time_limit_s, config.solver_engine)
    except ValueError as exc:
        raise dg.Failure(description=f"solver settings: {exc}") from None
    sequence = sequence_for_plan(config, fleet, validated_stops, geocoded_stops, stop_file_store)
    weights = objective_from_config(config)
    if config.balance not in BALANCE_MODES or config.balance_max_cost_increase_pct < 0:
        raise dg.Failure(
            description=f"balance '{config.balance}' must be one of {', '.join(BALANCE_MODES)}, with "
            "balance_max_cost_increase_pct 0 or more"
        )
    with app_db.session() as session:
        latest = latest_revision(session, context.partition_key)
    progress = find_progress(stop_file_store, validated_stops, fleet, config)
    if progress is not None and latest is None:
        context.log.warning(f"{progress.name} is not used: the partition has no plan yet to lay it over")
        progress = None
    try:
        if progress is not None:
            assert latest is not None
            digest = fingerprint(progress, validated_stops, fleet, config)
            if digest == latest.fingerprint:
                context.log.info(
                    f"{progress.name} with these settings already made revision {latest.revision.number}: "
                    "no new revision"
                )
                yield replan_legs_check(travel_times.verifies_legs)  # the same as that revision's
                return
            plan = replan_from_progress(
                fleet,
                located,
                matrix,
                latest.revision,
                progress,
                options_from_config(config, progress, digest),
                travel_times,
                settings,
                weights,
                progress_logger(context.log),
                context.log,
            )
            plan = model_only(plan)  # history and van positions are not road legs to re-time (see replan.py)
        elif sequence is not None:
            context.log.info(
                f"fixed routes from {sequence.source}: " + ", ".join(f.slot.label for f in sequence.routes)
            )
            plan = plan_with_sequence(
                fleet,
                located,
                matrix,
                sequence.routes,
                settings,
                weights,
                progress=progress_logger(context.log),
            )
        else:
            plan = plan_routes(
                fleet,
                located,
                matrix,
                settings,
                weights,
                progress=progress_logger(context.log),
                balance=config.balance,
                balance_max_increase=config.balance_max_cost_increase_pct / 100,
            )
            if plan.balance:
                context.log.info(f"balance: {plan.balance}")
        if progress is None:
            fixed = {f.slot.number for f in sequence.routes} if sequence is not None else set()
            with onemap_budget(context):
                plan = verify_on_roads(plan, located, matrix, settings, weights, travel_times, fixed, context.log)
    except SequenceError as exc:
        raise dg.Failure(description="sequence problems:\n" + "\n".join(f"- {p}" for p in exc.problems[:50])) from None
    except FleetError as exc:
        raise dg.Failure(description=f"fleet settings: {exc}") from None
    except InfeasiblePlanError as exc:
        # The run page opens on this sentence, not on a stack trace; the plan is not stored.
        raise dg.Failure(
            description=f"the solver's plan broke a constraint and was not stored: {'; '.join(exc.violations[:3])}",
            metadata={"violations": dg.MetadataValue.json(exc.violations[:50])},
        ) from None
    context.log.info(
        f"{plan.engine} stopped ({plan.stop_reason}) after {plan.solve_time_s:.1f} s of {plan.time_limit_s:g} s"
    )
    # Every row of the file accounted for, and the identity every export carries (the run that made the plan).
    plan = account_rows(
        plan,
        validated_stops,
        geocoded_stops,
        plan_id=plan_id_of(context.run_id),
        plan_date=travel_time_matrix.timing.plan_date if travel_time_matrix.timing else None,
    )
    reason = revision_reason(plan, latest.revision if latest is not None else None, context.run.tags)
    skill_errors = missing_skill_issues(fleet, located, validated_stops.file)
    for issue in skill_errors:  # validation errors the fleet reveals: listed with the file's own
        context.log.warning(issue.describe())
    plan = replace(
        plan,
        requested_at=run_requested_at(context),
        revision_reason=reason,
        validation_issues=plan.validation_issues + tuple(("error", i) for i in skill_errors),
    )
    with app_db.session() as session:  # this run's stops, geocoding, plan and revision, in one transaction
        plan = number_revision(session, context.partition_key, plan)
        newer = replace_plan(session, context.partition_key, plan, validated_stops, geocoded_stops)
        if newer is None:
            record_revision(session, context.partition_key, plan)
    if newer is None:
        mark_exports_stale(context, plan.plan_id)
    else:
        context.log.warning(
            f"plan {plan.plan_id} is kept as history only: plan {newer} of this partition was requested later and "
            "is the one in the app tables and exports"
        )
    for d in plan.dropped:
        context.log.info(f"dropped {d.stop.stop_ref} (row {d.stop.row}): {d.reason}: {d.message}")
    for line in plan.violations:
        context.log.warning(f"fixed route: {line}")
    metadata = plan_metadata(
        plan,
        fixed_routes=[f.slot.label for f in sequence.routes] if sequence is not None else None,
        sequence_source=sequence.source if sequence is not None else None,
    )
    metadata.update(verification_metadata(plan))
    yield dg.Output(plan, data_version=dg.DataVersion(plan.plan_id), metadata=metadata)
    yield legs_check(plan, travel_times.verifies_legs)
