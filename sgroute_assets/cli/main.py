"""The `sgroute` command: check a stop file before dropping it, and run the demo."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from sgroute_assets.cli import bench_vrptw as cli_bench_vrptw
from sgroute_assets.cli import eta as cli_eta
from sgroute_assets.cli import geocode as cli_geocode
from sgroute_assets.cli import plan as cli_plan
from sgroute_assets.cli import replan as cli_replan
from sgroute_assets.cli.home import app_database_url, ensure_dagster_home, upgrade_app_database
from sgroute_assets.cli.validate import cmd_validate


def cmd_db(args: argparse.Namespace) -> int:
    ensure_dagster_home()
    from sgroute_resources import migrations
    from sgroute_resources.app_database import DatabaseConfigError, redact

    try:
        url = app_database_url()
    except DatabaseConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    try:
        if args.db_command == "upgrade":
            migrations.upgrade(url, args.revision)
        elif args.db_command == "downgrade":
            migrations.downgrade(url, args.revision)
        revision = migrations.current(url)
    except ArgumentError:
        print(f"{redact(url)}: not a database URL (e.g. postgresql+psycopg2://user@host/db)", file=sys.stderr)
        return 2
    except (SQLAlchemyError, ImportError) as exc:
        # One line, the password redacted: the driver's message may repeat the URL, so only its class is shown.
        print(f"{redact(url)}: cannot reach the database ({type(exc).__name__})", file=sys.stderr)
        return 2
    print(f"{redact(url)}: at revision {revision or 'base (empty)'}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    ensure_dagster_home()
    import dagster as dg

    upgrade_app_database()

    from sgroute_assets.cli.demo import DEMO_DIR, describe, drop_demo_files, run_sensor_and_jobs
    from sgroute_assets.definitions import defs

    store = defs.resources["stop_file_store"]
    names = drop_demo_files(store, Path(args.demo_dir) if args.demo_dir else DEMO_DIR)
    print(f"dropped {len(names)} demo files into {store.inbox}: {', '.join(names)}")
    run_config = {}
    if args.time_limit:
        run_config = {"ops": {"route_plan": {"config": {"solver_time_limit_s": args.time_limit}}}}
    with dg.DagsterInstance.get() as instance:
        outcomes = run_sensor_and_jobs(defs, instance, run_config)
    if not outcomes:
        print("the sensor found nothing new to run")
    for outcome in outcomes:
        print(describe(outcome))
    return 0 if all(o.success for o in outcomes) else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sgroute", description="Singapore delivery route planning")
    sub = parser.add_subparsers(dest="command", required=True)
    validate = sub.add_parser("validate", help="check a stop file and show every problem by row and column")
    validate.add_argument("file")
    validate.add_argument("--json", action="store_true", help="machine-readable report")
    validate.set_defaults(func=cmd_validate)
    cli_geocode.register(sub)
    cli_eta.register(sub)
    cli_plan.register(sub)
    cli_replan.register(sub)
    cli_bench_vrptw.register(sub)
    db = sub.add_parser("db", help="app database migrations against DATABASE_URL")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    up = db_sub.add_parser("upgrade", help="migrate up (to head by default)")
    up.add_argument("revision", nargs="?", default="head")
    down = db_sub.add_parser("downgrade", help="migrate down to REV (base = empty)")
    down.add_argument("revision")
    db_sub.add_parser("current", help="show the current revision")
    db.set_defaults(func=cmd_db)
    demo = sub.add_parser("demo", help="plan routes for the shipped demo stop files on the embedded default")
    demo.add_argument("--demo-dir", default=None)
    demo.add_argument("--time-limit", type=float, default=None, help="solver seconds per plan")
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    # Dagster flags preview/beta APIs on every import; planners running the CLI cannot act on that.
    warnings.filterwarnings("ignore", module=r"dagster(\..*)?")
    warnings.filterwarnings("ignore", message=r".*(beta|preview).*", category=Warning)
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
