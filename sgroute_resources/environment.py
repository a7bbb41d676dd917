"""Which environment this process runs in: one variable, read in one place."""

import os

ENVIRONMENTS = ("local", "gcp", "prod")


def current_env() -> str:
    return os.environ.get("SGROUTE_ENV", "local").strip().lower() or "local"
