"""One vehicle palette for the map, the GeoJSON and the driver pack.

A planner cross-checks the PDF against the map by colour, so every export must give V03 the same colour.
The colours come from the Okabe-Ito and Paul Tol palettes, chosen to stay distinguishable under the common
colour-vision deficiencies and against a white background; grey is left out because it marks dropped stops.
"""

from __future__ import annotations

PALETTE: tuple[str, ...] = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#D55E00",  # vermillion
    "#56B4E9",  # sky blue
    "#332288",  # indigo
    "#999933",  # olive
    "#882255",  # wine
    "#44AA99",  # teal
)

DROPPED_COLOR = "#8C8C8C"
DEPOT_COLOR = "#000000"


def vehicle_color(vehicle_number: int) -> str:
    """Colour of a 1-based vehicle number; fleets larger than the palette reuse it in order."""
    return PALETTE[(vehicle_number - 1) % len(PALETTE)]
