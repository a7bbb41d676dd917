"""A 500-stop day re-planned at 11:00 with 200 stops done and 10 urgent stops added (issue 18).

Two parts:

1. **Command to exports.** A 500-stop Singapore file (a third of them morning deliveries 08:00-12:00, 42 vans
   of 40) is planned by ``sgroute plan`` (revision 1, 30 s solve). By 11:00 the vans are behind: the progress
   file reports 200 deliveries (each van's first visits at their planned ETAs, fewer than planned), as_of 11:00,
   and an add file beside the stop file brings 10 urgent stops. Then ``sgroute replan --mode assign_new`` is
   timed from the command to its exports, and revision 2's planner.csv is checked: every done visit unchanged
   (van and minute), every loaded stop on its van, every urgent stop served or dropped with a reason.
2. **Quality of what is left.** In this process, the same day (estimated matrix) is re-planned by
   ``replan_day`` (the search starts from each van's remaining stops) and, at equal time, by a cold solve of the
   same remaining problem (same starts, loads, windows and bindings, ``warm_start=False``); a cold solve at six
   times the limit is the reference. In ``assign_new`` and in ``free`` mode.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
POINTS = REPO.parent / "shared" / "data" / "sg_points.csv"

BIN = Path(sys.executable).parent
AS_OF = 11 * 60
DONE, URGENT, STOPS, VANS = 200, 10, 500, 42


def day_rows(n: int, urgent: int = 0, seed: int = 11, share: float = 0.3) -> list[dict]:
    """n real Singapore points (seeded): ``share`` are morning deliveries (08:00-12:00), the rest open all day; then
    ``urgent`` more (URG-01 ..., 1 unit, 5 min, every other one 11:30-16:00)."""
    rng = np.random.default_rng(seed)
    points = pd.read_csv(POINTS).sample(n=n + urgent, random_state=seed).reset_index(drop=True)
    rows = []
    for i, p in points.iterrows():
        if i < n:
            morning = rng.random() < share
            rows.append({"stop_ref": f"K{i + 1:04d}", "address": f"point {i + 1}", "lat": f"{p['lat']:.6f}",
                         "lon": f"{p['lon']:.6f}", "demand": int(rng.integers(1, 4)), "service_time_min": 10,
                         "tw_start": "08:00" if morning else "", "tw_end": "12:00" if morning else ""})  # fmt: skip
        else:
            k = i - n + 1
            rows.append({"stop_ref": f"URG-{k:02d}", "address": f"urgent {k}", "lat": f"{p['lat']:.6f}",
                         "lon": f"{p['lon']:.6f}", "demand": 1, "service_time_min": 5,
                         "tw_start": "11:30" if k % 2 else "", "tw_end": "16:00" if k % 2 else ""})  # fmt: skip
    return rows


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _minutes(text: str) -> int:
    h, m = text.split(":")
    return int(h) * 60 + int(m)


def _rows(path: Path) -> list[dict[str, str]]:
    text = path.read_text(encoding="utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def choose_done(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """Each van's earliest visits before 10:50, trimmed from the latest ones down to exactly DONE."""
    by_van: dict[str, list[dict[str, str]]] = {}
    for r in rows:
        if r["stop_ref"] not in ("BREAK",):
            by_van.setdefault(r["vehicle_name"], []).append(r)
    prefixes = {
        van: [r for r in sorted(visits, key=lambda r: int(r["sequence"])) if _minutes(r["service_start"]) < AS_OF - 10]
        for van, visits in by_van.items()
    }
    while sum(len(p) for p in prefixes.values()) > DONE:
        van = max(prefixes, key=lambda v: (len(prefixes[v]), v))
        prefixes[van].pop()
    return [r for p in prefixes.values() for r in p]


def command_to_exports(limit: float) -> dict:
    work = Path(tempfile.mkdtemp(prefix="sgroute-replan500-"))
    home = work / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\nnux:\n  enabled: false\n")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "SGROUTE_INBOX": str(work / "inbox"),
        "SGROUTE_EXPORTS": str(work / "exports"),
        "SGROUTE_QUARANTINE": str(work / "quarantine"),
        "DATABASE_URL": f"sqlite:///{work / 'app.db'}",
        "SGROUTE_VEHICLES": str(VANS),  # the re-plan's fleet is the morning's: same vans by name
        "SGROUTE_VEHICLE_CAPACITY": "40",
    }
    subprocess.run([str(BIN / "sgroute"), "db", "upgrade"], env=env, check=True, capture_output=True)
    path = work / "day_500.csv"
    rows = day_rows(STOPS, URGENT)
    pd.DataFrame(rows[:STOPS]).to_csv(path, index=False)
    morning = subprocess.run(
        [str(BIN / "sgroute"), "plan", str(path), "--time-limit", "30", "--json"],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    key = json.loads(morning.stdout)["partition"]
    exports = work / "exports" / key
    rev1 = _rows(exports / "planner.csv")
    done = choose_done(rev1)
    progress = work / "van_news.csv"
    lines = ["vehicle,stop_ref,status,time"] + [
        f"{r['vehicle_name']},{r['stop_ref']},done,{r['service_start']}" for r in done
    ]
    progress.write_text("\n".join(lines) + "\n")
    pd.DataFrame(rows[STOPS:]).to_csv(work / "inbox" / "day_500.add.csv", index=False)

    started = time.perf_counter()
    proc = subprocess.run(
        [str(BIN / "sgroute"), "replan", str(path), "--progress", str(progress), "--at", _clock(AS_OF),
         "--mode", "assign_new", "--time-limit", f"{limit:g}", "--json"],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-3000:])
    out = json.loads(proc.stdout)
    rev2 = {r["stop_ref"]: r for r in _rows(exports / "rev-02" / "planner.csv")}
    unchanged = sum(
        1
        for r in done
        if r["stop_ref"] in rev2
        and rev2[r["stop_ref"]]["vehicle_name"] == r["vehicle_name"]
        and rev2[r["stop_ref"]]["service_start"] == r["service_start"]
    )
    done_refs = {r["stop_ref"] for r in done}
    loaded = [r for r in rev1 if r["stop_ref"] not in done_refs]
    on_route = [r for r in loaded if r["stop_ref"] in rev2]
    kept = sum(1 for r in on_route if rev2[r["stop_ref"]]["vehicle_name"] == r["vehicle_name"])
    dropped = {r["stop_ref"]: r for r in _rows(exports / "unplanned_stops.csv")}
    urgent_refs = [f"URG-{k:02d}" for k in range(1, URGENT + 1)]
    explained = sum(1 for ref in urgent_refs if ref in rev2 or (ref in dropped and dropped[ref]["reason"]))
    return {
        "wall_s": wall,
        "revision": out["revision"],
        "done": len(done),
        "done_unchanged": unchanged,
        "loaded_on_routes": len(on_route),
        "loaded_kept_van": kept,
        "loaded_dropped": len(loaded) - len(on_route),
        "urgent_served": sum(1 for ref in urgent_refs if ref in rev2),
        "urgent_explained": explained,
        "summary": {k: out[k] for k in ("frozen", "kept_vehicle", "moved", "new_served", "dropped")},
    }


def remaining_day():
    """The day at 11:00 in this process: fleet, stops, the matrix with the vans' points, revision 1, the state."""
    from sgroute_assets.domain.routing import (
        Fleet,
        SolverSettings,
        day_state,
        parse_progress_file,
        plan_routes,
        revision_of,
        van_points,
    )
    from sgroute_assets.domain.stops import Stop
    from sgroute_assets.domain.travel_times import estimate_matrix

    stops = [
        Stop(stop_ref=r["stop_ref"], row=i + 2, lat=float(r["lat"]), lon=float(r["lon"]), demand=r["demand"],
             service_time_min=r["service_time_min"], tw_start_min=_minutes(r["tw_start"]) if r["tw_start"] else None,
             tw_end_min=_minutes(r["tw_end"]) if r["tw_end"] else None)
        for i, r in enumerate(day_rows(STOPS, URGENT))
    ]  # fmt: skip
    fleet = Fleet(depot_lat=1.3354, depot_lon=103.8879, vehicles=VANS, capacity=40, shift_start_min=8 * 60,
                  shift_end_min=18 * 60, max_route_min=600, vehicle_fixed_cost_s=1800)  # fmt: skip

    def matrix(points=()):
        ids = ["DEPOT"] + [s.stop_ref for s in stops] + [n for n, _ in points]
        lats = np.r_[fleet.depot_lat, [s.lat for s in stops], [q.lat for _, q in points]]
        lons = np.r_[fleet.depot_lon, [s.lon for s in stops], [q.lon for _, q in points]]
        return estimate_matrix(ids, lats, lons)

    morning_stops = stops[:STOPS]
    ids = ["DEPOT"] + [s.stop_ref for s in morning_stops]
    lats = np.r_[fleet.depot_lat, [s.lat for s in morning_stops]]
    lons = np.r_[fleet.depot_lon, [s.lon for s in morning_stops]]
    morning = plan_routes(fleet, morning_stops, estimate_matrix(ids, lats, lons), SolverSettings(time_limit_s=30))
    rows = [
        {"vehicle_name": r.vehicle_name, "stop_ref": v.stop.stop_ref, "sequence": str(v.sequence),
         "service_start": _clock(v.service_start_s // 60)}
        for r in morning.routes for v in r.visits
    ]  # fmt: skip
    done = choose_done(rows)
    text = "vehicle,stop_ref,status,time\n" + "".join(
        f"{r['vehicle_name']},{r['stop_ref']},done,{r['service_start']}\n" for r in done
    )
    previous = revision_of(morning)
    progress = parse_progress_file("p.csv", text.encode(), fleet, [s.stop_ref for s in stops], AS_OF)
    day = day_state(fleet, previous, progress, stops)
    return fleet, stops, matrix(van_points(day)), previous, day, len(done)


def remaining_quality(limit: float) -> dict:
    """replan_day (warm) against a cold solve of the same remaining problem at equal time, and at 6x."""
    from sgroute_assets.domain.routing import ReplanOptions, SolverSettings, replan_day

    fleet, stops, full, previous, day, done = remaining_day()
    out = {}
    for mode in ("assign_new", "free"):
        for label, warm, seconds in (("ours", True, limit), ("cold", False, limit), ("cold_6x", False, 6 * limit)):
            options = ReplanOptions(mode, warm_start=warm)
            plan = replan_day(fleet, stops, full, previous, day, options, SolverSettings(time_limit_s=seconds))
            out[mode, label] = {"objective": plan.objective, "dropped": len(plan.dropped)}
    out["done"] = done
    return out


def main() -> int:
    limit = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0
    load = os.getloadavg()[0]
    e2e = command_to_exports(limit)
    print(f"load average before: {load:.2f}; re-plan solver limit {limit:g} s")
    print(
        f"sgroute replan, command to exports: {e2e['wall_s']:.1f} s (revision {e2e['revision']}); "
        f"done visits unchanged {e2e['done_unchanged']}/{e2e['done']}; loaded stops on routes that kept their van "
        f"{e2e['loaded_kept_van']}/{e2e['loaded_on_routes']} ({e2e['loaded_dropped']} dropped); urgent stops "
        f"served {e2e['urgent_served']}/{URGENT}, served or dropped with a reason {e2e['urgent_explained']}/{URGENT}"
    )
    print(f"  re-plan summary: {e2e['summary']}")
    quality = remaining_quality(limit)
    print(f"remaining problem in this process ({quality['done']} done at 11:00, estimated matrix):")
    for mode in ("assign_new", "free"):
        ours, cold, ref = quality[mode, "ours"], quality[mode, "cold"], quality[mode, "cold_6x"]
        vs_cold = 100 * (ours["objective"] / cold["objective"] - 1)
        vs_ref = 100 * (ours["objective"] / ref["objective"] - 1)
        print(
            f"  {mode}, equal time {limit:g} s: ours {ours['objective']} ({ours['dropped']} dropped) vs a cold solve "
            f"{cold['objective']} ({cold['dropped']} dropped): {vs_cold:+.2f} %; cold at {6 * limit:g} s "
            f"{ref['objective']} ({ref['dropped']} dropped): ours {vs_ref:+.2f} %"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
