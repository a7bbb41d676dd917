"""Loads in several units (issue 19): parcels (``demand``'s synonym), kilograms and litres.

A carrier counts some orders in parcels, some in kilograms and some in litres; a van is full in whichever unit it
fills first. A stop's ``weight_kg`` and ``volume_l`` (decimals allowed) and a vehicle type's
``capacity_weight_kg`` and ``capacity_volume_l`` become load dimensions of the routing model in tenths (so 12.5 kg
is exact in the engines' integers); a file that uses none of them plans exactly as before.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MAX_LOAD = 1_000_000.0  # kg or litres on one stop: far above any parcel, far below what overflows the engines
LOAD_SCALE = 10  # engine units per kg or litre


@dataclass(frozen=True)
class LoadUnit:
    column: str  # the stop file's column
    capacity_column: str  # the fleet file's column
    unit: str  # as reports print it

    def scaled(self, value: float | None) -> int:
        """The engines' integer amount: tenths, rounded up (a 0.05 kg parcel still weighs something)."""
        return 0 if not value else math.ceil(round(value * LOAD_SCALE, 6))

    def text(self, scaled: int) -> str:
        return f"{scaled / LOAD_SCALE:g} {self.unit}"


WEIGHT = LoadUnit("weight_kg", "capacity_weight_kg", "kg")
VOLUME = LoadUnit("volume_l", "capacity_volume_l", "L")
LOAD_UNITS = (WEIGHT, VOLUME)
