"""The printed driver pack: a cover for the dispatcher, then one page set per vehicle for its driver.

Drivers work from paper when phones die or signal drops, so each vehicle starts on a new page (tear off and
hand over) and tables repeat their header when a long route runs over a page.
"""

from __future__ import annotations

import io
from contextvars import ContextVar

from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, StyleSheet1, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    Image,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)
from reportlab.platypus.doctemplate import LayoutError

from ..routing import (
    Route,
    RoutePlan,
    accounting_text,
    clock,
    day_label,
    eta_source_text,
    fleet_lines,
    load_text,
    plan_title,
    stop_windows_text,
    unplanned_address,
    vehicle_label,
)
from .changes_csv import change_notice
from .colors import vehicle_color
from .navigation import navigation_links
from .pdf_fonts import pdf_fonts, pdf_text

MARGIN = 14 * mm
FRAME_WIDTH = A4[0] - 2 * MARGIN
HEADER_BG = colors.HexColor("#2F3B4C")
STRIPE_BG = colors.HexColor("#F2F4F7")
GRID = colors.HexColor("#C8CDD5")


def _styles() -> StyleSheet1:
    regular, bold = pdf_fonts()
    sheet = getSampleStyleSheet()
    for name in ("Normal", "BodyText", "Title", "Heading1", "Heading2", "Heading3"):
        sheet[name].fontName = bold if name.startswith(("Title", "Heading")) else regular
    sheet.add(ParagraphStyle("Cell", parent=sheet["Normal"], fontSize=8, leading=9.6))
    sheet.add(ParagraphStyle("CellRight", parent=sheet["Cell"], alignment=TA_RIGHT))
    sheet.add(ParagraphStyle("HeadCell", parent=sheet["Cell"], fontName=bold, textColor=colors.white))
    sheet.add(ParagraphStyle("HeadCellRight", parent=sheet["HeadCell"], alignment=TA_RIGHT))
    sheet.add(
        ParagraphStyle("Small", parent=sheet["Normal"], fontSize=8.5, leading=11, textColor=colors.HexColor("#444444"))
    )
    return sheet


# Longest text a table cell shows. A 1,500-character address would make one row taller than a page, which
# reportlab cannot split (LayoutError) - the pack must never be lost for one odd field. The CSVs keep it whole.
MAX_CELL_CHARS = 240
_cell_limit: ContextVar[int] = ContextVar("cell_limit", default=MAX_CELL_CHARS)


def clip(value: object, limit: int | None = None) -> str:
    limit = min(limit or MAX_CELL_CHARS, _cell_limit.get())
    text = " ".join(("" if value is None else str(value)).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "… (see CSV)"


def _p(value: object, style: ParagraphStyle, limit: int | None = None) -> Paragraph:
    """Paragraph markup treats & < > as markup, so plan text (addresses, names) is always escaped and clipped."""
    return Paragraph(pdf_text(clip(value, limit)), style)


def _lines(values: list[str | None], limit: int | None = None) -> str:
    """Several clipped, escaped values as lines of one cell."""
    return "<br/>".join(pdf_text(clip(v, limit)) for v in values if v)


class _Bookmark(Flowable):
    """An outline entry where it is drawn, so a dispatcher can jump straight to one vehicle's pages."""

    def __init__(self, key: str, title: str) -> None:
        super().__init__()
        self.key, self.title = key, title
        self.width = self.height = 0

    def draw(self) -> None:
        self.canv.bookmarkPage(self.key)
        self.canv.addOutlineEntry(self.title, self.key, level=0)
        self.canv.showOutline()  # viewers open with the outline panel showing


def readable_phone(phone: str | None) -> str | None:
    """+6591234567 as +65 9123 4567, the grouping Singaporeans read and dial; other numbers stay as given."""
    if phone and len(phone) == 11 and phone.startswith("+65") and phone[1:].isdigit():
        return f"+65 {phone[3:7]} {phone[7:]}"
    return phone


def _table(rows: list[list[Flowable | str]], widths: list[float], *, striped: bool = True) -> Table:
    table = Table(rows, colWidths=widths, repeatRows=1, hAlign="LEFT")
    commands: list[tuple] = [
        ("BACKGROUND", (0, 0), (-1, 0), HEADER_BG),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.4, GRID),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ]
    if striped:
        commands.append(("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, STRIPE_BG]))
    table.setStyle(TableStyle(commands))
    return table


def _key_values(pairs: list[tuple[str, str]], sheet: StyleSheet1) -> Table:
    label_style = ParagraphStyle("Key", parent=sheet["Cell"], fontSize=9.5, leading=12, fontName=pdf_fonts()[1])
    value_style = ParagraphStyle("Value", parent=sheet["Cell"], fontSize=9.5, leading=12)
    rows = [[_p(k, label_style), _p(v, value_style)] for k, v in pairs]
    table = Table(rows, colWidths=[42 * mm, FRAME_WIDTH - 42 * mm], hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
            ]
        )
    )
    return table


def _map_image(map_png: bytes, max_height: float) -> Image:
    """Scaled to the frame width, or down to max_height so the cover keeps room for the totals."""
    width_px, height_px = ImageReader(io.BytesIO(map_png)).getSize()
    width = FRAME_WIDTH
    height = width * height_px / width_px
    if height > max_height:
        width, height = width * max_height / height, max_height
    return Image(io.BytesIO(map_png), width=width, height=height)


def _cover(plan: RoutePlan, title: str, map_png: bytes | None, sheet: StyleSheet1) -> list[Flowable]:
    fleet = plan.fleet
    totals = plan.totals()
    story: list[Flowable] = [_Bookmark("cover", "Summary"), Paragraph(pdf_text(clip(title, 120)), sheet["Title"])]
    pairs = [
        ("Depot", f"{fleet.depot_name} ({fleet.depot_lat:.5f}, {fleet.depot_lon:.5f})"),
        ("Fleet", "; ".join(fleet_lines(plan))),
        ("Rows", accounting_text(plan)),
        ("ETAs", eta_source_text(plan).removeprefix("ETAs from ")),
        ("Vehicles", f"{totals['vehicles_used']} used of {totals['vehicles_available']} available"),
        (
            "Total",
            f"{totals['total_distance_km']} km, {totals['total_duration_min']} min on the road "
            f"(driving {totals['total_drive_min']} min, "
            f"waiting {totals['total_wait_min']} min)",
        ),
    ]
    if totals["stops_with_warnings"]:
        pairs.append(("Warnings", f"{totals['stops_with_warnings']} planned stops have warnings (shown at the stop)"))
    if plan.source_file or plan.plan_id:
        plan_ref = f"plan {plan.plan_id or '-'} from {plan.source_file or '-'}"
        if plan.data_version:
            plan_ref += f" (version {plan.data_version})"
        pairs.append(("Plan", plan_ref))
    story.append(_key_values(pairs, sheet))
    story.append(Spacer(1, 4 * mm))
    if map_png:
        story.append(_map_image(map_png, max_height=115 * mm))
        story.append(Spacer(1, 4 * mm))
    story.extend(_unplanned_table(plan, sheet))
    return story


def _unplanned_table(plan: RoutePlan, sheet: StyleSheet1) -> list[Flowable]:
    """Every row of the file that is on no route, dropped, invalid or not located, with why."""
    # keepWithNext: the heading moves to the next page with the table rather than end a page on its own.
    heading_style = ParagraphStyle("DroppedHeading", parent=sheet["Heading3"], keepWithNext=1)
    unplanned = plan.unplanned()
    heading = Paragraph(f"Not on a route ({len(unplanned)})", heading_style)
    if not unplanned:
        return [heading, Paragraph("Every row of the file is on a route.", sheet["Small"])]
    cell, head = sheet["Cell"], sheet["HeadCell"]
    rows: list[list[Flowable | str]] = [
        [_p(h, head) for h in ("Row", "Stop ref", "Status", "Reason", "Why", "Address", "Contact")]
    ]
    for u in unplanned:
        contact = _lines([u.field_text("contact_name"), readable_phone(u.field_text("phone") or None)], 60)
        rows.append(
            [
                _p(u.row, cell),
                _p(u.stop_ref or "", cell),
                _p(u.status.replace("_", " "), cell),
                _p(u.reason, cell),
                _p(u.message, cell),
                _p(unplanned_address(u), cell),
                Paragraph(contact, cell),
            ]
        )
    widths = [10 * mm, 20 * mm, 16 * mm, 26 * mm, 48 * mm, 0.0, 30 * mm]  # "needs_attention" unbroken
    widths[5] = FRAME_WIDTH - sum(widths)
    return [heading, _table(rows, widths)]


def _nav(stop) -> str:
    """Tappable Google Maps and Waze links under the stop (URLs built from its coordinates only)."""
    maps, waze = navigation_links(stop.lat, stop.lon)
    if not maps:
        return ""
    return f'<br/><a href="{maps}" color="#1a5fb4">Maps</a> · <a href="{waze}" color="#1a5fb4">Waze</a>'


def _vehicle_section(plan: RoutePlan, route: Route, sheet: StyleSheet1) -> list[Flowable]:
    cell = sheet["Cell"]
    head, head_right = sheet["HeadCell"], sheet["HeadCellRight"]
    color = vehicle_color(route.vehicle)
    heading = ParagraphStyle("VehicleHeading", parent=sheet["Heading1"], textColor=colors.HexColor(color))
    summary = (
        f"{len(route.visits)} stops · load {load_text(plan, route)} · "
        f"depart {clock(route.start_s)} · back {clock(route.end_s)} · {route.distance_m / 1000:.1f} km"
    )
    if route.break_start_s is not None:
        summary += f" · break {clock(route.break_start_s)}–{clock(route.break_end_s)}"
    start_at, end_at = plan.start_point(route), plan.end_point(route)
    where = (
        f"Start and finish at {clip(start_at.name, 120)}"
        if start_at == end_at
        else f"Start at {clip(start_at.name, 60)} ({start_at.lat:.5f}, {start_at.lon:.5f}), "
        f"finish at {clip(end_at.name, 60)} ({end_at.lat:.5f}, {end_at.lon:.5f})"
    )
    day = day_label(plan.plan_date)
    rows: list[list[Flowable | str]] = [
        [
            _p("Seq", head_right),
            _p("ETA", head),
            _p("Wait", head_right),
            _p("Service", head),
            _p("Window", head),
            _p("Stop", head),
            _p("Address", head),
            _p("Contact", head),
            _p("Notes", head),
        ]
    ]
    break_at = route.break_after if route.break_start_s is not None else None
    break_cells = [
        "",
        clock(route.break_start_s or 0),
        "",
        f"{clock(route.break_start_s or 0)}–{clock(route.break_end_s or 0)}",
        "",
        Paragraph("Break", cell),
        Paragraph(pdf_text(f"Driver break, {route.break_s // 60} min"), cell),
        "",
        "",
    ]
    for k, visit in enumerate(route.visits):
        if break_at == k:
            rows.append(list(break_cells))
        stop = visit.stop
        address = _lines([stop.address, f"S{stop.postal_code}" if stop.postal_code else None])
        contact = _lines([stop.contact_name, readable_phone(stop.phone)])
        notes = _lines([stop.notes])
        if stop.warnings:
            warned = _lines(["⚠ " + w for w in stop.warnings], 160)
            notes += ("<br/>" if notes else "") + f'<font color="#B42318">{warned}</font>'
        wait = f"{round(visit.wait_s / 60)} min" if visit.wait_s >= 60 else ""
        # Short, fixed-width cells are plain strings (no paragraph layout): a 5,000-stop pack stays fast.
        rows.append(
            [
                str(visit.sequence),
                clock(visit.arrival_s),
                wait,
                f"{clock(visit.service_start_s)}–{clock(visit.departure_s)}",
                stop_windows_text(stop),
                Paragraph(
                    _lines([stop.stop_ref, f"{stop.demand} units" if stop.demand else None], 60) + _nav(stop), cell
                ),
                Paragraph(address, cell),
                Paragraph(contact, cell),
                Paragraph(notes, cell),
            ]
        )
    if break_at is not None and break_at == len(route.visits):
        rows.append(list(break_cells))
    widths = [10 * mm, 11 * mm, 10 * mm, 22 * mm, 19 * mm, 20 * mm, 0.0, 28 * mm, 30 * mm]  # "Seq" on one line
    widths[6] = FRAME_WIDTH - sum(widths)
    table = _table(rows, widths)
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 1), (4, -1), pdf_fonts()[0]),
                ("FONTSIZE", (0, 1), (4, -1), cell.fontSize),
                ("LEADING", (0, 1), (4, -1), cell.leading),
                ("FONTNAME", (1, 1), (1, -1), pdf_fonts()[1]),  # the ETA stands out
                ("ALIGN", (0, 1), (0, -1), "RIGHT"),
                ("ALIGN", (2, 1), (2, -1), "RIGHT"),
            ]
        )
    )
    notice = change_notice(plan, route.vehicle_name)
    return [
        PageBreak(),
        _Bookmark(route.vehicle_id, f"Vehicle {route.vehicle_id}"),
        *([Paragraph(f"<b>{pdf_text(notice)}</b>", sheet["BodyText"])] if notice else []),
        Paragraph(f"Vehicle {pdf_text(vehicle_label(route))}" + (f" · {pdf_text(day)}" if day else ""), heading),
        Paragraph(pdf_text(summary), sheet["BodyText"]),
        Paragraph(
            pdf_text(f"{where}. ETA is when you arrive; wait is the time until the window opens."),
            sheet["Small"],
        ),
        Spacer(1, 3 * mm),
        table,
    ]


def driver_pack_pdf(plan: RoutePlan, *, title: str | None = None, map_png: bytes | None = None) -> bytes:
    """Cover page, then one section per vehicle; every page footed with the title, plan and page number.

    Cells are clipped so no row outgrows a page; should reportlab still fail to lay a page out, the pack is
    rebuilt with tighter clipping rather than lost.
    """
    try:
        return _build(plan, title or plan_title(plan), map_png)
    except LayoutError:
        token = _cell_limit.set(60)
        try:
            return _build(plan, title or plan_title(plan), map_png)
        finally:
            _cell_limit.reset(token)


def _build(plan: RoutePlan, title: str, map_png: bytes | None) -> bytes:
    sheet = _styles()
    regular, _ = pdf_fonts()
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN + 4 * mm,
        title=title,
        author="sgroute",
    )

    footer_style = ParagraphStyle(
        "Footer", fontName=regular, fontSize=8, leading=9.6, alignment=TA_RIGHT, textColor=colors.HexColor("#666666")
    )

    def footer(canvas: Canvas, document: SimpleDocTemplate) -> None:
        canvas.saveState()
        plan_ref = f" — plan {plan.plan_id}" if plan.plan_id else ""
        text = Paragraph(pdf_text(f"{clip(title, 80)}{plan_ref} — page {document.page}"), footer_style)
        _, height = text.wrap(FRAME_WIDTH, MARGIN)
        text.drawOn(canvas, MARGIN, MARGIN - 2 * mm - height + footer_style.fontSize)
        canvas.restoreState()

    story = _cover(plan, title, map_png, sheet)
    for route in plan.routes:
        story.extend(_vehicle_section(plan, route, sheet))
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buf.getvalue()
