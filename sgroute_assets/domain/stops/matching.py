"""Choosing among OneMap search results, with a confidence, instead of taking the first hit.

The old system took ``results[0]`` of every search and overwrote the planner's address with it: a postal
code shared by several blocks, or an address OneMap only half-matched, silently put a stop somewhere else.
These rules decide when a result is trustworthy and when a planner has to look:

1. A result whose ``POSTAL`` equals the stop's postal code wins (Singapore postal codes name one building).
   If the exact matches are several places more than ``SAME_PLACE_M`` apart, the address breaks the tie; if it
   cannot, the stop is ambiguous.
2. Otherwise the address is compared token by token with each result (abbreviations expanded, typos tolerated,
   block/house number checked separately). The best result must score at least ``ACCEPT_SCORE`` and beat the
   best result at a *different* place by ``AMBIGUITY_MARGIN``; results at the same place (one building listed
   under several names) never make a stop ambiguous.
3. No result, or nothing good enough: the stop needs attention, with the candidates listed.

Pure Python, no Dagster and no I/O: the geocoder resource feeds it parsed OneMap answers.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Any

from .schema import SG_LAT_MAX, SG_LAT_MIN, SG_LON_MAX, SG_LON_MIN
from .service_area import in_service_area

OK = "ok"
AMBIGUOUS = "ambiguous"
NOT_FOUND = "not_found"

ACCEPT_SCORE = 0.75  # share of the planner's address words found in the result, after the block check
AMBIGUITY_MARGIN = 0.10  # the winner must beat the best result elsewhere by this much
SAME_PLACE_M = 150.0  # results closer than this are one place (a building with several entries)
POSTAL_ONLY_CONFIDENCE = 1.0
POSTAL_ADDRESS_CONFLICT_CONFIDENCE = 0.7
MAX_LISTED_CANDIDATES = 5
MAX_QUERY_KEY = 300

_NIL = {"", "NIL", "NULL", "NONE", "NA", "N/A"}
_UNIT = re.compile(r"#\s*[A-Z0-9]+(?:\s*-\s*[A-Z0-9]+)?")
_WORD = re.compile(r"[A-Z0-9]+")
_HOUSE = re.compile(r"^\d+[A-Z]?$")
_POSTAL6 = re.compile(r"^\d{6}$")
# Common Singapore address abbreviations, expanded so "Blk 123 Ang Mo Kio Ave 3" meets OneMap's spelling.
ABBREVIATIONS = {
    "AVE": "AVENUE",
    "AV": "AVENUE",
    "RD": "ROAD",
    "ST": "STREET",
    "STR": "STREET",
    "DR": "DRIVE",
    "CRES": "CRESCENT",
    "CR": "CRESCENT",
    "CL": "CLOSE",
    "CT": "COURT",
    "PL": "PLACE",
    "TER": "TERRACE",
    "LN": "LANE",
    "HTS": "HEIGHTS",
    "PK": "PARK",
    "CTRL": "CENTRAL",
    "CTR": "CENTRE",
    "CENTER": "CENTRE",
    "NTH": "NORTH",
    "STH": "SOUTH",
    "UPP": "UPPER",
    "UPR": "UPPER",
    "LOR": "LORONG",
    "JLN": "JALAN",
    "BT": "BUKIT",
    "TG": "TANJONG",
    "KG": "KAMPONG",
    "BLVD": "BOULEVARD",
    "EXPY": "EXPRESSWAY",
    "GDNS": "GARDENS",
    "GDN": "GARDEN",
    "IND": "INDUSTRIAL",
    "ESTE": "ESTATE",
    "HWY": "HIGHWAY",
    "MT": "MOUNT",
    "SQ": "SQUARE",
    "STN": "STATION",
    "INT": "INTERCHANGE",
    "BLDG": "BUILDING",
}
NOISE = {"BLK", "BLOCK", "SINGAPORE", "SG", "S", "THE", "OF", "AND", "UNIT", "NO"}


@dataclass(frozen=True)
class Candidate:
    """One OneMap search result, parsed: strings as OneMap sends them, coordinates as floats."""

    lat: float
    lon: float
    address: str
    postal: str | None = None
    blk_no: str | None = None
    road_name: str | None = None
    building: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "lat": self.lat,
            "lon": self.lon,
            "address": self.address,
            "postal": self.postal,
            "blk_no": self.blk_no,
            "road_name": self.road_name,
            "building": self.building,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Candidate:
        return cls(
            lat=float(data["lat"]),
            lon=float(data["lon"]),
            address=str(data.get("address") or ""),
            postal=data.get("postal"),
            blk_no=data.get("blk_no"),
            road_name=data.get("road_name"),
            building=data.get("building"),
        )

    def label(self) -> str:
        postal = f" ({self.postal})" if self.postal else ""
        return f"{self.address}{postal} at {self.lat:.5f},{self.lon:.5f}"


@dataclass(frozen=True)
class Match:
    """The decision for one stop: the chosen result (status ok) or why there is none."""

    status: str  # ok | ambiguous | not_found
    chosen: Candidate | None = None
    confidence: float | None = None
    reason: str | None = None
    candidates: tuple[dict[str, Any], ...] = field(default_factory=tuple)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return None if text.upper() in _NIL else text


def parse_search_results(payload: Any) -> list[Candidate]:
    """OneMap ``/api/common/elastic/search`` JSON to candidates; results without usable coordinates are skipped."""
    results = payload.get("results") if isinstance(payload, dict) else None
    out: list[Candidate] = []
    for item in results or []:
        if not isinstance(item, dict):
            continue
        try:
            lat = float(item.get("LATITUDE"))
            lon = float(item.get("LONGITUDE", item.get("LONGTITUDE")))
        except (TypeError, ValueError):
            continue
        if not (math.isfinite(lat) and math.isfinite(lon)):
            continue
        if not (SG_LAT_MIN <= lat <= SG_LAT_MAX and SG_LON_MIN <= lon <= SG_LON_MAX) or not in_service_area(lat, lon):
            continue  # OneMap only covers Singapore; anything else is a broken record
        postal = _text(item.get("POSTAL"))
        out.append(
            Candidate(
                lat=lat,
                lon=lon,
                address=_text(item.get("ADDRESS")) or _text(item.get("SEARCHVAL")) or "",
                postal=postal if postal and _POSTAL6.match(postal) else None,
                blk_no=_text(item.get("BLK_NO")),
                road_name=_text(item.get("ROAD_NAME")),
                building=_text(item.get("BUILDING")),
            )
        )
    return out


def parse_reverse_geocode(payload: Any) -> tuple[str | None, str | None]:
    """OneMap ``/api/public/revgeocode`` JSON to (address, postal code) of the nearest building, if any."""
    infos = None
    if isinstance(payload, dict):
        infos = payload.get("GeocodeInfo") or payload.get("results")
    for info in infos or []:
        if not isinstance(info, dict):
            continue
        postal = _text(info.get("POSTALCODE") or info.get("POSTAL") or info.get("POSTAL_CD"))
        postal = postal if postal and _POSTAL6.match(postal) else None
        address = _text(info.get("ADDRESS"))
        if not address:
            parts = [_text(info.get(k)) for k in ("BLOCK", "ROAD", "BUILDINGNAME")]
            address = " ".join(p for p in parts if p) or None
        if address or postal:
            return address, postal
    return None, None


# --- query keys ------------------------------------------------------------------------------------------


def normalise_address(text: str) -> str:
    """Upper case, single spaces, no punctuation, no unit number (``#05-12`` names no building in OneMap's
    index and only splits the cache): the form sent to OneMap and cached."""
    cleaned = _UNIT.sub(" ", text.upper())
    cleaned = re.sub(r"[^0-9A-Z\- ]+", " ", cleaned)
    return " ".join(cleaned.split())


def postal_query_key(postal_code: str) -> str:
    return f"postal:{postal_code}"


def address_query_key(address: str) -> str:
    return _bounded(f"address:{normalise_address(address).lower()}")


def reverse_query_key(lat: float, lon: float) -> str:
    return f"rev:{lat:.5f},{lon:.5f}"


def _bounded(key: str) -> str:
    """Cache keys fit the 300-character column; long addresses keep a readable prefix and a hash."""
    if len(key) <= MAX_QUERY_KEY:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return key[: MAX_QUERY_KEY - 17] + "~" + digest


# --- scoring ----------------------------------------------------------------------------------------------


def _tokens(text: str | None) -> list[str]:
    if not text:
        return []
    upper = _UNIT.sub(" ", text.upper())
    words = []
    for word in _WORD.findall(upper):
        word = ABBREVIATIONS.get(word, word)
        if word in NOISE or _POSTAL6.match(word):
            continue
        words.append(word)
    return words


def _split_house(tokens: list[str]) -> tuple[str | None, list[str]]:
    """The block/house number is the first number-like token before any word ("123A Bedok North")."""
    if tokens and _HOUSE.match(tokens[0]):
        return tokens[0], tokens[1:]
    return None, tokens


def _token_matches(word: str, pool: set[str]) -> bool:
    if word in pool:
        return True
    if len(word) < 4:
        return False
    return any(len(p) >= 3 and SequenceMatcher(None, word, p).ratio() >= 0.85 for p in pool)


def address_score(query: str, candidate: Candidate) -> float:
    """How well a result fits the planner's address, 0..1: word coverage times a block-number factor."""
    house, words = _split_house(_tokens(query))
    cand_tokens = _tokens(" ".join(filter(None, [candidate.address, candidate.road_name, candidate.building])))
    pool = set(cand_tokens)
    if not words:
        coverage = 1.0 if house else 0.0
    else:
        coverage = sum(_token_matches(w, pool) for w in words) / len(words)
    cand_house = candidate.blk_no.upper() if candidate.blk_no else None
    if cand_house is None:
        cand_house, _ = _split_house(cand_tokens)
    if house and cand_house:
        factor = 1.0 if house == cand_house else 0.5
    elif house:
        factor = 0.85  # the result has no block number to confirm ours
    else:
        factor = 1.0
    return round(coverage * factor, 4)


def distance_m(a: Candidate, b: Candidate) -> float:
    lat1, lat2 = math.radians(a.lat), math.radians(b.lat)
    dlat, dlon = lat2 - lat1, math.radians(b.lon - a.lon)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(math.sqrt(min(1.0, h)))


def _places(ranked: list[tuple[float, Candidate]]) -> list[tuple[float, Candidate]]:
    """Best result per place, in score order: results within SAME_PLACE_M of a better one are the same place."""
    places: list[tuple[float, Candidate]] = []
    for score, cand in ranked:
        if all(distance_m(cand, other) > SAME_PLACE_M for _, other in places):
            places.append((score, cand))
    return places


def _listing(ranked: list[tuple[float | None, Candidate]]) -> tuple[dict[str, Any], ...]:
    out = []
    for score, cand in ranked[:MAX_LISTED_CANDIDATES]:
        item = cand.to_dict()
        item["score"] = score
        out.append(item)
    return tuple(out)


def choose(postal_code: str | None, address: str | None, candidates: list[Candidate]) -> Match:
    """Pick the result that is this stop, or say why none can be trusted (see the module docstring)."""
    asked = " / ".join(
        p for p in (f"postal code {postal_code}" if postal_code else None, address and f"'{address}'") if p
    )
    if not candidates:
        return Match(status=NOT_FOUND, reason=f"OneMap found nothing for {asked}")
    scored = [(address_score(address, c) if address else None, c) for c in candidates]

    if postal_code:
        exact = [(s, c) for s, c in scored if c.postal == postal_code]
        if exact:
            ranked = sorted(exact, key=lambda sc: -(sc[0] or 0.0))
            places = _places([(s or 0.0, c) for s, c in ranked])
            if len(places) == 1:
                best_score, best = ranked[0]
                if address and best_score is not None and best_score < 0.3:
                    return Match(
                        status=OK,
                        chosen=best,
                        confidence=POSTAL_ADDRESS_CONFLICT_CONFIDENCE,
                        reason=f"postal code and address disagree; placed by postal code {postal_code}: {best.address}",
                        candidates=_listing(ranked),
                    )
                return Match(status=OK, chosen=best, confidence=POSTAL_ONLY_CONFIDENCE, candidates=_listing(ranked))
            if address and places[0][0] >= ACCEPT_SCORE and places[0][0] - places[1][0] >= AMBIGUITY_MARGIN:
                return Match(
                    status=OK,
                    chosen=places[0][1],
                    confidence=round(0.9 * places[0][0] + 0.1, 4),
                    candidates=_listing(ranked),
                )
            return Match(
                status=AMBIGUOUS,
                reason=f"postal code {postal_code} matches {len(places)} different places in OneMap",
                candidates=_listing(ranked),
            )
        if not address:
            return Match(
                status=NOT_FOUND,
                reason=f"OneMap has no place with postal code {postal_code} (closest results listed)",
                candidates=_listing(scored),
            )

    if not address:
        return Match(status=NOT_FOUND, reason="nothing to search for: no address or postal code")
    ranked = sorted(((s or 0.0, c) for s, c in scored), key=lambda sc: -sc[0])
    best_score, best = ranked[0]
    if best_score < ACCEPT_SCORE:
        return Match(
            status=NOT_FOUND,
            reason=f"no OneMap result matches {asked} well enough (best score {best_score:.2f})",
            candidates=_listing(ranked),
        )
    places = _places(ranked)
    if len(places) > 1 and places[0][0] - places[1][0] < AMBIGUITY_MARGIN:
        close = [p for p in places if places[0][0] - p[0] < AMBIGUITY_MARGIN]
        return Match(
            status=AMBIGUOUS,
            reason=f"{asked} matches {len(close)} different places in OneMap equally well",
            candidates=_listing(ranked),
        )
    confidence = best_score
    reason = None
    if postal_code:
        confidence = round(best_score * 0.9, 4)
        reason = f"postal code {postal_code} not found in OneMap; placed by address at {best.address}"
    return Match(status=OK, chosen=best, confidence=confidence, reason=reason, candidates=_listing(ranked))


def describe_candidates(candidates: tuple[dict[str, Any], ...] | list[dict[str, Any]]) -> str:
    """A one-line list for reasons and tables: '1) ADDRESS (POSTAL) at lat,lon; 2) ...'."""
    parts = []
    for i, c in enumerate(candidates, 1):
        postal = f" ({c['postal']})" if c.get("postal") else ""
        parts.append(f"{i}) {c.get('address')}{postal} at {c['lat']:.5f},{c['lon']:.5f}")
    return "; ".join(parts)
