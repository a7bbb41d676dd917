"""When a file in the inbox folder is completely copied: two looks, at least SGROUTE_INBOX_MIN_AGE_S apart, that
see the same size and mtime (its stamp).

One look is not enough: a copy that stalls longer than the settle time looks old and whole, and was planned
half-way. The second look used to wait for the next tick (every 5 s), which cost a dropped file a whole extra
interval; now the tick that first sees a file sleeps out the settle time and looks again itself, when the settle
time is short enough for a tick (IN_TICK_SETTLE_MAX_S). Otherwise, or when the file changed between the looks,
a later tick decides. A bucket object is complete as soon as it is listed (an upload is atomic).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from sgroute_resources.stop_file_store import StopFileStore, StoredFile, inbox_min_age_s

SETTLED = "settled"  # take the file now
FIRST_LOOK = "first_look"  # seen (or seen changed) by this tick: look again once the settle time has passed
WAITING = "waiting"  # pending since an earlier tick, not yet long enough

# Longest settle time a tick sleeps out itself; a larger SGROUTE_INBOX_MIN_AGE_S is left to later ticks, so a
# tick stays far inside Dagster's 60 s sensor limit.
IN_TICK_SETTLE_MAX_S = 10.0


def settled(context, store: StopFileStore, files: dict[str, dict], stored: StoredFile, now: float) -> str:
    """SETTLED, FIRST_LOOK or WAITING for a listed file whose stamp is not the one last handled.

    ``files`` is the sensor cursor's per-name memory; a pending look is kept there as "pending" (the stamp seen)
    and "since" (when), beside what was last handled.
    """
    if store.is_complete(stored, now):
        return SETTLED
    entry = files.get(stored.name) or {}
    min_age = inbox_min_age_s()
    if entry.get("pending") == stored.stamp:
        return SETTLED if now - float(entry.get("since", now)) >= min_age else WAITING
    if "pending" not in entry:
        context.log.info(
            f"waiting for {stored.name} to finish copying: taken once its size and time stay unchanged for "
            f"{min_age:g} s (SGROUTE_INBOX_MIN_AGE_S)"
        )
    files[stored.name] = {**entry, "pending": stored.stamp, "since": now}
    return FIRST_LOOK


def second_look(
    store: StopFileStore,
    files: dict[str, dict],
    waiting: Iterable[StoredFile],
    first_look_at: float,
    sleep: Callable[[float], None] = time.sleep,
) -> list[StoredFile]:
    """The files of ``waiting`` unchanged once the settle time has passed since ``first_look_at``, looked at
    again within this tick; a changed file gets a new pending look for a later tick."""
    waiting = list(waiting)
    min_age = inbox_min_age_s()
    if not waiting or min_age > IN_TICK_SETTLE_MAX_S:
        return []
    sleep(max(0.0, first_look_at + min_age - time.time()))
    unchanged = []
    for stored in waiting:
        again = store.stat(stored.name)
        if again is None:  # moved away or deleted meanwhile: nothing to take (the next pass prunes its entry)
            continue
        if again.stamp == stored.stamp:
            unchanged.append(again)
        else:
            files[stored.name] = {**files.get(stored.name, {}), "pending": again.stamp, "since": time.time()}
    return unchanged
