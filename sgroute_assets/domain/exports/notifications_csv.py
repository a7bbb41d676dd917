"""``customer_notifications.csv``: one message per customer with a phone, ready for an SMS tool (issue 19).

Each served stop still ahead gets its E.164 phone, a 30-minute arrival window around its ETA (the ETA rounded to
5 minutes, 15 minutes either side: customers are told a window, never a minute) and a short message naming the
day, the window and the stop. Stops without a phone are left out (an SMS tool cannot use them); done visits of a
re-plan are left out (they have their parcel).
"""

from __future__ import annotations

from ..routing import RoutePlan, day_label
from ..stops import format_clock
from ._format import PLAN_COLUMNS, csv_bytes, plan_values

NOTIFICATION_COLUMNS = (
    "stop_ref",
    "contact_name",
    "phone",
    "window_start",
    "window_end",
    "vehicle",
    "message",
    *PLAN_COLUMNS,
)
HALF_WINDOW_MIN = 15
ROUND_MIN = 5


def eta_window(service_start_s: int) -> tuple[int, int]:
    """The window told to the customer, minutes after midnight: the ETA rounded to 5 minutes, +- 15."""
    minutes = service_start_s / 60
    centre = int(ROUND_MIN * round(minutes / ROUND_MIN))
    return centre - HALF_WINDOW_MIN, centre + HALF_WINDOW_MIN


def notification_rows(plan: RoutePlan) -> list[tuple[str, ...]]:
    on_plan = plan_values(plan)
    day = day_label(plan.plan_date)
    out = []
    for route in plan.routes:
        for visit in route.visits:
            stop = visit.stop
            if not stop.phone or not stop.phone.startswith("+") or visit.status != "planned":
                continue
            start, end = (format_clock(m) or "" for m in eta_window(visit.service_start_s))
            greeting = f"Hello {stop.contact_name}, your" if stop.contact_name else "Your"
            when = f" on {day}" if day else ""
            message = (
                f"{greeting} delivery {stop.stop_ref} from {plan.fleet.depot_name} is planned{when} between "
                f"{start} and {end}."
            )
            out.append((stop.stop_ref, stop.contact_name or "", stop.phone, start, end, route.vehicle_id, message,
                        *on_plan))  # fmt: skip
    return out


def notifications_csv(plan: RoutePlan) -> bytes:
    return csv_bytes(NOTIFICATION_COLUMNS, notification_rows(plan))
