"""Partition keys derived from stop file names.

Dagster accepts almost anything as a dynamic key, but '/' nests IO-manager paths and ',|[]' break
multi-partition dimensions, so keys keep only [A-Za-z0-9_.-].

Cleaning is lossy: `week 1.csv` and `week_1.csv` clean to the same key, and names equal in their first
``MAX_KEY_LENGTH`` characters truncate to the same key. ``unique_partition_key`` therefore adds a short hash of the
full name whenever the cleaned key is truncated or already belongs to another file; the caller stores the
name -> key mapping it returns, so a re-upload of the same name keeps its key whatever arrived in between.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import PurePosixPath

MAX_KEY_LENGTH = 120
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
_SHORT_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,5}$")


def _base_name(file_name: str) -> str:
    return PurePosixPath(file_name.replace("\\", "/")).name


def _digest(text: str, length: int = 8) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:length]


def _cleaned(file_name: str) -> str:
    """The safe form of the name, before any length limit."""
    base = _base_name(file_name)
    key = _UNSAFE.sub("_", base).strip("._-")
    key = re.sub(r"\.{2,}", ".", key)
    if not re.sub(r"^[A-Za-z0-9]{1,5}$", "", key):
        # Nothing but an extension survived (a name in Chinese or Tamil, say): keep files apart by a name hash.
        key = f"stop_file_{_digest(base)}" + (f".{key}" if key else "")
    return key


def partition_key_for(file_name: str) -> str:
    """The cleaned key of a name: what a file gets when nothing else claimed it first and it fits.

    Two names can share it; ``unique_partition_key`` is what assigns keys to files.
    """
    return _cleaned(file_name)[:MAX_KEY_LENGTH]


def _with_hash(cleaned: str, full_name: str, digest_length: int) -> str:
    """``<stem>_<hash><suffix>`` within ``MAX_KEY_LENGTH``: the extension stays last, the stem gives way."""
    match = _SHORT_SUFFIX.search(cleaned)
    suffix = match.group(0) if match else ""
    stem = cleaned[: len(cleaned) - len(suffix)] if suffix else cleaned
    tag = "_" + _digest(full_name, digest_length)
    stem = stem[: MAX_KEY_LENGTH - len(tag) - len(suffix)].rstrip("._-")
    return f"{stem}{tag}{suffix}"


def unique_partition_key(file_name: str, is_taken: Callable[[str], bool]) -> str:
    """A key for ``file_name`` that no other file holds (``is_taken(key)`` says whether one does).

    The cleaned name when it fits and is free; otherwise the cleaned name with a hash of the full name (longer
    hashes, then a counter, in the astronomically unlikely case that one is taken too). Deterministic for a
    given set of taken keys.
    """
    cleaned = _cleaned(file_name)
    if len(cleaned) <= MAX_KEY_LENGTH and not is_taken(cleaned):
        return cleaned
    for length in (8, 12, 16, 24, 40):
        candidate = _with_hash(cleaned, file_name, length)
        if not is_taken(candidate):
            return candidate
    counter = 2
    while True:
        candidate = _with_hash(cleaned, f"{file_name}\x00{counter}", 40)
        if not is_taken(candidate):
            return candidate
        counter += 1
