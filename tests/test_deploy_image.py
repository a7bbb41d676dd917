"""The production image as far as this machine can check it without a container engine: the lock covers what
pyproject.toml declares, the Dockerfile installs with the same script as `make venv` (so CI), and hadolint and
shellcheck (binaries shipped in the dev extra's wheels) find nothing."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _locked() -> dict[str, list[tuple[Version, str]]]:
    """name -> [(version, marker text)] from requirements.lock (a universal lock may pin a name per platform)."""
    pins: dict[str, list[tuple[Version, str]]] = {}
    for line in (REPO / "requirements.lock").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        req = Requirement(line)
        (spec,) = list(req.specifier)
        assert spec.operator == "==", f"requirements.lock: {line!r} is not an exact pin"
        pins.setdefault(canonicalize_name(req.name), []).append((Version(spec.version), str(req.marker or "")))
    return pins


def test_lock_pins_every_declared_dependency():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    declared = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        declared += extra
    locked = _locked()
    problems = []
    for text in declared:
        req = Requirement(text)
        pins = locked.get(canonicalize_name(req.name))
        if not pins:
            problems.append(f"{req.name} is declared in pyproject.toml but not in requirements.lock")
        elif not any(req.specifier.contains(v, prereleases=True) for v, _ in pins):
            problems.append(f"{text!r}: requirements.lock pins {', '.join(str(v) for v, _ in pins)}")
    assert not problems, "requirements.lock is stale; run `make lock` and commit it:\n" + "\n".join(problems)


def test_image_ci_and_make_install_with_the_same_script():
    dockerfile = (REPO / "deploy" / "Dockerfile").read_text()
    makefile = (REPO / "Makefile").read_text()
    for step in ("dependencies", "project"):
        assert re.search(rf"deploy/install-locked\.sh {step} /opt/sgroute/\.venv/bin/python", dockerfile), step
        assert f"deploy/install-locked.sh {step} $(BIN)/python" in makefile, step
    # CI is `make test`, and `make test` builds the venv through that recipe.
    assert "make test" in (REPO / ".ci" / "run").read_text()
    assert re.search(r"^test: venv\b", makefile, re.M)
    # The uv that installs is the same version everywhere.
    uv_make = re.search(r"^UV_VERSION := (\S+)", makefile, re.M).group(1)
    assert f"uv=={uv_make}" in dockerfile
    assert f'"uv=={uv_make}"' not in makefile  # pinned via the variable, not a second literal


def test_dockerfile_shape():
    text = (REPO / "deploy" / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim", text, re.M)
    user = re.findall(r"^USER (\S+)", text, re.M)
    assert user and not user[-1].startswith(("root", "0")), "the image must not run as root"
    assert "COPY deploy/dagster.yaml /opt/dagster/dagster_home/dagster.yaml" in text
    assert "DAGSTER_HOME=/opt/dagster/dagster_home" in text
    cmd = re.findall(r"^CMD (.+)$", text, re.M)[-1]
    assert cmd.startswith('["dagster", "api", "grpc"') and '"4000"' in cmd and "sgroute_assets.definitions" in cmd
    assert "--compile-bytecode" in (REPO / "deploy" / "install-locked.sh").read_text()


def test_hadolint_and_shellcheck_are_clean():
    lint = subprocess.run(
        [str(BIN / "hadolint"), "--no-color", str(REPO / "deploy" / "Dockerfile")], capture_output=True, text=True
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
    scripts = sorted(str(p) for p in (REPO / "deploy").rglob("*.sh"))
    assert scripts
    check = subprocess.run([str(BIN / "shellcheck"), "-x", *scripts], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
