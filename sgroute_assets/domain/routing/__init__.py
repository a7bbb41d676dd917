"""From stops, a fleet and a travel matrix to a checked route plan: the instance, the engines (PyVRP,
OR-Tools, the portfolio), the plan's types, schedules, drop reasons, resequencing of planner-fixed routes,
verification on road legs and the accounting of every row.

What other rooms, the assets, resources and CLI may use; everything else is the room's own."""

from .balance import BALANCE_MODES
from .day_state import DayState, VanState, day_state
from .engines.ortools_engine import FIRST_SOLUTION_STRATEGIES
from .engines.search import ENGINES, Progress, SolverSettings
from .feasibility import InfeasiblePlanError
from .fleet import DEFAULT_TYPE_NAME, DepotPoint, Fleet, FleetError, VehicleBreak, VehicleType
from .fleet_file import FLEET_MARK, parse_fleet_file
from .instance import ObjectiveWeights
from .leg_verification import ExactLeg, LegAnswers, Pair, model_only, verify_plan
from .plan import plan_routes, solve_instance
from .plan_types import ReplanSummary, Route, RoutePlan, clock
from .progress import PROGRESS_MARK, DayProgress, parse_progress_file, progress_from_config
from .replan import MODES, ReplanOptions, replan_day, van_points
from .resequence import SequenceError, StopSequence, find_sequence, plan_with_sequence
from .revisions import CHANGE_COLUMNS, Revision, StopChange, changed_vehicles, numbered, plan_changes, revision_of
from .row_accounting import account_rows
from .skills import missing_skill_issues
from .summary import (
    accounting_text,
    day_label,
    eta_source_text,
    fleet_lines,
    load_text,
    plan_markdown,
    plan_title,
    shift_text,
    stop_windows_text,
    unplanned_address,
    validation_markdown,
    vehicle_label,
    window_text,
)
from .vrplib_instance import VrplibError, best_known_cost, load_vrptw, plan_cost

__all__ = [
    "BALANCE_MODES",
    "DayState",
    "VanState",
    "day_state",
    "PROGRESS_MARK",
    "DayProgress",
    "parse_progress_file",
    "progress_from_config",
    "MODES",
    "ReplanOptions",
    "ReplanSummary",
    "Revision",
    "CHANGE_COLUMNS",
    "numbered",
    "StopChange",
    "changed_vehicles",
    "plan_changes",
    "replan_day",
    "revision_of",
    "van_points",
    "DEFAULT_TYPE_NAME",
    "DepotPoint",
    "ENGINES",
    "ExactLeg",
    "FIRST_SOLUTION_STRATEGIES",
    "FLEET_MARK",
    "Fleet",
    "FleetError",
    "InfeasiblePlanError",
    "LegAnswers",
    "ObjectiveWeights",
    "Pair",
    "Progress",
    "Route",
    "RoutePlan",
    "SequenceError",
    "SolverSettings",
    "StopSequence",
    "VehicleBreak",
    "VehicleType",
    "VrplibError",
    "account_rows",
    "missing_skill_issues",
    "accounting_text",
    "best_known_cost",
    "clock",
    "day_label",
    "eta_source_text",
    "fleet_lines",
    "load_text",
    "find_sequence",
    "load_vrptw",
    "model_only",
    "parse_fleet_file",
    "plan_cost",
    "plan_markdown",
    "plan_routes",
    "plan_title",
    "plan_with_sequence",
    "shift_text",
    "stop_windows_text",
    "unplanned_address",
    "solve_instance",
    "validation_markdown",
    "vehicle_label",
    "verify_plan",
    "window_text",
]
