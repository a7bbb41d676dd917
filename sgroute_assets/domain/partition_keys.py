"""Partition keys derived from stop file names.

Dagster accepts almost anything as a dynamic key, but '/' nests IO-manager paths and ',|[]' break
multi-partition dimensions, so keys keep only [A-Za-z0-9_.-].
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

MAX_KEY_LENGTH = 120
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def partition_key_for(file_name: str) -> str:
    base = PurePosixPath(file_name.replace("\\", "/")).name
    key = _UNSAFE.sub("_", base).strip("._-")
    key = re.sub(r"\.{2,}", ".", key)
    return key[:MAX_KEY_LENGTH] or "stop_file"
