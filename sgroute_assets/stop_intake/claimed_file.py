"""The run's side of the sensor's claim: find the file behind a partition, read it, quarantine it if unreadable.

The sensor only lists (name, size, generation or mtime) so a tick stays fast whatever the files weigh; the bytes
are read here, in the run, and a file that turns out unreadable is moved to quarantine from here.
"""

from __future__ import annotations

import dagster as dg

from sgroute_assets.domain.stops import partition_key_for
from sgroute_resources.app_database import AppDatabase
from sgroute_resources.partition_key_map import file_for_key
from sgroute_resources.stop_file_store import StopFileNotFound, StopFileStore, StoredFile

VERSION_TAG = "sgroute/version"  # the generation or size:mtime the sensor claimed


def claimed_file_name(app_db: AppDatabase, partition_key: str, name_hint: str | None) -> str | None:
    """The file a partition key belongs to: the stored mapping; for a partition made before keys were stored,
    the run tag's name if it cleans to the key; None when only a search by cleaned name is left."""
    with app_db.session() as session:
        mapped = file_for_key(session, partition_key)
    if mapped is not None:
        return mapped
    if name_hint and partition_key_for(name_hint) == partition_key:
        return name_hint
    return None


def read_claimed_file(
    store: StopFileStore, app_db: AppDatabase, partition_key: str, name_hint: str | None
) -> tuple[StoredFile, bytes]:
    """The file behind ``partition_key`` and its bytes, as one version.

    In a bucket the download is pinned to the listed generation; in a folder the file is listed again after
    reading, and a file rewritten meanwhile fails the run (its new version gets a run of its own once settled)
    rather than planning half of it.
    """
    try:
        found = store.find(partition_key, claimed_file_name(app_db, partition_key, name_hint))
        data = store.read(found.name, generation=found.generation)
    except StopFileNotFound as exc:
        raise dg.Failure(description=str(exc)) from None
    if found.generation is None:
        after = store.stat(found.name)
        if after is None or after.stamp != found.stamp:
            raise dg.Failure(
                description=f"{found.name} changed while it was being read (still being copied?); "
                "the sensor starts a new run for it once it stops changing"
            )
    return found, data


def quarantine_unreadable(
    context: dg.AssetExecutionContext, store: StopFileStore, found: StoredFile, problem: str
) -> str:
    """Move the unreadable version aside with its report; the message for the run's failure."""
    report = {
        "file": found.name,
        "source": found.uri,
        "generation": found.generation,
        "size": found.size,
        "problem": problem,
        "partition": context.partition_key,
        "run_id": context.run.run_id,
    }
    where = store.quarantine(found.name, report, expected=found)
    if where is None:
        context.log.warning(f"{found.name} is unreadable ({problem}) but was replaced meanwhile; left in place")
        return f"{problem} (a newer version of {found.name} arrived and has its own run)"
    context.log.warning(f"quarantined {found.name}: {problem} ({where})")
    return f"{problem} (quarantined to {where})"
