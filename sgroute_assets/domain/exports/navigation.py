"""Links a driver taps to navigate to a stop: Google Maps directions and Waze, to the stop's coordinates.

Built from the coordinates alone (numbers, six decimals), never from file text, so a link can only ever point
at Google Maps or Waze; the driver sheets, the PDF (clickable) and the map's popups all use these two.
"""

from __future__ import annotations


def google_maps_url(lat: float, lon: float) -> str:
    return f"https://www.google.com/maps/dir/?api=1&destination={lat:.6f},{lon:.6f}"


def waze_url(lat: float, lon: float) -> str:
    return f"https://waze.com/ul?ll={lat:.6f},{lon:.6f}&navigate=yes"


def navigation_links(lat: float | None, lon: float | None) -> tuple[str, str]:
    """(Google Maps, Waze), blank without coordinates."""
    if lat is None or lon is None:
        return "", ""
    return google_maps_url(lat, lon), waze_url(lat, lon)
