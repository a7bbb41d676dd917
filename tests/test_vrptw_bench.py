"""``sgroute bench-vrptw``: explicit asymmetric matrices and Euclidean DIMACS files, through route_plan's path."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sgroute_assets.cli.main import main


def write_explicit(path, matrix, demand, windows, service, vehicles=2, capacity=10):
    n = len(matrix)
    lines = [
        f"NAME : {path.stem}",
        "TYPE : VRPTW",
        f"DIMENSION : {n}",
        f"VEHICLES : {vehicles}",
        f"CAPACITY : {capacity}",
        "EDGE_WEIGHT_TYPE : EXPLICIT",
        "EDGE_WEIGHT_FORMAT : FULL_MATRIX",
        "EDGE_WEIGHT_SECTION",
        *(" ".join(str(int(x)) for x in row) for row in matrix),
        "DEMAND_SECTION",
        *(f"{i + 1} {d}" for i, d in enumerate(demand)),
        "SERVICE_TIME_SECTION",
        *(f"{i + 1} {s}" for i, s in enumerate(service)),
        "TIME_WINDOW_SECTION",
        *(f"{i + 1} {a} {b}" for i, (a, b) in enumerate(windows)),
        "DEPOT_SECTION",
        "1",
        "-1",
        "EOF",
    ]
    path.write_text("\n".join(lines) + "\n")


def run_json(capsys, *args):
    code = main(["bench-vrptw", *map(str, args), "--json"])
    out = json.loads(capsys.readouterr().out)
    return code, out


def test_explicit_asymmetric_matrix_costs_the_entries_used(tmp_path, capsys):
    # A one-way ring: i -> i+1 costs 1, anything else 50. The only cheap plan drives the ring in order.
    n = 7
    matrix = np.full((n, n), 50)
    np.fill_diagonal(matrix, 0)
    for i in range(n):
        matrix[i, (i + 1) % n] = 1
    path = tmp_path / "ring.vrp"
    write_explicit(path, matrix, [0] + [1] * 6, [(0, 1000)] * n, [0] * n)
    code, out = run_json(capsys, path, "--time-limit", 2)
    assert code == 0
    assert set(out) >= {"instance", "engine", "distance", "routes", "feasible", "dropped", "wall_s"}
    assert out["instance"] == "ring" and out["engine"] == "pyvrp" and out["feasible"] and out["dropped"] == 0
    assert out["routes"] == [[1, 2, 3, 4, 5, 6]]
    assert out["distance"] == 7  # six forward legs and the last one home
    assert out["wall_s"] < 2.5


@pytest.mark.parametrize("engine", ["pyvrp", "ortools"])
def test_explicit_file_with_an_impossible_window_reports_the_drop(tmp_path, capsys, engine):
    n = 5
    matrix = np.array([[0, 10, 12, 9, 30], [11, 0, 4, 8, 30], [13, 5, 0, 6, 30], [9, 7, 7, 0, 30], [30, 30, 30, 30, 0]])
    windows = [(0, 100), (0, 100), (0, 100), (0, 100), (0, 20)]  # node 4 is 30 away but closes at 20
    path = tmp_path / "late.vrp"
    write_explicit(path, matrix, [0, 1, 1, 1, 1], windows, [0] * n)
    code, out = run_json(capsys, path, "--time-limit", 1, "--engine", engine)
    assert code == 0 and out["feasible"] and out["engine"] == engine
    assert out["dropped"] == 1 and out["dropped_nodes"] == [4]
    served = sorted(n for r in out["routes"] for n in r)
    assert served == [1, 2, 3]
    legs = [(a, b) for r in out["routes"] for a, b in zip([0, *r], [*r, 0], strict=True)]
    assert out["distance"] == sum(matrix[a, b] for a, b in legs)


def test_euclidean_solomon_file_in_dimacs_units(shared_dir, capsys):
    path = shared_dir / "benchmarks" / "solomon" / "C101.vrp"
    code, out = run_json(capsys, path, "--time-limit", 3, "--workers", 2)
    assert code == 0 and out["feasible"] and out["dropped"] == 0
    assert out["distance"] == pytest.approx(827.3)  # the DIMACS best known, reported in the file's units
    assert sorted(n for r in out["routes"] for n in r) == list(range(1, 101))
    # 100 stops use their whole limit (PyVRP still improves late at this size), on both cores: a required-stop
    # search beside an optional-visit one, and the plan is the cheaper of the two.
    assert out["stop_reason"] == "time_limit" and 3 <= out["wall_s"] < 6
    searches = out["searches"]
    assert sorted(s["stops"] for s in searches) == ["optional", "required"]
    assert round(out["distance"] * 10) == min(s["cost"] for s in searches if s["cost"] is not None)


def test_unreadable_file_exits_2(tmp_path, capsys):
    path = tmp_path / "bad.vrp"
    path.write_text("NAME : bad\nEDGE_WEIGHT_TYPE : GEO\n")
    assert main(["bench-vrptw", str(path), "--time-limit", "1", "--json"]) == 2
    assert "bad.vrp" in capsys.readouterr().err
