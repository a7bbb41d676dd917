"""Which environment this process runs in, and how settings that may hold a secret reach resources."""

import os

from dagster import EnvVar

ENVIRONMENTS = ("local", "gcp", "prod")


def current_env() -> str:
    return os.environ.get("SGROUTE_ENV", "local").strip().lower() or "local"


def secret_setting(variable: str, default: str) -> str:
    """``EnvVar(variable)`` when the variable is set, else ``default`` (which must hold no secret).

    A resource field given an EnvVar shows the variable's name in the webserver (resource config, repository
    snapshot, Launchpad) and is read only when a run or sensor initialises the resource; a plain string would
    be served as it is, password included (issue 14: ``app_db`` showed the full DATABASE_URL locally).
    """
    return EnvVar(variable) if os.environ.get(variable, "").strip() else default
