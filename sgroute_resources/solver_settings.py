"""How hard the VRPTW solver works: a resource so operations can tune it per environment."""

from dagster import ConfigurableResource

from sgroute_assets.domain.vrptw_model import FIRST_SOLUTION_STRATEGIES, SolverSettings


class RoutingSolver(ConfigurableResource):
    time_limit_s: float = 10.0
    first_solution: str = "parallel_cheapest_insertion"

    def settings(self, time_limit_s: float | None = None) -> SolverSettings:
        if self.first_solution not in FIRST_SOLUTION_STRATEGIES:
            known = ", ".join(FIRST_SOLUTION_STRATEGIES)
            raise ValueError(f"unknown first_solution '{self.first_solution}'; choose one of {known}")
        limit = self.time_limit_s if time_limit_s is None else time_limit_s
        if limit <= 0:
            raise ValueError("the solver time limit must be positive")
        return SolverSettings(time_limit_s=limit, first_solution=self.first_solution)
