"""The house rules ARCHITECTURE.md states that import-linter cannot check: module sizes, a short domain/ top
level, and no module taking another module's private names. The layer and cycle contracts run in `make lint`."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SOURCES = ("sgroute_assets", "sgroute_resources")
MAX_LINES = 600
MAX_DOMAIN_MODULES = 12


def _python_files(*roots: str) -> list[Path]:
    return sorted(p for root in roots for p in (REPO / root).rglob("*.py") if ".venv" not in p.parts)


def _module_name(path: Path) -> tuple[str, bool]:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    return ".".join(parts[:-1] if is_package else parts), is_package


def _absolute(path: Path, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    name, is_package = _module_name(path)
    base = name.split(".") if is_package else name.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def test_no_source_module_runs_past_the_limit() -> None:
    long = {
        str(p.relative_to(REPO)): n
        for p in _python_files(*SOURCES)
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert not long, f"modules over {MAX_LINES} lines (split them by concern): {long}"


def test_domain_top_level_is_short() -> None:
    domain = REPO / "sgroute_assets" / "domain"
    modules = [p.name for p in domain.glob("*.py") if p.name != "__init__.py"]
    rooms = [p.name for p in domain.iterdir() if (p / "__init__.py").exists()]
    assert len(modules) + len(rooms) <= MAX_DOMAIN_MODULES, (modules, rooms)
    assert {"stops", "travel_times", "routing", "exports"} <= set(rooms)


def test_no_module_imports_another_modules_private_names() -> None:
    offenders = []
    for path in _python_files(*SOURCES, "tests", "benchmarks"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ImportFrom):
                continue
            target = _absolute(path, node)
            private = [a.name for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]
            leaf = target.split(".")[-1]
            package, here = target.rsplit(".", 1)[0], _module_name(path)[0]
            inside = here == package or here.startswith(package + ".")
            if leaf.startswith("_") and not leaf.startswith("__") and not inside:
                private.append(target)  # a private module is its own package's business
            if private and target.split(".")[0] in SOURCES:
                offenders.append(f"{path.relative_to(REPO)}:{node.lineno} {target}: {', '.join(private)}")
    assert not offenders, "private names taken from another module:\n" + "\n".join(offenders)


def test_rooms_are_used_through_their_public_names() -> None:
    """Outside a domain room, code names the room's package, never one of its modules (tests may look inside)."""
    rooms = ("stops", "travel_times", "routing")
    offenders = []
    for path in _python_files(*SOURCES):
        here, _ = _module_name(path)
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                target = _absolute(path, node)
                for room in rooms:
                    package = f"sgroute_assets.domain.{room}"
                    if target.startswith(package + ".") and not here.startswith(package):
                        offenders.append(f"{path.relative_to(REPO)}:{node.lineno} {target}")
    assert not offenders, "import these through the room's __init__:\n" + "\n".join(offenders)
