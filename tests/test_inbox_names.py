"""No file can stop another (issue 24): an unsupported file with a 230-byte or a 600-byte name used to make every
stop_file_sensor tick fail ("File name too long") when it was quarantined; hidden and lock files in the bucket
were planned although the folder inbox skips them."""

from __future__ import annotations

import os
import time
from pathlib import Path

import dagster as dg
import pytest
from dagster_gcp import GCSResource
from sensor_ticks import stop_file_tick

from sgroute_resources.app_database import AppDatabase
from sgroute_resources.gcs_stop_file_store import GCSStopFileStore
from sgroute_resources.stop_file_store import MAX_QUARANTINE_NAME_BYTES, LocalStopFileStore, quarantined_name

CSV = "stop_ref,lat,lon\nA1,1.30,103.85\n"
NAME_230 = "送货" * 37 + "单.txt"  # 37*6 + 3 + 4 = 229 bytes of UTF-8
NAME_600 = "orders-" + "x" * 585 + ".pdf"


@pytest.fixture
def app_db(app_db_url: str) -> AppDatabase:
    return AppDatabase(url=app_db_url)


def test_quarantine_names_are_bounded_keep_the_extension_and_stay_apart() -> None:
    tag = "20261202T101530123456Z"
    for name in (NAME_230, NAME_600, "a" * 300 + ".xlsx"):
        bounded = quarantined_name(name, tag)
        assert len((bounded + ".report.json").encode()) <= 255 and len(bounded.encode()) <= MAX_QUARANTINE_NAME_BYTES
        assert bounded.endswith(f".{tag}{Path(name).suffix}")
    assert quarantined_name("x" * 300 + "1.csv", tag) != quarantined_name("x" * 300 + "2.csv", tag)
    assert quarantined_name("orders.txt", tag) == f"orders.{tag}.txt"  # short names unchanged


def test_a_long_unsupported_name_beside_a_normal_file_in_the_folder(tmp_path: Path, app_db, monkeypatch) -> None:
    monkeypatch.setenv("SGROUTE_INBOX_MIN_AGE_S", "0")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    store = LocalStopFileStore(
        inbox=str(inbox), exports_dir=str(tmp_path / "exports"), quarantine_dir=str(tmp_path / "q")
    )
    (inbox / NAME_230).write_text("not a stop file")
    (inbox / "monday.csv").write_text(CSV)
    past = time.time() - 60
    for path in inbox.iterdir():
        os.utime(path, (past, past))
    with dg.instance_for_test() as instance:
        first = stop_file_tick(instance, store, app_db)
        assert [r.partition_key for r in first.run_requests] == ["monday.csv"]
        assert not (inbox / NAME_230).exists()  # moved aside, not left to fail every tick
        reports = store.quarantine_reports(NAME_230)
        assert reports and reports[0]["file"] == NAME_230 and "unsupported" in reports[0]["problem"]
        second = stop_file_tick(instance, store, app_db, first.cursor)  # a later tick runs too
        assert second.run_requests == []


def test_long_names_hidden_and_lock_files_in_the_bucket(gcs_bucket, app_db) -> None:
    store = GCSStopFileStore(gcs=GCSResource(project="sgroute-test"), bucket=gcs_bucket.name)
    for name in (NAME_230, NAME_600):
        gcs_bucket.blob(f"incoming/{name}").upload_from_string(b"not a stop file")
    for name in ("monday.csv", ".hidden.csv", "~$monday.csv"):
        gcs_bucket.blob(f"incoming/{name}").upload_from_string(CSV)
    with dg.instance_for_test() as instance:
        first = stop_file_tick(instance, store, app_db)
        assert [r.partition_key for r in first.run_requests] == ["monday.csv"]
        assert stop_file_tick(instance, store, app_db, first.cursor).run_requests == []
    inbox = {b.name for b in gcs_bucket.list_blobs(prefix="incoming/")}
    assert inbox == {"incoming/monday.csv", "incoming/.hidden.csv", "incoming/~$monday.csv"}  # the long ones moved
    quarantined = [b.name for b in gcs_bucket.list_blobs(prefix="quarantine/") if not b.name.endswith(".json")]
    assert len(quarantined) == 2 and all(
        len(n.encode()) <= len("quarantine/") + MAX_QUARANTINE_NAME_BYTES for n in quarantined
    )
