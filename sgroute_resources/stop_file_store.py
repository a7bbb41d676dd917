"""Where stop files arrive and where a partition's exports go.

The sensor and the assets only talk to this interface, so the local inbox of the embedded default and a
bucket in production are interchangeable resources (hooli-data-eng-pipelines' per-environment file system).
"""

import datetime as dt
import hashlib
import json
import os
import shutil
import time
import uuid
from abc import abstractmethod
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import quote

from dagster import ConfigurableResource

from sgroute_assets.domain.stops import partition_key_for, suffix_of


@dataclass(frozen=True)
class StoredFile:
    """A listing entry; ``stamp`` changes whenever the object may have changed (mtime+size, generation)."""

    name: str  # relative to the inbox (folder or bucket prefix)
    size: int
    stamp: str
    uri: str
    generation: str | None = None  # object generation in a bucket; None for local files
    mtime: float | None = None  # local files: last modification (epoch seconds); bucket objects are immutable

    @property
    def partition_key(self) -> str:
        """The cleaned name: trip logs key by it; stop files get their key from the stored mapping instead
        (``sgroute_resources.partition_key_map``), since two names can clean to one key."""
        return partition_key_for(self.name)

    @property
    def version(self) -> str:
        """What makes a run key: the generation in a bucket, size and mtime in a folder (no body read)."""
        return self.generation or self.stamp

    @property
    def supported(self) -> bool:
        return bool(suffix_of(self.name))


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


class StopFileNotFound(LookupError):
    pass


# Entries of the inbox that are never stop files, reported to ``on_ignored`` with the reason.
IgnoredCallback = Callable[[str, str], None]
INBOX_MIN_AGE_ENV = "SGROUTE_INBOX_MIN_AGE_S"
DEFAULT_INBOX_MIN_AGE_S = 2.0  # a local copy or an Excel save is done in well under a second; raise for slow shares


def inbox_min_age_s() -> float:
    """How long a local file must go unmodified before it counts as completely copied (SGROUTE_INBOX_MIN_AGE_S).

    A copy into the folder updates the file's mtime with every write, so a few seconds without a write means the
    copier is done (or stalled for that long: raise the value for slow network shares).
    """
    raw = os.environ.get(INBOX_MIN_AGE_ENV, "").strip()
    try:
        return max(0.0, float(raw)) if raw else DEFAULT_INBOX_MIN_AGE_S
    except ValueError:
        return DEFAULT_INBOX_MIN_AGE_S


@contextmanager
def inbox_copies_complete() -> Iterator[None]:
    """For a caller that copied its files into the inbox itself, whole, just before ticking (`sgroute plan`,
    `sgroute demo`): no minimum age for the duration."""
    previous = os.environ.get(INBOX_MIN_AGE_ENV)
    os.environ[INBOX_MIN_AGE_ENV] = "0"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(INBOX_MIN_AGE_ENV, None)
        else:
            os.environ[INBOX_MIN_AGE_ENV] = previous


MAX_QUARANTINE_NAME_BYTES = 200  # + ".report.json" stays under every file system's 255-byte name limit


def quarantined_name(name: str, tag: str) -> str:
    """``<stem>.<tag><suffix>``: every quarantined version kept apart, and still opened by its extension.

    Bounded to MAX_QUARANTINE_NAME_BYTES of UTF-8: a longer stem is cut on a character boundary and followed by
    a short hash of the whole name, so two long names stay apart (the report keeps the full name). A name of 221
    bytes (74 Chinese characters) used to make every sensor tick fail on "File name too long".
    """
    path = PurePosixPath(name)
    suffix = path.suffix if 1 < len(path.suffix) <= 6 else ""
    stem = name[: len(name) - len(suffix)] if suffix else name
    plain = f"{stem}.{tag}{suffix}"
    if len(plain.encode("utf-8")) <= MAX_QUARANTINE_NAME_BYTES:
        return plain
    digest = "~" + hashlib.sha256(name.encode("utf-8")).hexdigest()[:10]
    room = MAX_QUARANTINE_NAME_BYTES - len(f"{digest}.{tag}{suffix}".encode())
    cut = stem.encode("utf-8")[: max(room, 0)].decode("utf-8", errors="ignore")
    return f"{cut}{digest}.{tag}{suffix}"


def skipped_inbox_name(name: str) -> str | None:
    """Why an inbox entry is no stop file by its name alone (the folder and the bucket apply the same rule)."""
    if name.startswith("."):
        return "hidden file (name starts with '.'), e.g. a copy in progress"
    if name.startswith("~$"):
        return "an editor's lock file (name starts with '~$')"
    return None


def utc_tag(now: dt.datetime | None = None) -> str:
    """A UTC timestamp down to microseconds that sorts as text: 20261124T101530123456Z."""
    return (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%dT%H%M%S%fZ")


# A partition's exports are published as a whole: manifest.json names the plan (id, data version) and every file.
MANIFEST = "manifest.json"
# Each plan revision's own copy of its exports, kept beside the current set: exports/<partition>/rev-02/...
REVISION_PREFIX = "rev-"
EXPORT_INDEX = "index.html"  # every published plan by day (domain/exports/day_index.py), at the exports' top
# Written by validated_stops before a plan exists; carried into each newly published folder.
CARRIED_EXPORTS = ("validation_report.json", "validation_issues.csv")


def only_match(files: Iterable[StoredFile], partition_key: str, where: str, what: str = "stop file") -> StoredFile:
    """The one file whose name maps to ``partition_key``; keys come from names, so two names may collide."""
    matches = [f for f in files if f.partition_key == partition_key]
    if not matches:
        raise StopFileNotFound(f"no {what} for partition '{partition_key}' in {where}")
    if len(matches) > 1:
        names = ", ".join(sorted(f.name for f in matches))
        raise StopFileNotFound(f"partition '{partition_key}' matches several {what}s ({names}); rename one")
    return matches[0]


class StopFileStore(ConfigurableResource):
    """Abstract store; subclasses say where the files physically live."""

    @abstractmethod
    def iter_files(
        self, start_after: str | None = None, on_ignored: IgnoredCallback | None = None
    ) -> Iterator[StoredFile]:
        """Files in name order, strictly after ``start_after``; lazy, so a caller can stop early.

        Entries that are never stop files (folders, hidden files) are skipped and passed to ``on_ignored``.
        Listing reads no file body.
        """

    @abstractmethod
    def stat(self, name: str) -> StoredFile | None: ...

    @abstractmethod
    def read(self, name: str, generation: str | None = None) -> bytes:
        """The file's bytes; with ``generation``, those of that object generation (StopFileNotFound if replaced)."""

    def is_complete(self, stored: StoredFile, now: float) -> bool:
        """Whether the listed file is completely written; bucket objects only appear once their upload finished."""
        return True

    @abstractmethod
    def quarantine(self, name: str, report: dict, expected: StoredFile | None = None) -> str | None:
        """Move a file that cannot become a partition aside, with a JSON report beside it; return its new URI.

        Every quarantined version is kept (the generation or a UTC timestamp is in its quarantined name). With
        ``expected``, only that version is moved: if the file changed since, nothing moves and None is returned
        (the newer version gets its own run).
        """

    @abstractmethod
    def write_export(self, partition_key: str, relative_path: str, data: bytes) -> str: ...

    @abstractmethod
    def publish_exports(self, partition_key: str, files: dict[str, bytes], manifest: dict) -> dict[str, str]:
        """Write a plan's exports to a fresh location and swap them in whole; return name -> URI.

        No file of an earlier plan survives (a re-plan with fewer vehicles leaves no old driver sheet), and a
        crash while writing leaves the previous exports as they were.
        """

    @abstractmethod
    def read_export_manifest(self, partition_key: str) -> dict | None:
        """The manifest of the exports currently published for a partition, None if there are none."""

    @contextmanager
    def partition_lock(self, partition_key: str) -> Iterator[None]:
        """Held around a partition's publish (a no-op where the store has no lock to offer)."""
        yield

    def publish_if_newest(self, partition_key: str, files: dict[str, bytes], manifest: dict) -> dict[str, str] | None:
        """Publish unless the exports already published were requested later (``requested_at``): two runs of one
        partition that overlap leave the later request's exports, whichever finishes last. None when skipped."""
        with self.partition_lock(partition_key):
            current = self.read_export_manifest(partition_key) or {}
            mine, theirs = manifest.get("requested_at"), current.get("requested_at")
            if mine is not None and theirs is not None and theirs > mine:
                return None
            return self.publish_exports(partition_key, files, manifest)

    @abstractmethod
    def published_plans(self) -> list[tuple[dict, str]]:
        """Every partition's published manifest, with the relative link from the exports index to its files."""

    @abstractmethod
    def write_export_index(self, html: bytes) -> str:
        """Replace the exports index page (``index.html`` at the top of the exports) in one write; its URI."""

    def browser_url(self, uri: str) -> str | None:
        """A link a browser opens for an export URI, None when there is nowhere to serve it from."""
        return None

    @abstractmethod
    def describe(self) -> str: ...

    @abstractmethod
    def export_objects(self, partition_key: str) -> list[tuple[str, Callable[[], None]]]:
        """(URI, how to delete it) for every published export object or folder of a partition (retention)."""

    def list_files(self) -> list[StoredFile]:
        return list(self.iter_files())

    def find(self, partition_key: str, file_name: str | None = None) -> StoredFile:
        """The stop file behind a partition.

        ``file_name`` is the name the stored mapping gave this key (``partition_key_map.file_for_key``); only a
        partition made before keys were stored is searched for by its cleaned name.
        """
        if file_name:
            found = self.stat(file_name)
            if found is None:
                raise StopFileNotFound(
                    f"stop file '{file_name}' of partition '{partition_key}' is no longer in {self.describe()}"
                )
            return found
        return only_match((f for f in self.iter_files() if f.supported), partition_key, self.describe())


def repo_root() -> Path:
    return Path(__file__).resolve().parents[1]


class LocalStopFileStore(StopFileStore):
    """A folder inbox: the embedded default, and what `make demo` drops its files into."""

    inbox: str
    exports_dir: str
    quarantine_dir: str
    # Where `make dev` serves exports_dir read-only (SGROUTE_EXPORTS_URL), so metadata links open in a browser.
    exports_url: str = ""

    def _inbox(self) -> Path:
        return Path(self.inbox)

    def describe(self) -> str:
        return f"inbox folder {self.inbox}"

    def _entry(self, path: Path, st: os.stat_result | None = None) -> StoredFile:
        st = st or path.stat()
        return StoredFile(
            name=path.name,
            size=st.st_size,
            stamp=f"{st.st_mtime_ns}:{st.st_size}",
            uri=path.resolve().as_uri(),
            mtime=st.st_mtime_ns / 1e9,
        )

    def iter_files(
        self, start_after: str | None = None, on_ignored: IgnoredCallback | None = None
    ) -> Iterator[StoredFile]:
        root = self._inbox()
        if not root.is_dir():
            return
        entries = sorted(os.scandir(root), key=lambda e: e.name)
        for entry in entries:
            name = entry.name
            if start_after is not None and name <= start_after:
                continue
            skipped = skipped_inbox_name(name)
            if skipped:
                if on_ignored:
                    on_ignored(name, skipped)
                continue
            try:
                if not entry.is_file():
                    if on_ignored:
                        on_ignored(name, "not a file (a folder?): only files directly in the inbox are stop files")
                    continue
                st = entry.stat()
            except FileNotFoundError:
                continue  # removed while listing
            yield self._entry(root / name, st)

    def stat(self, name: str) -> StoredFile | None:
        path = self._inbox() / name
        try:
            return self._entry(path) if path.is_file() else None
        except FileNotFoundError:
            return None

    def read(self, name: str, generation: str | None = None) -> bytes:
        try:
            return (self._inbox() / name).read_bytes()
        except FileNotFoundError:
            raise StopFileNotFound(f"'{name}' is no longer in {self.describe()}") from None

    def is_complete(self, stored: StoredFile, now: float) -> bool:
        """Never on one look while a settle time is set: a copy that stalls (a slow share) looks old and whole.
        The sensor takes a folder file once its size and mtime are unchanged across two looks at least
        ``inbox_min_age_s()`` apart."""
        return inbox_min_age_s() <= 0

    def quarantine(self, name: str, report: dict, expected: StoredFile | None = None) -> str | None:
        source = self._inbox() / name
        if expected is not None:
            current = self.stat(name)
            if current is None or current.stamp != expected.stamp:
                return None
        target_dir = Path(self.quarantine_dir)
        target_dir.mkdir(parents=True, exist_ok=True)
        when = dt.datetime.now(dt.UTC)
        tag = utc_tag(when)
        target = target_dir / quarantined_name(name, tag)
        counter = 1
        while target.exists() or target.with_name(target.name + ".report.json").exists():
            counter += 1  # two quarantines within one microsecond
            target = target_dir / quarantined_name(name, f"{tag}-{counter}")
        report_path = target.with_name(target.name + ".report.json")
        report = {**report, "quarantined_at": when.isoformat(), "quarantined_as": target.resolve().as_uri()}
        report_path.write_text(json.dumps(report, indent=2, default=str))
        shutil.move(str(source), target)
        return target.resolve().as_uri()

    def quarantine_reports(self, name: str) -> list[dict]:
        """The reports of every quarantined version of ``name``, oldest first."""
        root = Path(self.quarantine_dir)
        if not root.is_dir():
            return []
        reports = []
        for path in sorted(root.glob("*.report.json")):
            try:
                report = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            if report.get("file") == name:
                reports.append(report)
        return sorted(reports, key=lambda r: str(r.get("quarantined_at", "")))

    def write_export(self, partition_key: str, relative_path: str, data: bytes) -> str:
        target = Path(self.exports_dir) / partition_key / relative_path
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, target)  # readers never see half a file; a re-run overwrites in place
        return str(target.resolve())

    def publish_exports(self, partition_key: str, files: dict[str, bytes], manifest: dict) -> dict[str, str]:
        """Everything is written to a staging folder first, then the folder is renamed into place.

        The old folder is moved aside and the new one renamed in (two renames on one file system, no copy), so
        `exports/<partition>/` only ever holds one plan's complete set of files.
        """
        root = Path(self.exports_dir)
        target = root / partition_key
        staging_root = root / ".staging"
        staging_root.mkdir(parents=True, exist_ok=True)
        self._recover(partition_key)
        self._clear_abandoned(staging_root, partition_key)
        token = uuid.uuid4().hex[:10]
        staging = staging_root / f"{partition_key}.{token}"
        try:
            for name, data in files.items():
                path = staging / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
            for name in CARRIED_EXPORTS:
                if name not in files and (target / name).is_file():
                    shutil.copy2(target / name, staging / name)
            # Earlier revisions' folders (rev-01/ ...) stay: hard links, so no byte is copied and the old set
            # stays whole until the swap.
            for folder in sorted(target.glob(f"{REVISION_PREFIX}*")) if target.exists() else []:
                if folder.is_dir() and not (staging / folder.name).exists():
                    shutil.copytree(folder, staging / folder.name, copy_function=os.link)
            listed = sorted({*files, *(n for n in CARRIED_EXPORTS if (staging / n).is_file())})
            revisions = sorted(p.name for p in staging.glob(f"{REVISION_PREFIX}*") if p.is_dir())
            body = {**manifest, "files": listed, "revisions": revisions}
            (staging / MANIFEST).write_text(json.dumps(body, indent=1, default=str))
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        retired = staging_root / f"{partition_key}.{token}.old"
        if target.exists():
            os.rename(target, retired)
        # A kill here leaves no target: the next reader or publisher puts the retired set back (_recover).
        os.rename(staging, target)
        shutil.rmtree(retired, ignore_errors=True)
        return {name: str((target / name).resolve()) for name in [*files, MANIFEST]}

    @contextmanager
    def partition_lock(self, partition_key: str) -> Iterator[None]:
        """An exclusive file lock per partition beside the exports (processes of one machine share the folder)."""
        import fcntl

        locks = Path(self.exports_dir) / ".locks"
        locks.mkdir(parents=True, exist_ok=True)
        with open(locks / f"{partition_key}.lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _recover(self, partition_key: str) -> None:
        """A publish killed between its two renames left the old set retired and none in place: put it back."""
        root = Path(self.exports_dir)
        if (root / partition_key).exists():
            return
        retired = sorted((root / ".staging").glob(f"{partition_key}.*.old"), key=lambda p: p.stat().st_mtime)
        if retired:
            try:
                os.rename(retired[-1], root / partition_key)
            except OSError:
                pass  # another process recovered it first

    @staticmethod
    def _clear_abandoned(staging_root: Path, partition_key: str, min_age_s: float = 600) -> None:
        """Staging folders a crashed run left behind (old enough not to belong to a run in flight)."""
        now = time.time()
        for leftover in staging_root.glob(f"{partition_key}.*"):
            try:
                if now - leftover.stat().st_mtime > min_age_s:
                    shutil.rmtree(leftover, ignore_errors=True)
            except FileNotFoundError:
                continue

    def read_export_manifest(self, partition_key: str) -> dict | None:
        self._recover(partition_key)
        path = Path(self.exports_dir) / partition_key / MANIFEST
        try:
            return json.loads(path.read_text())
        except (FileNotFoundError, ValueError):
            return None

    def published_plans(self) -> list[tuple[dict, str]]:
        root = Path(self.exports_dir)
        if not root.is_dir():
            return []
        out = []
        for entry in sorted(os.scandir(root), key=lambda e: e.name):
            if entry.name.startswith(".") or not entry.is_dir():
                continue
            manifest = self.read_export_manifest(entry.name)
            if manifest is not None:
                out.append((manifest, quote(entry.name) + "/"))
        return out

    def write_export_index(self, html: bytes) -> str:
        target = Path(self.exports_dir) / EXPORT_INDEX
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{EXPORT_INDEX}.{uuid.uuid4().hex[:8]}")
        tmp.write_bytes(html)
        os.replace(tmp, target)  # concurrent runs each write a whole page; the last one stays
        return str(target.resolve())

    def export_objects(self, partition_key: str) -> list[tuple[str, Callable[[], None]]]:
        root = Path(self.exports_dir)
        found = [root / partition_key] if (root / partition_key).exists() else []
        found += sorted((root / ".staging").glob(f"{partition_key}.*"))  # what a crashed publish left
        return [(p.resolve().as_uri(), lambda p=p: shutil.rmtree(p, ignore_errors=True)) for p in found]

    def browser_url(self, uri: str) -> str | None:
        if not self.exports_url:
            return None
        try:
            relative = Path(uri).resolve().relative_to(Path(self.exports_dir).resolve())
        except ValueError:
            return None
        return self.exports_url.rstrip("/") + "/" + quote(relative.as_posix())
