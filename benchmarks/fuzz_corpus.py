"""2,000 hostile stop files from the seeded corpus (tests/fuzz_corpus.py): every one reads or is refused with a
StopFileError, none raises anything else. Counts and time per file are printed.

Issue 24's probe: 39 of 2,200 fuzzed workbooks (bad sheet XML inside a valid zip) raised a raw ParseError.
Run: .venv/bin/python benchmarks/fuzz_corpus.py [count]   (default 2000; ~1 min on 2 cores)
"""

from __future__ import annotations

import collections
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))


def main(count: int) -> int:
    from fuzz_corpus import corpus

    from sgroute_assets.domain.stops import StopFileError, validate_file

    outcomes: collections.Counter[str] = collections.Counter()
    crashes = []
    started = time.perf_counter()
    for name, data in corpus(count):
        try:
            validate_file(name, data)
            outcomes["read"] += 1
        except StopFileError as exc:
            outcomes["refused: " + exc.message.split("(")[0].split(":")[0][:60]] += 1
        except Exception as exc:  # noqa: BLE001 - what the benchmark counts
            crashes.append((name, type(exc).__name__))
    elapsed = time.perf_counter() - started
    print(f"{count} files in {elapsed:.1f} s ({1000 * elapsed / count:.1f} ms a file)")
    for outcome, n in outcomes.most_common():
        print(f"  {n:5d}  {outcome}")
    print(f"  {len(crashes):5d}  other exceptions {crashes[:10]}")
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000))
