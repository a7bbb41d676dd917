"""Text from stop files made safe for the markdown the Dagster UI renders.

A stop file is untrusted input: a pipe in an address splits a table row, raw HTML (`<img onerror=...>`)
would be rendered, and `[x](javascript:...)` becomes a link. Every file-sourced value that reaches markdown
metadata goes through `md_text`, and tables are built with `md_table` so no caller forgets.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence

_MD_SPECIAL = re.compile(r"([\\`*\[\]#|~])")
# An underscore between two letters or digits never starts emphasis (CommonMark), and the UI showed the escaped
# form literally in tables ("stop\_ref"): only underscores at a word's edge are escaped.
_EDGE_UNDERSCORE = re.compile(r"(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")
_AUTOLINK = re.compile(r"(?i)\b(?:https?|ftp|mailto|javascript):|\bwww\.")


def md_text(value: object) -> str:
    """One line of literal text: HTML escaped, markdown punctuation backslash-escaped, newlines as spaces."""
    if value is None:
        return ""
    text = " ".join(str(value).split())
    escaped = _EDGE_UNDERSCORE.sub(r"\\_", _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False)))
    # The UI's markdown turns bare URLs into links (GFM autolinks): a note's "https://..." or "www." stays text,
    # shown the same, through a character reference the autolinker does not see through.
    return _AUTOLINK.sub(lambda m: m.group(0)[:-1] + ("&#58;" if m.group(0).endswith(":") else "&#46;"), escaped)


def md_table(columns: Sequence[str], rows: Iterable[Sequence[object]], *, right: Sequence[str] = ()) -> list[str]:
    """A GitHub-style table; every cell escaped, columns named in ``right`` aligned right."""
    lines = [
        "| " + " | ".join(md_text(c) for c in columns) + " |",
        "|" + "|".join("---:" if c in right else "---" for c in columns) + "|",
    ]
    for row in rows:
        lines.append("| " + " | ".join(md_text(cell) for cell in row) + " |")
    return lines
