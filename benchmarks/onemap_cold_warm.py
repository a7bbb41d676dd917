"""A 100-stop file geocoded and turned into a travel matrix with OneMap, cold (empty caches) then warm.

Runs against the loopback fake OneMap of the tests (``tests/onemap_fake_server.py``): real HTTP, real
SQLite app database (migrated in a temp dir), the production resources. The file has 40 stops with a
postal code only, 40 with an address only and 20 with coordinates only (reverse geocoded); a depot
makes 101 nodes, so a full matrix would need 10,100 OneMap calls.

Run: .venv/bin/python benchmarks/onemap_cold_warm.py [--rps 3] [--concurrency 4] [--budget 600] [--stops 100]
The defaults are the production defaults (3 requests/s, 4 in flight, 600 routing calls per matrix), so the
cold wall time is what a real OneMap account would see, bounded by the rate limit.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from onemap_fake_server import EMAIL, PASSWORD, FakeOneMap, default_places, running_fake_onemap  # noqa: E402

from sgroute_assets.domain.stops import validate_file  # noqa: E402
from sgroute_resources import migrations  # noqa: E402
from sgroute_resources.app_database import AppDatabase  # noqa: E402
from sgroute_resources.onemap_client import OneMapClient  # noqa: E402
from sgroute_resources.onemap_geocoder import OneMapGeocoder  # noqa: E402
from sgroute_resources.onemap_travel_times import OneMapTravelTimes  # noqa: E402
from sgroute_resources.travel_times import CurveTravelTimes  # noqa: E402

SHARED = REPO.parent / "shared"
DEPOT = (1.3354, 103.8879)


def stop_file(places: list[dict[str, str]], n: int) -> bytes:
    rows = ["stop_ref,address,postal_code,lat,lon,demand"]
    for k, p in enumerate(places[:n]):
        if k % 5 in (0, 1):
            rows.append(f"B{k:03d},,{p['POSTAL']},,,1")
        elif k % 5 in (2, 3):
            rows.append(f"B{k:03d},{p['BLK_NO']} {p['ROAD_NAME'].title()},,,,1")
        else:
            rows.append(f"B{k:03d},,,{float(p['LATITUDE']):.6f},{float(p['LONGITUDE']):.6f},1")
    return ("\n".join(rows) + "\n").encode()


def run_once(fake: FakeOneMap, geocoder: OneMapGeocoder, travel: OneMapTravelTimes, data: bytes) -> dict:
    fake.reset_log()
    started = time.perf_counter()
    report = validate_file("bench.csv", data)
    geocoded = geocoder.geocode(report.valid_stops)
    geocode_s = time.perf_counter() - started
    located = geocoded.located
    ids = ["DEPOT"] + [s.stop_ref for s in located]
    lats = np.array([DEPOT[0]] + [s.lat for s in located])
    lons = np.array([DEPOT[1]] + [s.lon for s in located])
    matrix = travel.matrix(ids, lats, lons, "Depot")
    total_s = time.perf_counter() - started
    calls = fake.calls()
    by_endpoint: dict[str, int] = {}
    for r in calls:
        by_endpoint[r.endpoint] = by_endpoint.get(r.endpoint, 0) + 1
    return {
        "located": len(located),
        "needs_attention": len(geocoded.needs_attention),
        "sources": geocoded.sources(),
        "calls": len(calls),
        "by_endpoint": by_endpoint,
        "geocode_s": geocode_s,
        "matrix_s": total_s - geocode_s,
        "total_s": total_s,
        "shares": matrix.source_shares(),
        "matrix_source": matrix.source,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rps", type=float, default=3.0, help="client rate limit, requests per second")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--budget", type=int, default=600, help="OneMap routing calls per matrix")
    parser.add_argument("--stops", type=int, default=100)
    args = parser.parse_args()

    pts = pd.read_csv(SHARED / "data" / "sg_points.csv").sample(args.stops, random_state=2026)
    places = default_places(list(zip(pts.lat, pts.lon, strict=True)))[5:]  # the synthetic ones
    with tempfile.TemporaryDirectory() as tmp, running_fake_onemap(FakeOneMap(places=places)) as fake:
        url = f"sqlite:///{tmp}/app.db"
        migrations.upgrade(url)
        client = OneMapClient(
            base_url=fake.url,
            email=EMAIL,
            password=PASSWORD,
            requests_per_second=args.rps,
            max_concurrency=args.concurrency,
        )
        db = AppDatabase(url=url)
        geocoder = OneMapGeocoder(client=client, app_db=db)
        travel = OneMapTravelTimes(client=client, app_db=db, model=CurveTravelTimes(), call_budget=args.budget)
        data = stop_file(places, args.stops)
        print(
            f"{args.stops} stops ({args.stops + 1} nodes, {args.stops * (args.stops + 1)} ordered pairs), "
            f"rate limit {args.rps:g}/s, {args.concurrency} in flight, call budget {args.budget}"
        )
        for label in ("cold", "warm"):
            r = run_once(fake, geocoder, travel, data)
            shares = ", ".join(f"{k} {v:.1%}" for k, v in r["shares"].items())
            print(
                f"{label}: {r['calls']} OneMap calls {r['by_endpoint']}, wall {r['total_s']:.2f} s "
                f"(geocode {r['geocode_s']:.2f} s, matrix {r['matrix_s']:.2f} s); located {r['located']}, "
                f"needs attention {r['needs_attention']}, sources {r['sources']}; matrix {r['matrix_source']}: {shares}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
