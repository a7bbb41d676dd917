"""Skills: a stop's ``requires`` (chiller, tailgate) against the fleet's ``skills`` (issue 19).

The rule itself is one more field of the routing model (``VrptwInstance.allowed_types``: a stop goes only on a
vehicle type with every skill it requires), which every engine and the independent check obey. This module is
the part a planner reads before any solve: a stop requiring a skill no vehicle of the fleet has is a validation
error at its row and ``requires`` column (the fleet is only known once the plan's fleet file or Launchpad
settings are read), and the stop is dropped as ``skill`` rather than left to look like a full fleet.
"""

from __future__ import annotations

from ..stops import Issue, Stop
from .fleet import Fleet


def missing_skill_issues(fleet: Fleet, stops: list[Stop], file: str) -> list[Issue]:
    """One error per stop that no vehicle type can serve for want of a skill, naming what the fleet has."""
    have = ", ".join(f"{t.name}: {';'.join(t.skills) or 'none'}" for t in fleet.vehicle_types)
    out = []
    for stop in stops:
        if stop.requires and not fleet.skilled_types(stop.requires):
            missing = sorted(set(stop.requires) - fleet.skills())
            if missing:
                message = f"no vehicle has {', '.join(missing)}"
            else:
                message = f"no one vehicle has all of {', '.join(stop.requires)}"
            out.append(Issue(file, stop.row, "requires", f"{message} (the fleet's skills: {have})", stop.sheet))
    return out
