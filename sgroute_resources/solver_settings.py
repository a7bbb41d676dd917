"""How hard the VRPTW solver works and with which engine: a resource so operations can tune it per environment."""

import os

from dagster import ConfigurableResource
from pydantic import Field

from sgroute_assets.domain.routing import ENGINES, FIRST_SOLUTION_STRATEGIES, SolverSettings


class RoutingSolver(ConfigurableResource):
    time_limit_s: float = Field(
        default=10.0, description="Longest a plan may search (seconds, SGROUTE_SOLVER_TIME_LIMIT_S)."
    )
    engine: str = Field(
        default="auto",
        description="auto (PyVRP; OR-Tools when drivers have breaks), pyvrp or ortools (SGROUTE_SOLVER_ENGINE).",
    )
    first_solution: str = Field(
        default="parallel_cheapest_insertion", description="OR-Tools first-solution strategy (SGROUTE_FIRST_SOLUTION)."
    )
    stop_when_stalled: bool = Field(
        default=True, description="Stop before the time limit when the best plan has not improved for a while."
    )

    workers: int = Field(
        default=0,
        description="PyVRP searches run side by side on plans of 50+ stops: 0 = one per core (at most four), "
        "1 = a single search (SGROUTE_SOLVER_WORKERS).",
    )

    @classmethod
    def from_env(cls, default_time_limit_s: float) -> "RoutingSolver":
        """The solver every environment builds from its SGROUTE_SOLVER_* variables (only the default limit differs:
        short locally so `make demo` answers fast, longer in the cloud where plans run unattended)."""
        return cls(
            time_limit_s=float(os.environ.get("SGROUTE_SOLVER_TIME_LIMIT_S", str(default_time_limit_s))),
            first_solution=os.environ.get("SGROUTE_FIRST_SOLUTION", "parallel_cheapest_insertion"),
            engine=os.environ.get("SGROUTE_SOLVER_ENGINE", "auto"),
            workers=int(os.environ.get("SGROUTE_SOLVER_WORKERS", "0")),
        )

    def settings(self, time_limit_s: float | None = None, engine: str | None = None) -> SolverSettings:
        if self.first_solution not in FIRST_SOLUTION_STRATEGIES:
            known = ", ".join(FIRST_SOLUTION_STRATEGIES)
            raise ValueError(f"unknown first_solution '{self.first_solution}'; choose one of {known}")
        chosen = engine or self.engine
        if chosen not in ENGINES:
            raise ValueError(f"unknown solver engine '{chosen}'; choose one of {', '.join(ENGINES)}")
        limit = self.time_limit_s if time_limit_s is None else time_limit_s
        if limit <= 0:
            raise ValueError("the solver time limit must be positive")
        return SolverSettings(
            time_limit_s=limit,
            engine=chosen,
            first_solution=self.first_solution,
            stop_when_stalled=self.stop_when_stalled,
            workers=self.workers,
        )
