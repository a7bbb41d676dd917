"""A seeded corpus of hostile stop files, for the fuzz test (a few hundred) and the benchmark (2,000).

Each file is what a broken export, an odd spreadsheet or an attacker could drop into the inbox: odd encodings
and delimiters, formulas, hostile strings, damaged workbook XML inside a valid zip, lying sheet dimensions,
oversized cell counts. Deterministic for a seed, so a failure names a file that can be made again.
"""

from __future__ import annotations

import io
import random
import zipfile
from collections.abc import Iterator

HOSTILE = [
    "=HYPERLINK(\"http://x\")", "+1+1", "-2", "@SUM(A1)", "\t=1", "</script><script>alert(1)</script>",
    "${alert(1)}", "`cmd`", "C:\\users\\x\\new", "12\\3", "请按门铃", "வணக்கம்", "📦⚠️", "\u2028",
    "'; DROP TABLE stops;--",
    "NULL", "N/A", "", " ", "1e308", "-0", "99999999999999999999", "\x00", "a" * 300,
]  # fmt: skip
HEADERS = ["stop_ref", "address", "postal_code", "lat", "lon", "demand", "phone", "notes", "tw_start", "tw_end"]


def _cell(rng: random.Random) -> str:
    choice = rng.random()
    if choice < 0.3:
        return rng.choice(HOSTILE)
    if choice < 0.5:
        return f"{rng.uniform(1.2, 1.47):.5f}"
    if choice < 0.7:
        return str(rng.randint(-5, 10 ** rng.randint(1, 12)))
    return "".join(rng.choice("abc XYZ#-,;\"'\n\r0123") for _ in range(rng.randint(0, 20)))


def _csv(rng: random.Random) -> bytes:
    delimiter = rng.choice([",", ";", "\t", "|"])
    columns = rng.sample(HEADERS, rng.randint(1, len(HEADERS)))
    if rng.random() < 0.8 and "stop_ref" not in columns:
        columns[0] = "stop_ref"
    lines = [delimiter.join(columns)]
    for _ in range(rng.randint(0, 40)):
        cells = [_cell(rng) for _ in range(rng.randint(0, len(columns) + 3))]
        lines.append(delimiter.join(f'"{c}"' if rng.random() < 0.3 else c for c in cells))
    text = "\n".join(lines)
    encoding = rng.choice(["utf-8", "utf-8-sig", "utf-16", "latin-1", "cp1252"])
    data = text.encode(encoding, errors="replace")
    if rng.random() < 0.1:  # truncated mid-way
        data = data[: rng.randint(0, len(data))]
    return data


def _workbook(rng: random.Random) -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    for sheet_index in range(rng.randint(1, 3)):
        ws = wb.active if sheet_index == 0 else wb.create_sheet(f"S{sheet_index}")
        columns = rng.sample(HEADERS, rng.randint(1, len(HEADERS)))
        ws.append(columns)
        for _ in range(rng.randint(0, 30)):
            row = []
            for _ in range(len(columns)):
                value: object = _cell(rng).replace("\x00", "")
                if rng.random() < 0.1:
                    value = rng.choice([1.5, -3, 10**15, True, None])
                row.append(value)
            try:
                ws.append(row)
            except Exception:  # noqa: BLE001 - openpyxl refuses some control characters: leave the row out
                continue
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def damaged_workbook(data: bytes, rng: random.Random) -> bytes:
    """The same zip with one sheet's XML damaged: cut short, a tag broken, or a huge dimension declared."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            body = source.read(info.filename)
            if info.filename.startswith("xl/worksheets/sheet"):
                how = rng.choice(["cut", "tag", "dimension", "garbage"])
                if how == "cut":
                    body = body[: rng.randint(1, max(1, len(body) - 1))]
                elif how == "tag":
                    body = body.replace(b"<row", b"<ro w", 1)
                elif how == "dimension":
                    body = body.replace(b'<dimension ref="', b'<dimension ref="A1:T1000000 ', 1)
                else:
                    body = bytes(rng.randrange(256) for _ in range(200))
            target.writestr(info, body)
    return out.getvalue()


def corpus(count: int, seed: int = 20261202) -> Iterator[tuple[str, bytes]]:
    """``count`` (name, bytes) pairs: CSVs, workbooks and damaged workbooks, mixed."""
    rng = random.Random(seed)
    for k in range(count):
        kind = rng.random()
        if kind < 0.5:
            yield f"fuzz_{k:04d}.csv", _csv(rng)
        elif kind < 0.75:
            yield f"fuzz_{k:04d}.xlsx", _workbook(rng)
        else:
            yield f"fuzz_{k:04d}.xlsx", damaged_workbook(_workbook(rng), rng)


def one_character_cells_csv(size_bytes: int = 20 * 1024 * 1024 - 1024) -> bytes:
    """The probe's 20 MB CSV of one-character cells: ten million cells in a file under the byte limit."""
    header = b"stop_ref," + b",".join(b"c%d" % i for i in range(19)) + b"\n"
    row = b",".join([b"a"] * 20) + b"\n"
    return header + row * ((size_bytes - len(header)) // len(row))


def streamed_rows_workbook(rows: int, *, compress: bool, declared_rows: int | None = None) -> bytes:
    """A real workbook whose one sheet streams ``rows`` one-cell rows (no <dimension> unless ``declared_rows``).

    Deflated, a million such rows pack into about a megabyte (the probe's 1.3 MB workbook); stored, the zip is
    the size of the XML, which is how a sheet without a declared dimension gets past the ratio check.
    """
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.title = "stops"
    wb.active.append(["stop_ref"])
    buf = io.BytesIO()
    wb.save(buf)
    out = io.BytesIO()
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    row = b'<row><c t="inlineStr"><is><t>a</t></is></c></row>'
    with zipfile.ZipFile(buf) as source, zipfile.ZipFile(out, "w", method) as target:
        for info in source.infolist():
            if info.filename != "xl/worksheets/sheet1.xml":
                target.writestr(info.filename, source.read(info.filename))
                continue
            with target.open(info.filename, "w") as sheet:
                sheet.write(b'<?xml version="1.0" encoding="UTF-8"?>')
                sheet.write(b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">')
                if declared_rows:
                    sheet.write(b'<dimension ref="A1:T%d"/>' % declared_rows)
                sheet.write(b'<sheetData><row><c t="inlineStr"><is><t>stop_ref</t></is></c></row>')
                chunk = row * 1000
                for _ in range(rows // 1000):
                    sheet.write(chunk)
                sheet.write(b"</sheetData></worksheet>")
    return out.getvalue()
