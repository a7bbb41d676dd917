"""exports/index.html: every published plan by delivery day (newest first), then depot, with its counts.

A dispatcher's first question is "where is today's plan?", not "which partition". The index is made from the
manifests the exports publish (one per partition), so it says what is really published, and it is rewritten
whenever exports change (a new plan, retention). Plain HTML, every value escaped, no script.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from html import escape

from .plan_page import STYLE


@dataclass(frozen=True)
class PublishedPlan:
    """One partition's published manifest and where its files are, relative to the index."""

    manifest: dict
    href_base: str  # e.g. "orders.csv/" (local) or "orders.csv/plans/p-123-ab12cd34/" (bucket)


def _status(m: dict) -> str:
    off = int(m.get("dropped") or 0) + int(m.get("invalid") or 0) + int(m.get("not_located") or 0)
    return "all rows on a route" if off == 0 else f"{off} rows not on a route"


def _sort_key(p: PublishedPlan) -> tuple:
    m = p.manifest
    return (str(m.get("plan_date") or ""), str(m.get("depot") or ""), str(m.get("partition") or ""))


def day_index_html(plans: list[PublishedPlan], *, now: dt.datetime | None = None) -> str:
    now = now or dt.datetime.now(dt.UTC)
    ordered = sorted(plans, key=_sort_key)
    # Newest day first, depots in order within a day: sort ascending by (depot, file), then stably by day desc.
    ordered.sort(key=lambda p: str(p.manifest.get("plan_date") or ""), reverse=True)
    rows = []
    for p in ordered:
        m = p.manifest
        base = escape(p.href_base, quote=True)
        cells = [
            escape(str(m.get("plan_date") or "no day")),
            escape(str(m.get("depot") or "")),
            f'<a href="{base}plan.html">{escape(str(m.get("source_file") or m.get("partition") or ""))}</a>',
            *(f'<td class="n">{int(m.get(k) or 0)}</td>' for k in ("rows", "served", "dropped", "invalid")),
            f'<td class="n">{int(m.get("not_located") or 0)}</td>',
            f'<td class="n">{int(m.get("vehicles_used") or 0)}</td>',
            escape(_status(m)),
            f'<a href="{base}driver_pack.pdf">PDF</a> · <a href="{base}planner.csv">CSV</a>',
        ]
        rows.append("<tr>" + "".join(c if c.startswith("<td") else f"<td>{c}</td>" for c in cells) + "</tr>")
    headers = ["day", "depot", "plan", "rows", "served", "dropped", "invalid", "not located", "vehicles", "status",
               "files"]  # fmt: skip
    head = "".join(f"<th>{h}</th>" for h in headers)
    body = "".join(rows) or f'<tr><td colspan="{len(headers)}">No plan is published yet.</td></tr>'
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            "<meta http-equiv=\"Content-Security-Policy\" content=\"script-src 'none'; object-src 'none'\">",
            f"<title>Route plans</title><style>{STYLE}</style></head><body>",
            f"<header><h1>Route plans</h1><p>{len(plans)} published · updated {now:%Y-%m-%d %H:%M} UTC</p></header>",
            f"<main><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></main></body></html>",
        ]
    )
