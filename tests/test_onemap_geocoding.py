"""Geocoding with OneMap: ranking rules, the geocoder resource on the fake server, cache, overrides."""

from __future__ import annotations

import pytest
from onemap_fake_server import EMAIL, PASSWORD, FakeOneMap, place
from sqlalchemy import func, select

from sgroute_assets.domain.stops import (
    NEEDS_ATTENTION,
    OK,
    Stop,
    apply_overrides,
    load_overrides,
    mark_manual,
    overrides_names_for,
    parse_overrides,
)
from sgroute_assets.domain.stops import matching as gm
from sgroute_assets.domain.stops.overrides import is_overrides_file
from sgroute_resources import migrations
from sgroute_resources.app_database import AppDatabase
from sgroute_resources.app_tables import GeocodeCache
from sgroute_resources.geocoder import FileCoordinatesGeocoder
from sgroute_resources.onemap_client import OneMapClient
from sgroute_resources.onemap_geocoder import OneMapGeocoder, geocoder_for


def cand(address: str, lat: float, lon: float, postal: str | None = None, blk: str | None = None) -> gm.Candidate:
    return gm.Candidate(lat=lat, lon=lon, address=address, postal=postal, blk_no=blk)


# --- ranking rules (pure) ---------------------------------------------------------------------------------


def test_exact_postal_match_wins_over_the_first_hit():
    first = cand("5 OTHER ROAD SINGAPORE 111111", 1.30, 103.80, "111111", "5")
    exact = cand("1 FULLERTON SQUARE SINGAPORE 049178", 1.2863, 103.8535, "049178", "1")
    match = gm.choose("049178", None, [first, exact])
    assert match.status == gm.OK and match.chosen == exact and match.confidence == 1.0


def test_one_building_listed_twice_is_not_ambiguous():
    a = cand("1 FULLERTON SQUARE THE FULLERTON HOTEL SINGAPORE 049178", 1.28630, 103.85350, "049178", "1")
    b = cand("1 FULLERTON SQUARE FULLERTON HERITAGE SINGAPORE 049178", 1.28640, 103.85360, "049178", "1")
    assert gm.choose("049178", None, [a, b]).status == gm.OK


def test_postal_code_shared_by_distant_places_is_ambiguous_unless_the_address_decides():
    a = cand("10 ALPHA ROAD SINGAPORE 123456", 1.30, 103.80, "123456", "10")
    b = cand("99 BETA AVENUE SINGAPORE 123456", 1.40, 103.90, "123456", "99")
    ambiguous = gm.choose("123456", None, [a, b])
    assert ambiguous.status == gm.AMBIGUOUS and len(ambiguous.candidates) == 2
    decided = gm.choose("123456", "99 Beta Ave", [a, b])
    assert decided.status == gm.OK and decided.chosen == b


def test_address_similarity_expands_abbreviations_and_tolerates_typos():
    target = cand("123 ANG MO KIO AVENUE 3 SINGAPORE 560123", 1.37, 103.85, "560123", "123")
    other = cand("456 BEDOK NORTH STREET 1 SINGAPORE 460456", 1.33, 103.93, "460456", "456")
    assert gm.address_score("Blk 123 Ang Mo Kio Ave 3", target) == 1.0
    assert gm.address_score("123 Ang Mo Kiio Avenue 3 #05-12", target) == 1.0
    match = gm.choose(None, "blk 123 ang mo kio ave 3", [other, target])
    assert match.status == gm.OK and match.chosen == target and match.confidence >= 0.75


def test_wrong_block_number_is_not_accepted():
    target = cand("125 ANG MO KIO AVENUE 3 SINGAPORE 560125", 1.37, 103.85, "560125", "125")
    match = gm.choose(None, "123 Ang Mo Kio Ave 3", [target])
    assert match.status == gm.NOT_FOUND and "well enough" in (match.reason or "")


def test_same_road_two_places_equally_good_is_ambiguous():
    a = cand("10 MAIN STREET SINGAPORE 100010", 1.30, 103.80, "100010", "10")
    b = cand("10 MAIN STREET SINGAPORE 200010", 1.42, 103.95, "200010", "10")
    match = gm.choose(None, "10 Main Street", [a, b])
    assert match.status == gm.AMBIGUOUS and "2 different places" in (match.reason or "")


def test_empty_results_and_postal_without_exact_match():
    assert gm.choose("049178", None, []).status == gm.NOT_FOUND
    near = cand("1 FULLERTON SQUARE SINGAPORE 049178", 1.2863, 103.8535, "049178", "1")
    assert gm.choose("049179", None, [near]).status == gm.NOT_FOUND
    by_address = gm.choose("049179", "1 Fullerton Square", [near])
    assert by_address.status == gm.OK and "not found in OneMap" in (by_address.reason or "")
    assert by_address.confidence is not None and by_address.confidence < 1.0


def test_parse_search_results_skips_broken_records():
    payload = {
        "results": [
            place("1", "FULLERTON SQUARE", "THE FULLERTON HOTEL SINGAPORE", "049178", 1.2863, 103.8535),
            {"ADDRESS": "NO COORDS", "LATITUDE": "NIL", "LONGITUDE": "NIL"},
            {**place("2", "X ROAD", "NIL", "NIL", 1.30, 103.8), "LATITUDE": "51.5"},  # not in Singapore
        ]
    }
    (only,) = gm.parse_search_results(payload)
    assert only.postal == "049178" and only.blk_no == "1"
    assert gm.address_query_key("  1  Fullerton Sq.,  ") == "address:1 fullerton sq"
    assert gm.address_query_key("1 Fullerton Sq, #05-12") == gm.address_query_key("1 FULLERTON SQ")
    assert len(gm.address_query_key("x" * 500)) == 300


# --- overrides (pure) -------------------------------------------------------------------------------------


def test_overrides_file_names_and_parsing():
    assert overrides_names_for("week12.csv") == [
        "week12.overrides.csv",
        "week12.overrides.xlsx",
        "week12.csv.overrides.csv",  # "<stop file name>.overrides.csv" taken literally too (issue 23)
        "week12.csv.overrides.xlsx",
    ]
    assert is_overrides_file("week12.overrides.csv") and is_overrides_file("W.OVERRIDES.XLSX")
    assert not is_overrides_file("week12.csv") and not is_overrides_file("overrides.csv")
    data = (
        b"stop_ref,lat,lon,address,postal_code,note\n"
        b"A1,1.30,103.85,,,pinned\n"
        b"A2,,,1 Fullerton Square,049178,\n"
        b"A3,1.30,,,,\n"
        b"A4,51.5,0.1,,,\n"
        b"A5,,,,,\n"
        b"A1,1.31,103.86,,,\n"
    )
    parsed = parse_overrides("week12.overrides.csv", data)
    assert set(parsed.overrides) == {"A1", "A2"}
    assert parsed.overrides["A1"].is_pin and parsed.overrides["A2"].postal_code == "049178"
    assert len(parsed.issues) == 4
    assert any("row 4 (A3)" in i and "together" in i for i in parsed.issues)
    assert any("A4" in i and "outside Singapore" in i for i in parsed.issues)
    assert any("overridden twice" in i for i in parsed.issues)


def test_apply_overrides_pins_and_corrections_show_as_manual():
    stops = [
        Stop(stop_ref="A1", row=2, address="somewhere wrong"),
        Stop(stop_ref="A2", row=3, address="typo street", postal_code="999999", lat=1.40, lon=103.90),
        Stop(stop_ref="A3", row=4, lat=1.35, lon=103.80),
    ]
    parsed = parse_overrides(
        "f.overrides.csv",
        b"stop_ref,lat,lon,address,postal_code\nA1,1.30,103.85,,\nA2,,,1 Fullerton Square,\nZZ,1.3,103.8,,\n",
    )
    patched, refs = apply_overrides(stops, parsed)
    assert refs == {"A1", "A2"}
    assert (patched[0].lat, patched[0].lon, patched[0].address) == (1.30, 103.85, "somewhere wrong")
    assert patched[1].lat is None and patched[1].address == "1 Fullerton Square" and patched[1].postal_code is None
    assert patched[2] == stops[2]
    assert any("ZZ is not a valid stop" in i for i in parsed.issues)
    result = mark_manual(FileCoordinatesGeocoder().geocode(patched), refs)
    by_ref = {r.stop.stop_ref: r for r in result.results}
    assert by_ref["A1"].source == "manual" and by_ref["A1"].status == OK and by_ref["A1"].confidence == 1.0
    assert by_ref["A2"].source == "manual" and by_ref["A2"].status == NEEDS_ATTENTION
    assert by_ref["A3"].source == "file"


class _Store:
    def __init__(self, files: dict[str, bytes]):
        self.files = files

    def stat(self, name: str):
        return name if name in self.files else None

    def read(self, name: str) -> bytes:
        return self.files[name]


def test_load_overrides_reads_the_sidecar_of_the_stop_file_only():
    store = _Store({"week12.csv": b"x", "week12.overrides.csv": b"stop_ref,lat,lon\nA1,1.3,103.8\n"})
    assert set(load_overrides(store, "week12.csv").overrides) == {"A1"}
    assert len(load_overrides(store, "week13.csv")) == 0


# --- the geocoder resource against the fake OneMap ----------------------------------------------------------


def make_geocoder(fake: FakeOneMap, url: str, **client_settings) -> OneMapGeocoder:
    settings = {
        "base_url": fake.url,
        "email": EMAIL,
        "password": PASSWORD,
        "timeout_s": 0.5,
        "max_attempts": 2,
        "backoff_initial_s": 0.01,
        "backoff_max_s": 0.02,
        "requests_per_second": 200.0,
    }
    settings.update(client_settings)
    return OneMapGeocoder(client=OneMapClient(**settings), app_db=AppDatabase(url=url))


STOPS = [
    Stop(stop_ref="P1", row=2, postal_code="049178"),  # postal, exact
    Stop(stop_ref="P2", row=3, address="2 Orchard Turn"),  # address only
    Stop(stop_ref="P3", row=4, address="10 Main Street"),  # ambiguous (scripted)
    Stop(stop_ref="P4", row=5, postal_code="777777"),  # nothing found
    Stop(stop_ref="P5", row=6, lat=1.28066, lon=103.85040),  # coordinates only: reverse geocoded
    Stop(stop_ref="P6", row=7, address="18 Raffles Quay", postal_code="048582", lat=1.2807, lon=103.8504),
    Stop(stop_ref="P7", row=8, postal_code="999999", address="11 Jalan Tan Tock Seng"),  # postal wrong
]


@pytest.fixture
def scripted(fake_onemap: FakeOneMap) -> FakeOneMap:
    fake_onemap.scripted["10 MAIN STREET"] = [
        place("10", "MAIN STREET", "NIL", "100010", 1.30, 103.80),
        place("10", "MAIN STREET", "NIL", "200010", 1.42, 103.95),
    ]
    return fake_onemap


def test_geocoder_ranks_searches_reverse_geocodes_and_never_guesses(scripted, app_db_url):
    result = make_geocoder(scripted, app_db_url).geocode(STOPS)
    by = {r.stop.stop_ref: r for r in result.results}
    assert (by["P1"].status, by["P1"].source, by["P1"].confidence) == (OK, "onemap", 1.0)
    assert (round(by["P1"].stop.lat, 4), round(by["P1"].stop.lon, 4)) == (1.2863, 103.8535)
    assert by["P1"].stop.address.startswith("1 FULLERTON SQUARE")  # filled because the file had none
    assert by["P2"].status == OK and by["P2"].stop.postal_code == "238801"
    assert by["P3"].status == NEEDS_ATTENTION and len(by["P3"].candidates) == 2
    assert "100010" in by["P3"].reason and "200010" in by["P3"].reason
    assert by["P4"].status == NEEDS_ATTENTION and "found nothing for postal code 777777" in by["P4"].reason
    assert by["P5"].status == OK and by["P5"].source == "file" and by["P5"].stop.postal_code == "048582"
    assert by["P6"].source == "file"
    assert by["P7"].status == OK and "not found in OneMap; placed by address" in by["P7"].reason
    assert by["P7"].stop.postal_code == "999999"  # the planner's text is never overwritten
    assert result.service_error is None
    searched = [r.params["searchVal"] for r in scripted.calls("search")]
    assert sorted(searched) == sorted(
        ["049178", "2 ORCHARD TURN", "10 MAIN STREET", "777777", "999999"] + ["11 JALAN TAN TOCK SENG"]
    )
    assert len(scripted.calls("revgeocode")) == 1  # P6 already has address and postal code


def test_second_run_is_served_from_the_cache_with_zero_calls(scripted, app_db_url):
    geocoder = make_geocoder(scripted, app_db_url)
    first = geocoder.geocode(STOPS)
    calls = len(scripted.calls())
    scripted.reset_log()
    second = geocoder.geocode(STOPS)
    assert scripted.calls() == [] and calls > 0
    assert [(r.status, r.stop.lat, r.stop.lon) for r in first.results] == [
        (r.status, r.stop.lat, r.stop.lon) for r in second.results
    ]
    searched = {r.stop.stop_ref: r.source for r in second.results if r.stop.stop_ref in {"P1", "P2", "P3", "P4"}}
    assert set(searched.values()) == {"cache"}
    assert second.stats["onemap_requests"] == 0 and second.stats["cache_hits"] >= 7


def test_onemap_down_marks_stops_needing_it_and_caches_nothing(scripted, app_db_url):
    scripted.inject(None, 503, times=-1)
    geocoder = make_geocoder(scripted, app_db_url, give_up_after_failures=2, max_concurrency=1)
    result = geocoder.geocode(STOPS)
    by = {r.stop.stop_ref: r for r in result.results}
    for ref in ("P1", "P2", "P3", "P4", "P7"):
        assert by[ref].status == NEEDS_ATTENTION and "OneMap" in by[ref].reason
    assert by["P5"].status == OK and "address not filled in" in by["P5"].reason  # coordinates still good
    assert result.service_error and "503" in result.service_error
    assert len(scripted.calls()) == 2 * 2  # two calls of two attempts, then the session stopped calling
    with AppDatabase(url=app_db_url).session() as db:
        assert db.scalar(select(func.count()).select_from(GeocodeCache)) == 0
    scripted.clear_faults()
    again = geocoder.geocode(STOPS)
    assert again.service_error is None and {s.stop_ref for s in again.located} >= {"P1", "P2", "P5", "P7"}


def test_cache_writes_are_idempotent_on_postgres(scripted, pg_database):
    url = pg_database["app_url"]
    migrations.upgrade(url)
    geocoder = make_geocoder(scripted, url)
    geocoder.geocode(STOPS)
    geocoder.geocode(STOPS)
    with AppDatabase(url=url).session() as db:
        keys = db.scalars(select(GeocodeCache.query_key)).all()
    assert len(keys) == len(set(keys)) == 7  # 6 searches + the reverse lookup of P5
    assert {k.split(":")[0] for k in keys} == {"postal", "address", "rev"}


def test_factory_keeps_the_embedded_default_credential_free(monkeypatch, app_db_url):
    monkeypatch.delenv("ONEMAP_EMAIL", raising=False)
    monkeypatch.delenv("ONEMAP_PASSWORD", raising=False)
    db = AppDatabase(url=app_db_url)
    assert isinstance(geocoder_for("local", db), FileCoordinatesGeocoder)
    assert isinstance(geocoder_for("prod", db), OneMapGeocoder)  # prod never silently falls back
    monkeypatch.setenv("ONEMAP_EMAIL", EMAIL)
    monkeypatch.setenv("ONEMAP_PASSWORD", PASSWORD)
    monkeypatch.setenv("ONEMAP_BASE_URL", "http://127.0.0.1:9")
    geocoder = geocoder_for("local", db)
    assert isinstance(geocoder, OneMapGeocoder) and geocoder.client.base_url == "http://127.0.0.1:9"
