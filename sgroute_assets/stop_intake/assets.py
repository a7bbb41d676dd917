"""The first three steps of a partition: the file as read, validated stops, geocoded stops."""

import json
import os
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

import dagster as dg
import pandas as pd
from pydantic import Field

from sgroute_assets.asset_groups import GROUP, ONEMAP_POOL
from sgroute_assets.domain.exports import validation_issues_csv
from sgroute_assets.domain.markdown import md_table, md_text
from sgroute_assets.domain.routing import validation_markdown
from sgroute_assets.domain.stops import (
    ADD_MARK,
    MAX_STOPS_ENV,
    GeocodedStops,
    Issue,
    RawRow,
    RawTable,
    StopFileError,
    ValidationReport,
    apply_overrides,
    find_sidecar,
    load_overrides,
    mark_manual,
    max_stops_per_file,
    merge_added_rows,
    read_stop_file,
    too_many_stops,
    validate_table,
    why_not_planned,
)
from sgroute_assets.onemap_budget import onemap_budget
from sgroute_assets.partitions import plan_id_of, run_requested_at, stop_files
from sgroute_assets.stop_intake.claimed_file import quarantine_unreadable, read_claimed_file
from sgroute_resources.app_database import AppDatabase
from sgroute_resources.geocoder import Geocoder
from sgroute_resources.partition_records import record_validation
from sgroute_resources.stop_file_store import StopFileStore, content_hash

SOURCE_NAME_TAG = "sgroute/source_name"  # set by stop_file_sensor on the runs it requests


def table_to_frame(table: RawTable) -> pd.DataFrame:
    """The table as a text frame indexed by row; what is not a cell (sheets, per-cell problems, reading notes)
    travels in ``attrs`` so validation in the next step sees exactly what the reader saw."""
    width = max([len(table.header)] + [len(r.cells) for r in table.rows])
    columns = table.header + [f"extra_{i}" for i in range(len(table.header), width)]
    frame = pd.DataFrame(
        [r.cells + [""] * (width - len(r.cells)) for r in table.rows],
        columns=columns,
        index=pd.Index([r.row for r in table.rows], name="row"),
        dtype="string",
    )
    frame.attrs["file"] = table.file
    frame.attrs["header"] = list(table.header)
    frame.attrs["header_row"] = table.header_row
    frame.attrs["sheet"] = table.sheet
    frame.attrs["header_hint"] = table.header_hint
    frame.attrs["notices"] = [asdict(n) for n in table.notices]
    if any(r.sheet for r in table.rows):
        frame.attrs["row_sheets"] = [r.sheet for r in table.rows]
    if any(r.problems for r in table.rows):
        frame.attrs["row_problems"] = {pos: dict(r.problems) for pos, r in enumerate(table.rows) if r.problems}
    return frame


def frame_to_table(frame: pd.DataFrame) -> RawTable:
    header = list(frame.attrs.get("header", frame.columns))
    sheets = frame.attrs.get("row_sheets") or [None] * len(frame)
    problems = frame.attrs.get("row_problems") or {}
    rows = [
        RawRow(
            row=int(idx),
            cells=["" if pd.isna(v) else str(v) for v in values],
            sheet=sheet,
            problems={int(i): str(m) for i, m in problems.get(pos, {}).items()},
        )
        for pos, (idx, values, sheet) in enumerate(
            zip(frame.index, frame.itertuples(index=False, name=None), sheets, strict=True)
        )
    ]
    return RawTable(
        file=str(frame.attrs.get("file", "")),
        header=header,
        rows=rows,
        header_row=int(frame.attrs.get("header_row", 1)),
        sheet=frame.attrs.get("sheet"),
        notices=[Issue(**n) for n in frame.attrs.get("notices", [])],
        header_hint=frame.attrs.get("header_hint"),
    )


@dg.asset(partitions_def=stop_files, group_name=GROUP, kinds={"csv"})
def stops(
    context: dg.AssetExecutionContext, stop_file_store: StopFileStore, app_db: AppDatabase
) -> dg.Output[pd.DataFrame]:
    """The stop file exactly as the planner wrote it, every cell as text.

    The sensor only listed the file; it is read and checked here, and an unreadable file is quarantined from
    here (report beside it) before the run fails with the reason.
    """
    found, data = read_claimed_file(
        stop_file_store, app_db, context.partition_key, context.run.tags.get(SOURCE_NAME_TAG)
    )
    try:
        table = read_stop_file(found.name, data)
    except StopFileError as exc:
        raise dg.Failure(description=quarantine_unreadable(context, stop_file_store, found, exc.message)) from None
    added = find_sidecar(stop_file_store, found.name, ADD_MARK)
    if added is not None:  # urgent stops beside the file join it (domain/stops/added_stops.py)
        try:
            table = merge_added_rows(table, read_stop_file(*added))
        except StopFileError as exc:
            raise dg.Failure(description=f"{added[0]}: {exc.message}") from None
        data += b"\0" + added[1]  # the add file is part of what this version of the partition is
    frame = table_to_frame(table)
    digest = content_hash(data)
    version = (found.generation or digest) if added is None else f"{found.generation or 'file'}+{digest[:16]}"
    frame.attrs["source_uri"] = found.uri
    frame.attrs["content_hash"] = digest
    frame.attrs["generation"] = found.generation
    return dg.Output(
        frame,
        data_version=dg.DataVersion(version),
        metadata={
            "file": found.name,
            "source": dg.MetadataValue.url(found.uri) if found.uri.startswith(("http", "gs:")) else found.uri,
            "content_hash": digest,
            "generation": found.generation or "",
            "rows": len(frame),
            "columns": ", ".join(table.header),
            "preview": dg.MetadataValue.md("\n".join(_preview(table))),
            **_sheet_metadata(table),
        },
    )


def _preview(table: RawTable, limit: int = 10) -> list[str]:
    """The first rows as the planner wrote them (each sheet's first rows in a workbook of several sheets)."""
    if any(r.sheet for r in table.rows):
        shown: list[RawRow] = []
        for sheet in dict.fromkeys(r.sheet for r in table.rows):
            shown += [r for r in table.rows if r.sheet == sheet][:limit]
        return md_table(["sheet", "row", *table.header], [[r.sheet, r.row, *r.cells] for r in shown])
    return md_table(["row", *table.header], [[r.row, *r.cells] for r in table.rows[:limit]])


def _sheet_metadata(table: RawTable) -> dict[str, Any]:
    out: dict[str, Any] = {"header_row": table.header_row}
    sheets = [r.sheet for r in table.rows if r.sheet]
    if sheets:
        counts = {name: sheets.count(name) for name in dict.fromkeys(sheets)}
        out["sheets"] = ", ".join(f"{name} ({n} rows)" for name, n in counts.items())
    if table.notices:
        out["reading_notes"] = dg.MetadataValue.md("\n".join(f"- {md_text(n.describe())}" for n in table.notices))
    return out


class StopLimitConfig(dg.Config):
    """Launchpad setting for one run: a larger (or smaller) file than the site's limit, on purpose."""

    max_stops: int | None = Field(
        default=None,
        description=f"Most valid stops one file may have; blank: {MAX_STOPS_ENV} or 3000. The travel matrix "
        "and the solver grow with the square of the stops.",
    )


@dg.asset(partitions_def=stop_files, group_name=GROUP)
def validated_stops(
    context: dg.AssetExecutionContext,
    config: StopLimitConfig,
    stops: pd.DataFrame,
    stop_file_store: StopFileStore,
    app_db: AppDatabase,
) -> dg.Output[ValidationReport]:
    """Every row checked against the stop schema; invalid rows are kept in the report, not in the plan.

    The stop limit of this run is kept on the report: the blocking check refuses a file over it before any
    geocoding or travel time, while the report (and its exports) still account for every row.
    """
    try:
        limit = max_stops_per_file(os.environ, config.max_stops)
    except ValueError as exc:
        raise dg.Failure(description=str(exc)) from None
    report = validate_table(frame_to_table(stops))
    report.source_uri = stops.attrs.get("source_uri")
    report.content_hash = stops.attrs.get("content_hash")
    report.generation = stops.attrs.get("generation")
    report.max_stops = limit
    with app_db.session() as session:  # the file row and its issues; stop rows come with the plan
        if record_validation(session, context.partition_key, report, run_requested_at(context)) is None:
            context.log.warning("a later run of this file has already stored its plan; the app tables keep it")
    issues = report.issues
    report_uri = stop_file_store.write_export(
        context.partition_key, "validation_report.json", json.dumps(report.to_json(), indent=1).encode()
    )
    # Before any plan exists: this run's plan id and the file version; the plan's exports rewrite it whole.
    stop_file_store.write_export(
        context.partition_key,
        "validation_issues.csv",
        validation_issues_csv(
            report.issue_lines(), plan_id=plan_id_of(context.run_id), data_version=report.source_version
        ),
    )
    for issue in issues[:50]:
        context.log.warning(issue.describe())
    for notice in report.file_warnings:
        context.log.warning(notice.describe())
    refused = too_many_stops(report, limit)
    if refused:
        context.log.error(refused)
    return dg.Output(
        report,
        metadata={
            "valid_rows": report.valid_count,
            "invalid_rows": report.invalid_count,
            "issues": len(issues),
            "warnings": len(report.warnings),
            "max_stops": limit,
            "validation_report": report_uri,
            "report": dg.MetadataValue.md(validation_markdown(report)),
        },
    )


@dg.asset_check(
    asset=validated_stops,
    # Not blocking: geocoded_stops refuses the file itself with dg.Failure, so the failed run (its first
    # step failure, the Runs list's reason tag, `sgroute plan`) opens on this check's plain sentence rather
    # than on Dagster's generic "blocking asset check failed".
    blocking=False,
    partitions_def=stop_files,
    description=f"The file has at least one valid stop to plan, and no more than the stop limit ({MAX_STOPS_ENV}, "
    "default 3000): an oversized file fails in seconds instead of exhausting memory in the travel matrix.",
)
def has_valid_stops(validated_stops: ValidationReport) -> dg.AssetCheckResult:
    report = validated_stops
    limit = _limit(report)
    refused = why_not_planned(report, limit)
    return dg.AssetCheckResult(
        passed=refused is None,
        severity=dg.AssetCheckSeverity.ERROR,
        description=refused or f"{report.valid_count} valid stops (limit {limit:,})",
        metadata={"valid_rows": report.valid_count, "invalid_rows": report.invalid_count, "max_stops": limit},
    )


def _limit(report: ValidationReport) -> int:
    return report.max_stops if report.max_stops is not None else max_stops_per_file(os.environ)


GEOCODER_CHECK = "geocoding_service_reachable"


@dg.asset(
    partitions_def=stop_files,
    group_name=GROUP,
    pool=ONEMAP_POOL,  # one OneMap rate limit across parallel partition runs (deploy/dagster.yaml)
    check_specs=[
        dg.AssetCheckSpec(
            GEOCODER_CHECK,
            asset="geocoded_stops",
            blocking=False,
            description="The geocoding service answered: no stop needs attention only because OneMap was down.",
        )
    ],
)
def geocoded_stops(
    context: dg.AssetExecutionContext,
    validated_stops: ValidationReport,
    geocoder: Geocoder,
    stop_file_store: StopFileStore,
) -> Iterator[dg.Output[GeocodedStops] | dg.AssetCheckResult]:
    """Coordinates for every valid stop, or the reason a stop has none (it is then left out, never guessed).

    A planner's overrides file beside the stop file (``<name>.overrides.csv``) pins or corrects stops first;
    those stops show source ``manual``.
    """
    refused = why_not_planned(validated_stops, _limit(validated_stops))
    if refused:  # before any OneMap call; every row is in the validation report and its exports
        raise dg.Failure(
            description=refused,
            metadata={"valid_rows": validated_stops.valid_count, "invalid_rows": validated_stops.invalid_count},
        )
    overrides = load_overrides(stop_file_store, validated_stops.file)
    to_locate, overridden = apply_overrides(validated_stops.valid_stops, overrides)
    with onemap_budget(context):  # the run's one OneMap budget, shared with the matrix and verification
        result = mark_manual(geocoder.geocode(to_locate), overridden)
    for issue in overrides.issues:
        context.log.warning(f"override not applied: {issue}")
    if result.service_error:
        context.log.error(f"geocoding service failed: {result.service_error}")
    attention = [
        {"stop_ref": r.stop.stop_ref, "row": r.stop.row, "source": r.source, "reason": r.reason or ""}
        for r in result.needs_attention
    ]
    confidences = [r.confidence for r in result.results if r.status == "ok" and r.confidence is not None]
    noted = [
        {"stop_ref": r.stop.stop_ref, "source": r.source, "confidence": r.confidence, "note": r.reason}
        for r in result.results
        if r.status == "ok" and r.reason
    ]
    metadata: dict[str, Any] = {
        "located": len(result.located),
        "needs_attention": len(attention),
        "sources": dg.MetadataValue.json(result.sources()),
        "min_confidence": float(min(confidences)) if confidences else None,
        "overrides_file": overrides.file or "none",
        "overrides_applied": len(overridden),
        "override_issues": dg.MetadataValue.md("\n".join(f"- {md_text(i)}" for i in overrides.issues) or "none"),
        "geocoder": type(geocoder).__name__,
        "service_error": result.service_error or "none",
        "not_geocoded": dg.MetadataValue.md(
            "\n".join(md_table(["stop_ref", "row", "source", "reason"], [list(a.values()) for a in attention]))
            if attention
            else "Every stop has coordinates."
        ),
    }
    if noted:
        metadata["located_with_notes"] = dg.MetadataValue.md(
            "\n".join(md_table(list(noted[0]), [list(n.values()) for n in noted]))
        )
    if result.stats:
        metadata["geocoder_calls"] = dg.MetadataValue.json(result.stats)
    yield dg.Output(result, metadata={k: v for k, v in metadata.items() if v is not None})
    down = [r for r in result.needs_attention if result.service_error and r.source == "none"]
    yield dg.AssetCheckResult(
        check_name=GEOCODER_CHECK,
        passed=result.service_error is None,
        severity=dg.AssetCheckSeverity.WARN,
        description=(
            f"geocoding service failed ({result.service_error}); {len(down)} stops need attention because of it"
            if result.service_error
            else "the geocoder answered every request"
        ),
        metadata={"stops_affected": len(down), "needs_attention": len(attention)},
    )
