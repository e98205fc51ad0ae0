"""Rewrite every golden expected file from the current importers.

Run ``python tests/regen_golden.py`` (or ``python -m tests.regen_golden``) from
the repository root, then review the diff before committing: a changed
expected file is a changed behaviour. Options (``# format: ...``,
``# field: ...``) at the top of an expected file are kept.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "io"))

from io_golden import ERRORS, EXPECTED, cases, run  # noqa: E402


def main() -> int:
    """Regenerate the expected files; print what changed."""
    changed = 0
    for case in cases():
        suffix, text, _ = run(case)
        path = case.output(suffix)
        stale = case.output(ERRORS if suffix == EXPECTED else EXPECTED)
        old = path.read_bytes() if path.exists() else None
        if old != text.encode("utf-8") or stale.exists():
            path.write_bytes(text.encode("utf-8"))
            stale.unlink(missing_ok=True)
            changed += 1
            print(f"updated {case.id}{suffix}")
    print(f"{changed} of {len(cases())} golden files changed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
