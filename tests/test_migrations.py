"""A store written by an earlier version opens in this one: schema versions and migrations."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
from fixtures.snapshots import query, schema, snapshot
from fixtures.store_v1 import ANNOTATIONS, DATASET, write_store_v1

from consistency import __version__, migrations
from consistency.analysis import dataset_summary
from consistency.errors import ConsistencyError
from consistency.io import Source, read_source
from consistency.migrations import LATEST, MIGRATIONS, Migration
from consistency.store import SCHEMA_VERSION, Store, ViewFilter


@pytest.fixture(scope="module")
def v1_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_store_v1(tmp_path_factory.mktemp("v1") / "template.duckdb")


@pytest.fixture
def v1(tmp_path: Path, v1_template: Path) -> Path:
    """A fresh copy of the version-1 store."""
    return Path(shutil.copy(v1_template, tmp_path / "old.duckdb"))


def test_the_fixture_is_a_version_1_store(v1: Path) -> None:
    assert query(v1, "SELECT version FROM schema_version") == [(1,)]
    tables = {r[0] for r in query(v1, "SELECT table_name FROM information_schema.tables")}
    assert "schema_history" not in tables


def test_a_version_1_store_opens_upgraded_with_its_data_intact(v1: Path) -> None:
    before = snapshot(v1)
    store = Store(v1)
    try:
        assert store.schema_version == SCHEMA_VERSION == LATEST
        assert store.dataset_ids() == [DATASET]
        assert store.rounds(DATASET) == ["1", "2"]
        pooled = store.annotations(DATASET, ViewFilter(rounds=("*",))).execute()
        assert len(pooled) == len(ANNOTATIONS)
        latest = store.annotations(DATASET).execute()  # item c measured on round 2
        assert sorted(latest.loc[latest.item_id == "c", "round"]) == ["2", "2"]
        assert store.metadata_values(DATASET, "camera") == ["cam_A", "cam_B"]
        summary = dataset_summary(store, DATASET, ViewFilter(rounds=("*",)))
        assert (summary["items"], summary["labelers"], summary["gold_items"]) == (3, 3, 1)
        assert summary["models"] == ["model-1"]
    finally:
        store.close()
    assert snapshot(v1) == before
    assert query(v1, "SELECT version FROM schema_version") == [(LATEST,)]
    steps = query(v1, "SELECT version, description, applied_by FROM schema_history")
    assert steps == [(m.version, m.description, f"consistency {__version__}") for m in MIGRATIONS]


def test_an_upgraded_store_has_exactly_the_schema_of_a_new_store(v1: Path, tmp_path: Path) -> None:
    Store(v1).close()
    fresh = tmp_path / "fresh.duckdb"
    Store(fresh).close()
    assert schema(v1) == schema(fresh)


def test_reopening_an_upgraded_store_changes_nothing(v1: Path) -> None:
    Store(v1).close()
    history = query(v1, "SELECT COLUMNS(*)::VARCHAR FROM schema_history")
    Store(v1).close()
    assert query(v1, "SELECT COLUMNS(*)::VARCHAR FROM schema_history") == history
    assert query(v1, "SELECT version FROM schema_version") == [(LATEST,)]


def test_an_upgraded_store_takes_new_imports(v1: Path) -> None:
    data = b"item_id,labeler_id,label\nd,ann,ok\nd,bob,ok\n"
    store = Store(v1)
    try:
        report = store.import_result(
            read_source(Source("more.csv", data)), file_name="more.csv", data=data, dataset=DATASET
        )
        assert report.import_id == 3  # after the two imports of the old version
        assert store.lineage(DATASET)["action"].tolist()[-1] == "import"
        assert len(store.annotations(DATASET, ViewFilter(rounds=("*",))).execute()) == 13
    finally:
        store.close()


def test_a_new_store_records_its_creation(tmp_path: Path) -> None:
    Store(tmp_path / "new.duckdb").close()
    rows = query(tmp_path / "new.duckdb", "SELECT version, description FROM schema_history")
    assert rows == [(LATEST, f"new store at schema version {LATEST}")]


def test_a_store_from_a_newer_version_is_refused_and_left_unchanged(v1: Path) -> None:
    con = duckdb.connect(str(v1))
    con.execute("UPDATE schema_version SET version = 99")
    con.close()
    before = snapshot(v1)
    message = (
        f"store '{v1}' was written by a newer version of consistency (schema version 99); "
        f"consistency {__version__} reads schema versions up to {LATEST}. "
        "Upgrade consistency to open it; the store was not changed"
    )
    for read_only in (False, True):
        with pytest.raises(ConsistencyError) as err:
            Store(v1, read_only=read_only)
        assert str(err.value) == message
    assert snapshot(v1) == before
    assert query(v1, "SELECT version FROM schema_version") == [(99,)]


def test_a_failing_migration_leaves_the_store_as_it_was(
    v1: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def half_done(cur: object) -> None:
        cur.execute("CREATE TABLE half_done (x INTEGER)")  # type: ignore[attr-defined]
        cur.execute("DELETE FROM annotations")  # type: ignore[attr-defined]
        raise duckdb.IOException("disk full")

    steps = (*MIGRATIONS, Migration(LATEST + 1, "a step that fails", half_done))
    monkeypatch.setattr(migrations, "MIGRATIONS", steps)
    monkeypatch.setattr(migrations, "LATEST", LATEST + 1)
    before, columns = snapshot(v1), schema(v1)
    with pytest.raises(ConsistencyError) as err:
        Store(v1)
    assert str(err.value) == (
        f"cannot bring store '{v1}' to schema version {LATEST + 1}: disk full. "
        "The store was not changed"
    )
    assert snapshot(v1) == before
    assert schema(v1) == columns  # not even step 2 stayed
    assert query(v1, "SELECT version FROM schema_version") == [(1,)]


def test_read_only_never_upgrades_and_says_how_to(v1: Path) -> None:
    with pytest.raises(ConsistencyError) as err:
        Store(v1, read_only=True)
    assert str(err.value) == (
        f"store '{v1}' has schema version 1 and this version of consistency needs {LATEST}; "
        "it cannot be upgraded while open read-only. Open it once without read-only mode "
        f"(for example `consistency datasets --db {v1}`) to upgrade it"
    )
    assert query(v1, "SELECT version FROM schema_version") == [(1,)]
    Store(v1).close()
    store = Store(v1, read_only=True)
    try:
        assert store.dataset_ids() == [DATASET]
    finally:
        store.close()


def test_read_only_on_a_file_without_tables_is_a_clear_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    with pytest.raises(ConsistencyError) as err:
        Store(empty, read_only=True)
    assert str(err.value) == (
        f"store '{empty}' holds no datasets yet and is open read-only; "
        "import a file into it first (without read-only mode)"
    )


def test_a_version_1_store_stopped_before_its_stamp_counts_as_version_1(v1: Path) -> None:
    con = duckdb.connect(str(v1))
    con.execute("DELETE FROM schema_version")
    con.close()
    store = Store(v1)
    try:
        assert store.schema_version == LATEST
        assert store.dataset_ids() == [DATASET]
    finally:
        store.close()
    assert [r[0] for r in query(v1, "SELECT version FROM schema_history")] == [
        m.version for m in MIGRATIONS
    ]


def test_migrations_are_numbered_one_after_another() -> None:
    versions = [m.version for m in MIGRATIONS]
    assert versions == list(range(migrations.BASELINE + 1, LATEST + 1))
    assert all(m.description for m in MIGRATIONS)
