"""Travel-time resources: how the matrix for a partition is estimated."""

from abc import abstractmethod

import numpy as np
from dagster import ConfigurableResource

from sgroute_assets.domain.routing import LegAnswers, Pair
from sgroute_assets.domain.travel_times import LegTiming, TravelMatrix, estimate_matrix


class TravelTimes(ConfigurableResource):
    @abstractmethod
    def matrix(
        self,
        node_ids: list[str],
        lats: np.ndarray,
        lons: np.ndarray,
        depot_name: str,
        timing: LegTiming | None = None,
    ) -> TravelMatrix:
        """Node 0 is the depot; ``timing`` lets time-aware sources predict each leg at its departure."""

    @property
    def verifies_legs(self) -> bool:
        """Whether :meth:`verify_legs` can time a plan's legs on real roads (OneMap); the model alone cannot."""
        return False

    def verify_legs(self, pairs: list[Pair], budget: int | None = None) -> LegAnswers:
        """Exact road times of ``pairs`` (a plan's driven legs), at most ``budget`` of them asked from the road
        service; a source without one answers nothing, with why, and the plan keeps the model's times."""
        return LegAnswers(failed={p: "no road-time source configured: the model's time" for p in pairs})


class CurveTravelTimes(TravelTimes):
    """The fitted haversine curve: good to ~12 % on real OneMap drive times, needs no service."""

    def matrix(
        self,
        node_ids: list[str],
        lats: np.ndarray,
        lons: np.ndarray,
        depot_name: str,
        timing: LegTiming | None = None,
    ) -> TravelMatrix:
        return estimate_matrix(node_ids, lats, lons, depot_name=depot_name)
