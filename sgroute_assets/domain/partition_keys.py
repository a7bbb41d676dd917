"""Partition keys derived from stop file names.

Dagster accepts almost anything as a dynamic key, but '/' nests IO-manager paths and ',|[]' break
multi-partition dimensions, so keys keep only [A-Za-z0-9_.-].
"""

from __future__ import annotations

import hashlib
import re
from pathlib import PurePosixPath

MAX_KEY_LENGTH = 120
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def partition_key_for(file_name: str) -> str:
    base = PurePosixPath(file_name.replace("\\", "/")).name
    key = _UNSAFE.sub("_", base).strip("._-")
    key = re.sub(r"\.{2,}", ".", key)
    if not re.sub(r"^[A-Za-z0-9]{1,5}$", "", key):
        # Nothing but an extension survived (a name in Chinese or Tamil, say): keep files apart by a name hash.
        digest = hashlib.sha1(base.encode("utf-8")).hexdigest()[:8]
        key = f"stop_file_{digest}" + (f".{key}" if key else "")
    return key[:MAX_KEY_LENGTH]
