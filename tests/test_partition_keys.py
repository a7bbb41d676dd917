"""Partition keys from stop file names: safe for IO-manager paths and Dagster's key rules."""

import re

import pytest

from sgroute_assets.domain.stops import partition_key_for
from sgroute_assets.domain.stops.partition_keys import MAX_KEY_LENGTH


@pytest.mark.parametrize(
    "name,key",
    [
        ("east_west_tight_windows.csv", "east_west_tight_windows.csv"),
        ("Week 12 deliveries (v2).xlsx", "Week_12_deliveries_v2_.xlsx"),
        ("incoming/sub/route.csv", "route.csv"),
        ("C:\\Users\\ops\\route.csv", "route.csv"),
        ("..hidden...csv", "hidden.csv"),
    ],
)
def test_keys_keep_only_safe_characters(name, key):
    assert partition_key_for(name) == key


def test_names_with_no_safe_characters_stay_apart():
    a, b = partition_key_for("送货 清单.csv"), partition_key_for("டெலிவரி.csv")
    assert re.fullmatch(r"stop_file_[0-9a-f]{8}\.csv", a) and re.fullmatch(r"stop_file_[0-9a-f]{8}\.csv", b)
    assert a != b and partition_key_for("送货 清单.csv") == a
    assert re.fullmatch(r"stop_file_[0-9a-f]{8}", partition_key_for(""))


def test_keys_are_bounded_and_never_contain_dagster_forbidden_sequences():
    key = partition_key_for("a" * 500 + ".csv")
    assert len(key) <= MAX_KEY_LENGTH
    for name in ["a..b.csv", "x/../y.csv", "tab\there.csv", "new\nline.csv", "comma,pipe|[x].csv"]:
        key = partition_key_for(name)
        assert re.fullmatch(r"[A-Za-z0-9_.-]+", key) and ".." not in key
