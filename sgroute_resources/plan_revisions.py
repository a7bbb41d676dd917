"""A partition's plan revisions in the app tables (issue 18): numbered under the partition's lock, kept for good.

The asset numbers its plan in the same transaction that stores it (``number_revision`` then ``replace_plan``),
so two runs of one partition never take the same number, and a revision's changes are always against the
revision stored just before it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from sgroute_assets.domain.routing import Revision, RoutePlan, numbered, revision_of
from sgroute_resources.app_tables import PlanRevisionRecord
from sgroute_resources.partition_records import lock_partition


@dataclass(frozen=True)
class StoredRevision:
    revision: Revision
    fingerprint: str
    created_at: str


def latest_revision(session: Session, partition_key: str) -> StoredRevision | None:
    """The partition's newest revision, None before its first plan."""
    row = session.scalar(
        select(PlanRevisionRecord)
        .where(PlanRevisionRecord.partition_key == partition_key)
        .order_by(PlanRevisionRecord.revision.desc())
        .limit(1)
    )
    if row is None:
        return None
    return StoredRevision(Revision.from_json(row.snapshot), row.fingerprint or "", row.created_at.isoformat())


def number_revision(session: Session, partition_key: str, plan: RoutePlan) -> RoutePlan:
    """``plan`` numbered after the partition's newest revision, its changes listed against that one."""
    lock_partition(session, partition_key)
    latest = latest_revision(session, partition_key)
    return numbered(plan, latest.revision if latest is not None else None)


def record_revision(session: Session, partition_key: str, plan: RoutePlan) -> None:
    """One more revision row (in the caller's transaction, after the plan's own rows)."""
    replan = plan.replan
    session.add(
        PlanRevisionRecord(
            partition_key=partition_key,
            revision=plan.revision,
            plan_id=plan.plan_id,
            reason=plan.revision_reason,
            mode=replan.mode if replan is not None else None,
            as_of_min=replan.as_of_min if replan is not None else None,
            fingerprint=replan.fingerprint if replan is not None else "",
            snapshot=revision_of(plan).to_json(),
            summary=replan.summary() if replan is not None else None,
            changes=[c.row() for c in plan.changes],
        )
    )
    session.flush()


def revision_list(session: Session, partition_key: str) -> list[dict]:
    """Every revision of the partition, oldest first: number, plan id, when, why, mode, changes counted."""
    rows = session.scalars(
        select(PlanRevisionRecord)
        .where(PlanRevisionRecord.partition_key == partition_key)
        .order_by(PlanRevisionRecord.revision)
    )
    return [
        {
            "revision": r.revision,
            "plan_id": r.plan_id,
            "created_at": r.created_at.isoformat(),
            "reason": r.reason,
            "mode": r.mode,
            "changes": len(r.changes or []),
        }
        for r in rows
    ]
