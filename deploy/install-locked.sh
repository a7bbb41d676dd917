#!/usr/bin/env bash
# The one install command for every environment: `make venv` (developers and CI) and deploy/Dockerfile (the image)
# both run it, so the image, CI and a developer's .venv hold the same versions from requirements.lock.
#   deploy/install-locked.sh dependencies PYTHON   # the locked third-party set (no resolution, exact pins)
#   deploy/install-locked.sh project PYTHON        # sgroute itself, editable, adding no dependency of its own
# Refresh the lock after changing dependencies in pyproject.toml with `make lock` (see README, "Dependencies").
set -euo pipefail
step=${1:?usage: install-locked.sh dependencies|project PYTHON}
python=${2:?usage: install-locked.sh dependencies|project PYTHON}
root=$(cd "$(dirname "$0")/.." && pwd)
uv=$(dirname "$python")/uv
case "$step" in
  dependencies)
    "$uv" pip install --quiet --compile-bytecode --python "$python" -r "$root/requirements.lock"
    ;;
  project)
    "$uv" pip install --quiet --compile-bytecode --python "$python" --no-deps -e "$root"
    ;;
  *)
    echo "install-locked.sh: unknown step '$step' (dependencies or project)" >&2
    exit 2
    ;;
esac
