"""Fixtures for the dashboard tests: a small store written by the library itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from consistency.io import Source, read_source
from consistency.store import Store

#: Two rounds, two cameras, three labelers, submission times on two days, one gold label.
LONG_CSV = b"""item_id,labeler_id,label,round,submitted_at,gold_label,camera
a,ann,dent,1,2025-03-03T10:00:00Z,dent,cam_A
a,bob,dent,1,2025-03-03T10:01:00Z,dent,cam_A
a,cy,crack,1,2025-03-03T10:02:00Z,dent,cam_A
b,ann,ok,1,2025-03-03T11:00:00Z,,cam_B
b,bob,ok,1,2025-03-03T11:01:00Z,,cam_B
b,cy,ok,1,2025-03-03T11:02:00Z,,cam_B
c,ann,crack,1,2025-03-04T09:00:00Z,,cam_B
c,bob,dent,1,2025-03-04T09:01:00Z,,cam_B
c,cy,crack,1,2025-03-04T09:02:00Z,,cam_B
c,ann,crack,2,2025-03-05T09:00:00Z,,cam_B
c,bob,crack,2,2025-03-05T09:01:00Z,,cam_B
"""


def seed(path: Path, dataset: str = "defects") -> None:
    """Import LONG_CSV into a store file as ``dataset``, then close the store."""
    store = Store(path)
    try:
        result = read_source(Source("defects.csv", LONG_CSV))
        store.import_result(result, file_name="defects.csv", data=LONG_CSV, dataset=dataset)
    finally:
        store.close()


@pytest.fixture
def db_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A store holding dataset ``defects``; CONSISTENCY_DB points to it."""
    path = tmp_path / "store.duckdb"
    seed(path)
    monkeypatch.setenv("CONSISTENCY_DB", str(path))
    return path


@pytest.fixture
def store(tmp_path: Path) -> Store:
    """An open store holding dataset ``defects`` (closed after the test)."""
    path = tmp_path / "lib.duckdb"
    seed(path)
    opened = Store(path)
    yield opened
    opened.close()
