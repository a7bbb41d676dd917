"""The dispatcher's plan page (plan.html) and the exports index (index.html), issue 23: one page per plan with
the map, every route and every row not on a route, and one page listing every plan by day, newest first."""

from __future__ import annotations

import re
from dataclasses import replace
from html.parser import HTMLParser

from test_export_content import with_stop_fields

from sgroute_assets.domain.exports import render_exports
from sgroute_assets.domain.routing import RoutePlan
from sgroute_assets.route_planning.export_index import refresh_export_index
from sgroute_resources.stop_file_store import LocalStopFileStore


class _Page(HTMLParser):
    """Tags, links and text of a page, as a browser would parse them."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.links: list[str] = []
        self.frames: list[str] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        attrs = dict(attrs)
        if tag == "a":
            self.links.append(attrs.get("href") or "")
        if tag == "iframe":
            self.frames.append(attrs.get("src") or "")

    def handle_data(self, data):
        self.text.append(data)

    @property
    def all_text(self) -> str:
        return " ".join(" ".join(self.text).split())


def _manifest(plan: RoutePlan, key: str) -> dict:
    from sgroute_assets.domain.exports.route_geojson import plan_info

    return {"partition": key, **plan_info(plan)}


def test_plan_page_shows_the_day_every_route_and_every_unplanned_row(small_plan: RoutePlan) -> None:
    hostile = "<img src=x onerror=alert(1)> see https://evil.example/x"
    plan = with_stop_fields(small_plan, notes=hostile, contact_name="Mdm Lee")
    plan = replace(plan, plan_id="p-42", plan_date="2026-12-02", source_file="orders.csv")
    page = _Page(render_exports(plan)["plan.html"].decode())
    assert "script" not in page.tags and "img" not in page.tags  # file text is text, never markup
    assert hostile in page.all_text
    assert not [link for link in page.links if "evil" in link]  # a note's URL is not made a link
    assert page.frames == ["route_map.html"]  # the same interactive map as route_map.html
    text = page.all_text
    assert "Deliveries on Wed 2 Dec 2026" in text and "orders.csv" in text and "plan p-42" in text
    counts = plan.row_counts()
    assert f"{counts['rows']} rows: {counts['served']} served, {counts['dropped']} dropped" in text
    for route in plan.routes:
        assert f"drivers/{route.vehicle_id}.csv" in page.links
        for visit in route.visits:
            assert visit.stop.stop_ref in text
    assert plan.dropped, "the fixture drops stops"
    for dropped in plan.dropped:
        assert dropped.stop.stop_ref in text
    assert text.count("Mdm Lee") >= plan.stops_served + len(plan.dropped)  # contacts of the unplanned too
    assert {"driver_pack.pdf", "planner.csv", "unplanned_stops.csv", "route_map.html"} <= set(page.links)


def test_index_lists_every_published_plan_newest_day_first_then_depot(small_plan: RoutePlan, tmp_path) -> None:
    store = LocalStopFileStore(
        inbox=str(tmp_path / "inbox"), exports_dir=str(tmp_path / "exports"), quarantine_dir=str(tmp_path / "q")
    )
    days = {
        "mon.csv": ("2026-11-30", "Tai Seng"),
        "wed.csv": ("2026-12-02", "Tuas"),
        "wed2.csv": ("2026-12-02", "Alexandra"),
    }
    for key, (day, depot) in days.items():
        fleet = replace(small_plan.fleet, depot_name=depot)
        plan = replace(small_plan, fleet=fleet, plan_id=f"p-{key}", plan_date=day, source_file=key)
        store.publish_exports(key, render_exports(plan), _manifest(plan, key))
    uri = refresh_export_index(store)
    assert uri.endswith("index.html")
    html = (tmp_path / "exports" / "index.html").read_text()
    page = _Page(html)
    plan_links = [link for link in page.links if link.endswith("plan.html")]
    assert plan_links == ["wed2.csv/plan.html", "wed.csv/plan.html", "mon.csv/plan.html"]  # day desc, depot asc
    for link in plan_links:
        assert (tmp_path / "exports" / link).is_file()
    assert re.search(r"2026-12-02.*Alexandra.*2026-12-02.*Tuas.*2026-11-30.*Tai Seng", page.all_text)
    counts = small_plan.row_counts()
    assert f"{counts['dropped']} rows not on a route" in page.all_text or counts["dropped"] == 0
    assert ".staging" not in html


def test_a_publish_killed_between_its_renames_loses_no_exports(small_plan: RoutePlan, tmp_path) -> None:
    """The old set is retired before the new one is renamed in: a kill there must not leave no folder."""
    store = LocalStopFileStore(
        inbox=str(tmp_path / "inbox"), exports_dir=str(tmp_path / "exports"), quarantine_dir=str(tmp_path / "q")
    )
    plan = replace(small_plan, plan_id="p-old", plan_date="2026-12-02")
    store.publish_exports("k.csv", render_exports(plan), _manifest(plan, "k.csv"))
    target = tmp_path / "exports" / "k.csv"
    retired = tmp_path / "exports" / ".staging" / "k.csv.abc123.old"
    target.rename(retired)  # exactly the state the kill leaves
    assert store.read_export_manifest("k.csv")["plan_id"] == "p-old"
    assert (target / "plan.html").is_file()


def test_bucket_index_links_each_plans_current_prefix(small_plan: RoutePlan, gcs_bucket) -> None:
    from dagster_gcp import GCSResource

    from sgroute_resources.gcs_stop_file_store import GCSStopFileStore

    store = GCSStopFileStore(gcs=GCSResource(project="sgroute-test"), bucket=gcs_bucket.name)
    for key, day in (("a.csv", "2026-12-01"), ("b.csv", "2026-12-03")):
        plan = replace(small_plan, plan_id=f"p-{key}", plan_date=day, source_file=key)
        store.publish_exports(key, render_exports(plan), _manifest(plan, key))
    plan = replace(small_plan, plan_id="p-a2", plan_date="2026-12-01", source_file="a.csv")  # a re-plan of a.csv
    store.publish_exports("a.csv", render_exports(plan), _manifest(plan, "a.csv"))
    assert refresh_export_index(store) == f"gs://{gcs_bucket.name}/exports/index.html"
    blob = gcs_bucket.get_blob("exports/index.html")
    assert blob.content_type.startswith("text/html")
    page = _Page(blob.download_as_bytes().decode())
    plan_links = [link for link in page.links if link.endswith("plan.html")]
    assert [link.split("/")[0] for link in plan_links] == ["b.csv", "a.csv"]
    assert "/plans/p-a2-" in plan_links[1]  # the re-plan's prefix, not the deleted one
    for link in plan_links:
        assert gcs_bucket.get_blob(f"exports/{link}") is not None
