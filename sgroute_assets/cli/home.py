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


def merge_instance_config(home: Path, template: Path) -> Path:
    """Merge ``template`` (deploy/dagster-dev.yaml) into ``home``/dagster.yaml, keeping what is already set.

    `sgroute db upgrade` (and any CLI command) writes a minimal dagster.yaml first, so `make dev` used to find
    one and never install the one-run-per-partition limit and run monitoring: only a warning was printed.
    """
    import yaml

    target = home / "dagster.yaml"
    existing = yaml.safe_load(target.read_text()) if target.exists() else None
    merged = _fill(yaml.safe_load(template.read_text()) or {}, existing if isinstance(existing, dict) else {})
    home.mkdir(parents=True, exist_ok=True)
    header = f"# {template.name} merged into this instance's own settings (theirs kept where both set one)\n"
    target.write_text(header + yaml.safe_dump(merged, sort_keys=False))
    return target


def _fill(template: dict, mine: dict) -> dict:
    """``mine`` with every key of ``template`` it lacks, recursively (nested mappings merged)."""
    out = dict(template)
    for key, value in mine.items():
        out[key] = _fill(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


if __name__ == "__main__":  # `make dev`: python -m sgroute_assets.cli.home deploy/dagster-dev.yaml
    import sys

    print(f"instance settings: {merge_instance_config(ensure_dagster_home(), Path(sys.argv[1]))}")
