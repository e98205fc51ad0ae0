"""Golden files: each input under tests/golden gives exactly its expected output."""

from __future__ import annotations

import pytest
from io_golden import ERRORS, EXPECTED, Case, cases, is_format_folder, run

CASES = cases()


def test_enough_cases_in_every_format() -> None:
    folders = {c.folder for c in CASES}
    assert len(CASES) >= 25
    assert {
        "long",
        "wide",
        "labelstudio-json",
        "labelstudio-json-min",
        "labelstudio-csv",
    } <= folders
    assert {"toloka", "prodigy", "crowdkit", "detect"} <= folders


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_golden(case: Case) -> None:
    suffix, text, detected = run(case)
    other = ERRORS if suffix == EXPECTED else EXPECTED
    assert not case.output(other).exists(), f"{case.id} now gives {suffix}, not {other}"
    expected = case.output(suffix).read_bytes().decode("utf-8")
    assert text == expected
    if detected is not None and is_format_folder(case.folder):
        assert detected == case.folder
