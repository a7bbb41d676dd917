"""Where the CLI's Dagster instance and app database live, set up before any command that runs a job.

Its own module so that every subcommand (demo, plan, db) shares one set-up without importing the command
dispatcher (cli/main.py), which imports every subcommand.
"""

from __future__ import annotations

import os
from pathlib import Path


def ensure_dagster_home() -> Path:
    """Default DAGSTER_HOME to the repo's .dagster (SQLite storage) with telemetry and the nux modal off."""
    from sgroute_resources.stop_file_store import repo_root

    home = Path(os.environ.get("DAGSTER_HOME") or repo_root() / ".dagster").resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text("telemetry:\n  enabled: false\nnux:\n  enabled: false\n")
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def app_database_url() -> str:
    """The app database of the environment SGROUTE_ENV selects (raises DatabaseConfigError when unset)."""
    from sgroute_resources.app_database import database_url_for
    from sgroute_resources.environment import current_env

    return database_url_for(current_env())


def upgrade_app_database() -> None:
    """The embedded default's SQLite schema, by migration like everywhere (demo and plan run it first)."""
    from sgroute_resources import migrations

    migrations.upgrade(app_database_url())
