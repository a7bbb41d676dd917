"""The stored file name -> partition key mapping (table ``stop_file_keys``) of both file sensors.

The sensors assign keys here when they claim files; runs, the CLI and sidecar re-runs look keys and names up
here instead of recomputing them from names, because a computed key cannot tell `week 1.csv` from `week_1.csv`.
Stop files are stored under their own names; trip logs under ``TRIP_LOGS`` + name, one namespace per sensor, so
one table (and its two unique constraints) keeps every key collision-free without a second copy of the logic.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from sgroute_assets.domain.stops import partition_key_for, unique_partition_key
from sgroute_resources.app_tables import StopFileKey

_CHUNK = 500  # names per IN (...) query: well under every driver's bound-parameter limit
STOP_FILES = ""  # namespace of stop file names (stored as they are, as before namespaces existed)
TRIP_LOGS = "trip_logs/"  # namespace of trip log names (no stop file name holds a "/": names are base names)


def _chunks(items: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def stored_keys(session: Session, names: Iterable[str], namespace: str = STOP_FILES) -> dict[str, str]:
    """The keys already given to ``names`` (names never seen are absent)."""
    found: dict[str, str] = {}
    for chunk in _chunks(sorted({namespace + n for n in names})):
        for name, key in session.execute(
            select(StopFileKey.file_name, StopFileKey.partition_key).where(StopFileKey.file_name.in_(chunk))
        ):
            found[name[len(namespace) :]] = key
    return found


def file_for_key(session: Session, partition_key: str, namespace: str = STOP_FILES) -> str | None:
    """The file name a partition key was given to in ``namespace``; None for a key made before keys were stored
    (or one given to a file of the other sensor)."""
    stored = session.scalar(select(StopFileKey.file_name).where(StopFileKey.partition_key == partition_key))
    if stored is None or not stored.startswith(namespace) or (not namespace and stored.startswith(TRIP_LOGS)):
        return None
    return stored[len(namespace) :]


def assign_keys(
    session: Session, names: Iterable[str], legacy_keys: Collection[str] = (), namespace: str = STOP_FILES
) -> dict[str, str]:
    """A key for every name: its stored key, or a new one that no other name holds, stored before returning.

    ``legacy_keys`` are partitions that exist without a stored owner (made before the mapping existed, or added
    by hand); a name whose cleaned key is one of them takes it over, as it did before, so its history stays on
    one partition. Names whose cleaned key equals the name itself go first, so when `week_1.csv` and
    `week 1.csv` arrive together the plain key goes to the file that is literally called that.
    """
    wanted = sorted(set(names), key=lambda n: (partition_key_for(n) != n, n))
    keys = stored_keys(session, wanted, namespace)
    missing = [n for n in wanted if n not in keys]
    if not missing:
        return keys
    candidates = {partition_key_for(n) for n in missing}
    owners: dict[str, str] = {}
    for chunk in _chunks(sorted(candidates)):
        for name, key in session.execute(
            select(StopFileKey.file_name, StopFileKey.partition_key).where(StopFileKey.partition_key.in_(chunk))
        ):
            owners[key] = name
    legacy = set(legacy_keys)

    def is_taken(key: str) -> bool:
        if key in owners:
            return True
        if key in candidates:
            return False  # a cleaned candidate of this batch: free unless assigned above
        # A hashed key: one query each, rare (only collisions and truncated names get here).
        owner = session.scalar(select(StopFileKey.file_name).where(StopFileKey.partition_key == key))
        if owner is not None:
            owners[key] = owner
        return owner is not None or key in legacy

    for name in missing:
        keys[name] = unique_partition_key(name, is_taken)
        owners[keys[name]] = name
        session.add(StopFileKey(file_name=namespace + name, partition_key=keys[name]))
    # One flush: the unique constraints make a concurrent writer (the CLI beside the daemon) that stored one of
    # these names or keys first fail this transaction, and the next tick reads what it stored.
    session.flush()
    return keys
