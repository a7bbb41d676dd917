"""A mixed fleet's figures are each vehicle's own: a van's load against the van's capacity, the cover listing
the fleet type by type (issue 23: a Van of 20 showed "12/60" beside a Lorry of 60)."""

from __future__ import annotations

import io

import numpy as np
import pypdf

from sgroute_assets.domain.exports.driver_pack_pdf import driver_pack_pdf
from sgroute_assets.domain.routing import Fleet, SolverSettings, VehicleType, plan_markdown, plan_routes
from sgroute_assets.domain.stops import Stop
from sgroute_assets.domain.travel_times import estimate_matrix


def _mixed_plan(sg_points):
    pts = sg_points.sample(24, random_state=3)
    stops = [
        Stop(stop_ref=f"M{i:02d}", row=i + 2, lat=float(lat), lon=float(lon), demand=3, service_time_min=5)
        for i, (lat, lon) in enumerate(zip(pts.lat, pts.lon, strict=True))
    ]
    fleet = Fleet(
        depot_lat=1.3354,
        depot_lon=103.8879,
        types=(
            VehicleType("Van", 2, 20, 8 * 60, 18 * 60, 9 * 60),
            VehicleType("Lorry", 1, 60, 7 * 60, 17 * 60, 10 * 60),
        ),
    )
    ids = ["DEPOT"] + [s.stop_ref for s in stops]
    lats = np.r_[fleet.depot_lat, [s.lat for s in stops]]
    lons = np.r_[fleet.depot_lon, [s.lon for s in stops]]
    return plan_routes(fleet, stops, estimate_matrix(ids, lats, lons), SolverSettings(time_limit_s=2))


def test_each_route_shows_its_own_vehicles_capacity(sg_points):
    plan = _mixed_plan(sg_points)
    types = {r.vehicle_type for r in plan.routes}
    assert types == {"Van", "Lorry"}, types  # 72 units need the lorry and both vans
    own = {r.vehicle_id: f"{r.load}/{20 if r.vehicle_type == 'Van' else 60}" for r in plan.routes}

    markdown = plan_markdown(plan)
    pdf = pypdf.PdfReader(io.BytesIO(driver_pack_pdf(plan)))
    pages = [" ".join(page.extract_text().split()) for page in pdf.pages]
    for route in plan.routes:
        assert f"load {own[route.vehicle_id]}" in " ".join(pages), (route.vehicle_id, own)
        assert own[route.vehicle_id] in markdown
    cover = pages[0]
    assert "2 x Van: capacity 20, 08:00-18:00, routes at most 540 min" in cover
    assert "1 x Lorry: capacity 60, 07:00-17:00, routes at most 600 min" in cover
    assert "per vehicle" not in cover
    vans = [r for r in plan.routes if r.vehicle_type == "Van"]
    assert all(f"{r.load}/60" not in markdown for r in vans if r.load != 60)
