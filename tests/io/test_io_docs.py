"""docs/formats.md keeps up with the importers: every format and problem code is documented."""

from __future__ import annotations

import re
from pathlib import Path

import consistency.io
import consistency.settings
from consistency.io import FORMATS

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "formats.md").read_text(encoding="utf-8")
#: The importers and the upload limits (settings), whose problem codes users meet.
SOURCES = "\n".join(
    p.read_text(encoding="utf-8")
    for p in [
        *Path(consistency.io.__file__).parent.glob("*.py"),
        Path(consistency.settings.__file__),
    ]
)


def test_every_format_has_a_section() -> None:
    headings = set(re.findall(r"^## (.+)$", DOC, flags=re.MULTILINE))
    for name in FORMATS:
        assert any(name in h.split(" and ") for h in headings), name


def test_every_problem_code_is_documented() -> None:
    calls = re.findall(r"\.(?:error|warn)\(\s*\"([a-z_0-9]+)\"", SOURCES)
    records = re.findall(r"Problem\(\s*[\w.]+,\s*\"([a-z_0-9]+)\"", SOURCES)
    fails = re.findall(r"_fail\(\s*name,\s*\"([a-z_0-9]+)\"", SOURCES)
    limits = re.findall(r"_over\(\s*file_name,\s*\"([a-z_0-9]+)\"", SOURCES)
    codes = set(calls) | set(records) | set(fails) | set(limits)
    assert {"repeat", "not_utf8", "unknown_format", "missing_column"} <= codes
    assert {"file_too_large", "too_many_rows", "too_many_columns"} <= codes
    documented = set(re.findall(r"`([a-z_0-9]+)`", DOC))
    assert codes - documented == set()
