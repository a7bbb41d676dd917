"""The travel-time model in Dagster: observations in, a versioned model out, drift checked on a schedule.

* ``trip_log_sensor`` turns every new or changed CSV in the actuals store into a ``trip_logs`` partition of
  ``trip_log_observations``, which loads the file's valid rows into ``observed_travel_times`` and reports the
  bad ones (metadata and the ``trip_log_rows_valid`` check). OneMap legs arrive in the same table from the
  matrix build.
* ``travel_time_model`` fits a new version from the observations (towards the shipped default, see
  ``travel_time_model.py``), or re-registers the shipped default while there are fewer than
  ``min_observations``; the asset value goes through the IO manager and the version row (training size,
  CV MAPE, parameters) into the app database, where plans pick the active version up.
* ``travel_time_drift_report`` compares the observations loaded in the last ``window_days`` (and, for a
  version trained on the app's observations, after it was trained) with the active version's predictions
  (MAPE, median ratio, PSI) and records a ``drift_reports`` row. ``travel_time_drift_check`` on
  ``travel_time_model`` grades the newest report on the active version WARN / ERROR, so the model's page
  shows whether it can still be trusted. ``travel_time_drift_schedule`` runs both (weekly by default,
  ``SGROUTE_DRIFT_CRON``, Singapore time).
* Why a report asset plus a check on the model rather than a check alone: the report is a materialisation,
  so the UI keeps its history and plots ``mape`` / ``median_ratio`` over time with the plot attached; the
  check puts the verdict where people look, on the model. The check reads the report row from the app
  database (``additional_deps`` only orders it after the report), so materialising the model alone, or a
  retrain, also runs it without needing a stored report value.
* ``travel_time_retrain_sensor`` requests ``travel_time_model_job`` for every ERROR report not yet acted on
  (its ``retrain_triggered`` flag). A plain sensor on the app table rather than an automation condition:
  automation conditions do nothing until the automation sensor is switched on (dagster.md, trip-up 15), and
  the flag in the table tells anyone reading ``drift_reports`` that the retrain was requested.
"""

import base64
import datetime as dt
import json
import os

import dagster as dg
from pydantic import Field

from sgroute_assets.domain.travel_times import (
    DriftThresholds,
    drift_features,
    drift_plot_png,
    error_summary,
    evaluate_drift,
    fit_model,
    load_default_model,
    parse_trip_log,
)
from sgroute_assets.partition_run_requests import PartitionRunRequests
from sgroute_resources.app_database import AppDatabase
from sgroute_resources.partition_key_map import TRIP_LOGS, assign_keys, file_for_key
from sgroute_resources.stop_file_store import content_hash
from sgroute_resources.travel_time_model_store import TravelTimeModelStore
from sgroute_resources.trip_log_store import TripLogStore, TripLogTooLarge, is_trip_log, max_trip_log_bytes

GROUP = "travel_time_model"
DEFAULT_DRIFT_CRON = "0 3 * * 1"  # Mondays 03:00 SGT, as the old system's weekly drift report
DRIFT_TIMEZONE = "Asia/Singapore"
CURSOR_VERSION = 2  # 2: per file its stamp only (bodies are no longer read by the sensor)
SOURCE_NAME_TAG = "sgroute/trip_log_name"
MAX_RUNS_PER_TICK = 20
MAX_ISSUES_IN_METADATA = 200
TRAINED_ON_APP_OBSERVATIONS = "trained_on_app_observations"

trip_logs = dg.DynamicPartitionsDefinition(name="trip_logs")


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def _env_float(name: str, default: float) -> float:
    value = os.environ.get(name, "").strip()
    return float(value) if value else default


# ------------------------------------------------------------------------------------------- trip logs


@dg.asset(
    partitions_def=trip_logs,
    group_name=GROUP,
    description="One uploaded trip log: its valid rows loaded into observed_travel_times, bad rows reported.",
)
def trip_log_observations(
    context: dg.AssetExecutionContext,
    trip_log_store: TripLogStore,
    travel_time_model_store: TravelTimeModelStore,
    app_db: AppDatabase,
) -> dg.Output[dict]:
    key = context.partition_key
    name = context.run.tags.get(SOURCE_NAME_TAG)
    if name is None:  # a materialisation from the UI or a backfill: the stored mapping names the file
        with app_db.session() as session:
            name = file_for_key(session, key, TRIP_LOGS)
    stored = trip_log_store.find(key, name)
    try:
        data = trip_log_store.read(stored.name)
    except TripLogTooLarge as exc:
        raise dg.Failure(description=str(exc)) from None
    report = parse_trip_log(stored.name, data)
    loaded = travel_time_model_store.replace_trip_log(key, report.rows) if report.readable else 0
    summary = report.to_json()
    summary.update(loaded=loaded, source_uri=stored.uri, content_hash=content_hash(data))
    if report.file_errors:
        context.log.warning(f"{stored.name}: not loaded: {'; '.join(i.message for i in report.file_errors)}")
    elif report.issues:
        context.log.warning(f"{stored.name}: {report.invalid_count} bad rows not loaded, {loaded} rows loaded")
    issues = report.file_errors + report.issues
    records = [
        dg.TableRecord({"row": i.row if i.row is not None else 0, "column": i.column or "", "message": i.message})
        for i in issues[:MAX_ISSUES_IN_METADATA]
    ]
    return dg.Output(
        summary,
        metadata={
            "file": stored.name,
            "source": dg.MetadataValue.path(stored.uri),
            "data_rows": report.data_rows,
            "loaded_rows": loaded,
            "invalid_rows": report.invalid_count,
            "file_errors": len(report.file_errors),
            "issues": dg.MetadataValue.table(
                records=records,
                schema=dg.TableSchema(
                    columns=[
                        dg.TableColumn("row", "int"),
                        dg.TableColumn("column", "string"),
                        dg.TableColumn("message", "string"),
                    ]
                ),
            ),
        },
    )


@dg.asset_check(asset=trip_log_observations, blocking=False, description="Every row of the trip log was loadable.")
def trip_log_rows_valid(trip_log_observations: dict) -> dg.AssetCheckResult:
    summary = trip_log_observations
    problems = summary["invalid_rows"] + len(summary["file_errors"])
    nothing = summary["loaded"] == 0
    return dg.AssetCheckResult(
        passed=problems == 0 and not nothing,
        severity=dg.AssetCheckSeverity.ERROR if nothing else dg.AssetCheckSeverity.WARN,
        metadata={"loaded_rows": summary["loaded"], "invalid_rows": summary["invalid_rows"]},
        description=(
            "no row could be loaded"
            if nothing
            else (f"{summary['invalid_rows']} bad rows reported and left out" if problems else "all rows loaded")
        ),
    )


trip_log_job = dg.define_asset_job(
    name="trip_log_job",
    selection=dg.AssetSelection.assets(trip_log_observations),
    partitions_def=trip_logs,
    description="Load one uploaded trip log into observed_travel_times.",
)


def _load_cursor(raw: str | None) -> tuple[dict[str, str], dict[str, str]]:
    """Per file name its last stamp, and the names refused for size (logged once per stamp)."""
    try:
        state = json.loads(raw) if raw else {}
    except json.JSONDecodeError:
        return {}, {}
    if not isinstance(state, dict) or state.get("v") != CURSOR_VERSION:
        return {}, {}
    files, refused = state.get("files"), state.get("refused")
    return (files if isinstance(files, dict) else {}), (refused if isinstance(refused, dict) else {})


@dg.sensor(
    job=trip_log_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Adds a trip_logs partition per new or changed trip-log CSV in the actuals store and loads it.",
)
def trip_log_sensor(
    context: dg.SensorEvaluationContext, trip_log_store: TripLogStore, app_db: AppDatabase
) -> dg.SensorResult:
    """Lists and claims without reading a body: a changed stamp (mtime and size, or the bucket's generation) is
    one run keyed by that stamp, and the run reads the file. Keys come from the same stored name -> key mapping
    as stop files (namespace ``trip_logs/``), so `trip 1.csv` and `trip_1.csv` are two partitions. A file over
    SGROUTE_TRIP_LOG_MAX_BYTES is refused, said once per version, and never read."""
    seen, refused = _load_cursor(context.cursor)
    limit = max_trip_log_bytes()
    listing = [f for f in trip_log_store.list_files() if is_trip_log(f.name)]
    present = {f.name for f in listing}
    state = {name: stamp for name, stamp in seen.items() if name in present}
    refused = {name: stamp for name, stamp in refused.items() if name in present}
    changed = []
    for stored in listing:
        if state.get(stored.name) == stored.stamp:
            continue
        if stored.size > limit:
            if refused.get(stored.name) != stored.stamp:
                context.log.error(
                    f"trip log {stored.name}: {stored.size:,} bytes is over the limit of {limit:,} "
                    "(SGROUTE_TRIP_LOG_MAX_BYTES); split it into smaller files"
                )
                refused[stored.name] = stored.stamp
            continue
        changed.append(stored)
        if len(changed) >= MAX_RUNS_PER_TICK:
            break
    runs = PartitionRunRequests(context, trip_logs)
    if changed:
        with app_db.session() as session:
            keys = assign_keys(session, [f.name for f in changed], legacy_keys=runs.existing, namespace=TRIP_LOGS)
        for stored in changed:
            key = keys[stored.name]
            if not runs.claim(key, stored.name):
                continue
            runs.request(
                key,
                run_key=f"{key}:{stored.stamp}",
                tags={"sgroute/source": stored.uri, SOURCE_NAME_TAG: stored.name, "sgroute/stamp": stored.stamp},
            )
            state[stored.name] = stored.stamp
    cursor = {"v": CURSOR_VERSION, "files": state, "refused": refused}
    return runs.result(json.dumps(cursor, sort_keys=True, separators=(",", ":")))


# ---------------------------------------------------------------------------------------------- model


class TravelTimeModelConfig(dg.Config):
    min_observations: int = Field(
        default_factory=lambda: _env_int("SGROUTE_MODEL_MIN_OBS", 200),
        description="Fewer observations than this: the shipped default stays (SGROUTE_MODEL_MIN_OBS).",
    )
    max_observations: int = Field(default=200_000, description="Train on at most this many, newest first.")
    cv_folds: int = Field(default=5, description="Folds of the cross-validated MAPE stored with the version.")


@dg.asset(
    group_name=GROUP,
    description="The travel-time model version used by plans: trained from observed_travel_times "
    "(towards the shipped default), or the shipped default while there are too few observations.",
)
def travel_time_model(
    context: dg.AssetExecutionContext, config: TravelTimeModelConfig, travel_time_model_store: TravelTimeModelStore
) -> dg.Output:
    store = travel_time_model_store
    observations = store.load_observations(limit=config.max_observations)
    default = load_default_model()
    n = len(observations)
    trained = n >= max(10, config.min_observations)
    if trained:
        model = fit_model(
            observations,
            prior=default,
            cv_folds=config.cv_folds,
            notes={"trained_by_run": context.run_id, TRAINED_ON_APP_OBSERVATIONS: True},
        )
    else:
        model = default
        context.log.info(f"{n} observations (< {config.min_observations}): keeping the shipped default")
    artifact_uri = f"dagster-run://{context.run_id}/{'/'.join(context.asset_key.path)}"
    store.register(model, artifact_uri=artifact_uri, activate=True)
    metadata: dict[str, dg.RawMetadataValue] = {
        "version": model.version,
        "trained": trained,
        "observations": n,
        "n_train": model.n_train,
        "cv_mape": dg.MetadataValue.float(float(model.cv_mape or 0.0)),
        "cv_median_ape": dg.MetadataValue.float(float(model.cv.get("median_ape") or 0.0)),
        "cv_folds": int(model.cv.get("folds") or 0),
        "time_aware": model.time_aware,
        "prior_version": model.prior_version or "",
        "sources": dg.MetadataValue.json(store.count_observations()),
        "parameters_bytes": len(model.to_json()),
    }
    if n:
        # The shipped default never saw these rows: an honest reference for the new version's CV MAPE.
        predicted, _ = default.predict_pairs(
            observations.origin_lat,
            observations.origin_lon,
            observations.dest_lat,
            observations.dest_lon,
            observations.depart_hour,
            observations.day_of_week,
        )
        metadata["default_model_mape_on_observations"] = float(
            error_summary(observations.duration_s, predicted)["mape"]
        )
    return dg.Output(model, metadata=metadata)


travel_time_model_job = dg.define_asset_job(
    name="travel_time_model_job",
    selection=dg.AssetSelection.assets(travel_time_model),
    description="Retrain the travel-time model from the observations and activate the new version.",
)


# ---------------------------------------------------------------------------------------------- drift


class DriftConfig(dg.Config):
    window_days: int = Field(
        default_factory=lambda: _env_int("SGROUTE_DRIFT_WINDOW_DAYS", 28),
        description="Observations loaded in the last N days and after the active version was trained.",
    )
    max_observations: int = Field(default=50_000)
    min_observations: int = Field(default_factory=lambda: _env_int("SGROUTE_DRIFT_MIN_OBS", 30))
    mape_warn_factor: float = Field(default_factory=lambda: _env_float("SGROUTE_DRIFT_MAPE_WARN_FACTOR", 1.3))
    mape_error_factor: float = Field(default_factory=lambda: _env_float("SGROUTE_DRIFT_MAPE_ERROR_FACTOR", 1.6))
    ratio_warn: float = Field(default_factory=lambda: _env_float("SGROUTE_DRIFT_RATIO_WARN", 0.08))
    ratio_error: float = Field(default_factory=lambda: _env_float("SGROUTE_DRIFT_RATIO_ERROR", 0.12))
    psi_warn: float = Field(default_factory=lambda: _env_float("SGROUTE_DRIFT_PSI_WARN", 0.10))
    psi_error: float = Field(default_factory=lambda: _env_float("SGROUTE_DRIFT_PSI_ERROR", 0.25))
    psi_min_observations: int = Field(default_factory=lambda: _env_int("SGROUTE_DRIFT_PSI_MIN_OBS", 200))

    def thresholds(self) -> DriftThresholds:
        return DriftThresholds(
            min_observations=self.min_observations,
            mape_warn_factor=self.mape_warn_factor,
            mape_error_factor=self.mape_error_factor,
            ratio_warn=self.ratio_warn,
            ratio_error=self.ratio_error,
            psi_warn=self.psi_warn,
            psi_error=self.psi_error,
            psi_min_observations=self.psi_min_observations,
        )


@dg.asset(
    group_name=GROUP,
    deps=[travel_time_model],
    description="How the active travel-time model does on the legs observed since it was trained.",
)
def travel_time_drift_report(
    context: dg.AssetExecutionContext, config: DriftConfig, travel_time_model_store: TravelTimeModelStore
) -> dg.Output[dict]:
    store = travel_time_model_store
    model = store.active_model()
    since = dt.datetime.now(dt.UTC) - dt.timedelta(days=config.window_days)
    if model.notes.get(TRAINED_ON_APP_OBSERVATIONS):
        # Rows loaded before the version was trained may be its training rows: only later ones are a test.
        # The shipped default never saw the app's observations, so for it every recent row counts.
        since = max(since, model.trained_at)
    obs = store.load_observations(created_after=since, limit=config.max_observations)
    predicted, _ = model.predict_pairs(
        obs.origin_lat, obs.origin_lon, obs.dest_lat, obs.dest_lon, obs.depart_hour, obs.day_of_week
    )
    result = evaluate_drift(
        model.version,
        obs.duration_s,
        predicted,
        drift_features(obs.origin_lat, obs.origin_lon, obs.dest_lat, obs.dest_lon, obs.depart_hour),
        model.reference,
        config.thresholds(),
        baseline_mape=model.cv_mape,
    )
    report_id = store.record_drift(result)
    summary = result.to_dict()
    summary.update(report_id=report_id, since=since.isoformat())
    png = drift_plot_png(obs.duration_s, predicted, result)
    context.log.info(f"drift of {model.version}: {result.severity} ({'; '.join(result.reasons) or 'within limits'})")
    metadata: dict[str, dg.RawMetadataValue] = {
        "severity": result.severity,
        "model_version": model.version,
        "drift_report_id": report_id,
        "n_observations": result.n_observations,
        "observations_since": since.isoformat(),
        "baseline_cv_mape": dg.MetadataValue.float(float(result.baseline_mape or model.cv_mape or 0.0)),
        "psi": dg.MetadataValue.json(result.psi),
        "reasons": dg.MetadataValue.md("\n".join(f"- {r}" for r in result.reasons) or "within limits"),
        "thresholds": dg.MetadataValue.json(result.thresholds),
        "plot": dg.MetadataValue.md(f"![drift](data:image/png;base64,{base64.b64encode(png).decode()})"),
    }
    # Numbers only when measured, so the UI's plots of mape / median_ratio over time have no fake zeros.
    if result.mape is not None:
        metadata["mape"] = dg.MetadataValue.float(result.mape)
        metadata["median_ape"] = dg.MetadataValue.float(float(result.median_ape))
        metadata["median_ratio"] = dg.MetadataValue.float(float(result.median_ratio))
    for name, value in result.psi.items():
        metadata[f"psi_{name}"] = dg.MetadataValue.float(value)
    return dg.Output(summary, metadata=metadata)


@dg.asset_check(
    asset=travel_time_model,
    additional_deps=[travel_time_drift_report],
    blocking=False,
    description="The active model still matches recent observations: the newest drift report on it is within "
    "the thresholds (MAPE, bias, PSI). ERROR makes travel_time_retrain_sensor retrain it.",
)
def travel_time_drift_check(travel_time_model_store: TravelTimeModelStore) -> dg.AssetCheckResult:
    """Grades the newest ``drift_reports`` row of the active version (read from the app database, not the IO
    manager, so the check also runs, and passes, right after a retrain that has no report yet)."""
    store = travel_time_model_store
    active = store.active_model().version
    reports = [r for r in store.drift_reports(limit=50) if r["model_version"] == active]
    if not reports:
        return dg.AssetCheckResult(
            passed=True,
            description=f"no drift report on {active} yet",
            metadata={"model_version": active},
        )
    report = reports[0]
    severity = report["severity"]
    metadata: dict[str, dg.RawMetadataValue] = {
        "drift_severity": severity,
        "model_version": active,
        "drift_report_id": int(report["id"]),
        "n_observations": int(report["n_observations"]),
        "retrain_triggered": bool(report["retrain_triggered"]),
    }
    if report["mape"] is not None:
        metadata["mape"] = dg.MetadataValue.float(float(report["mape"]))
        metadata["median_ratio"] = dg.MetadataValue.float(float(report["median_ratio"]))
    return dg.AssetCheckResult(
        passed=severity in ("OK", "SKIPPED"),
        severity=dg.AssetCheckSeverity.ERROR if severity == "ERROR" else dg.AssetCheckSeverity.WARN,
        description=f"drift report {report['id']}: {severity}",
        metadata=metadata,
    )


def drift_cron() -> str:
    """SGROUTE_DRIFT_CRON (5-field cron, Singapore time), weekly on Monday 03:00 by default."""
    value = os.environ.get("SGROUTE_DRIFT_CRON", "").strip() or DEFAULT_DRIFT_CRON
    from dagster._utils.schedules import is_valid_cron_string

    if not is_valid_cron_string(value):
        raise dg.DagsterInvalidDefinitionError(
            f"SGROUTE_DRIFT_CRON={value!r} is not a valid cron schedule (e.g. '{DEFAULT_DRIFT_CRON}')"
        )
    return value


DRIFT_SELECTION = dg.AssetSelection.assets(travel_time_drift_report) | dg.AssetSelection.checks(travel_time_drift_check)


def build_drift_schedule(cron: str | None = None) -> dg.ScheduleDefinition:
    return dg.ScheduleDefinition(
        name="travel_time_drift_schedule",
        cron_schedule=cron or drift_cron(),
        target=DRIFT_SELECTION,
        execution_timezone=DRIFT_TIMEZONE,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Weekly drift report and check of the active travel-time model (SGROUTE_DRIFT_CRON).",
    )


travel_time_drift_schedule = build_drift_schedule()


@dg.sensor(
    job=travel_time_model_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Retrains the travel-time model when a drift report on the active version is at ERROR.",
)
def travel_time_retrain_sensor(
    context: dg.SensorEvaluationContext, travel_time_model_store: TravelTimeModelStore
) -> dg.SensorResult:
    store = travel_time_model_store
    active = store.active_model().version
    pending = store.pending_retrains(active)
    if not pending:
        return dg.SensorResult(skip_reason=f"no ERROR drift report on {active} awaiting a retrain")
    newest = pending[-1]
    store.mark_retrain_triggered(pending)
    context.log.info(f"drift reports {pending} on {active} at ERROR: retraining")
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key=f"drift-report-{newest}",
                tags={"sgroute/drift_report": str(newest), "sgroute/replaces_model": active},
            )
        ]
    )


TRAVEL_TIME_MODEL_ASSETS = [trip_log_observations, travel_time_model, travel_time_drift_report]
TRAVEL_TIME_MODEL_CHECKS = [trip_log_rows_valid, travel_time_drift_check]
TRAVEL_TIME_MODEL_JOBS = [trip_log_job, travel_time_model_job]
TRAVEL_TIME_MODEL_SENSORS = [trip_log_sensor, travel_time_retrain_sensor]
TRAVEL_TIME_MODEL_SCHEDULES = [travel_time_drift_schedule]
