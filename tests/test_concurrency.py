"""Concurrent dashboard sessions and CLI processes neither corrupt nor lose data.

Dashboard sessions are threads sharing one :class:`Store` (Streamlit runs each
session in a thread and the dashboard shares one store per process); they
import through the Data page's own function. CLI processes are real
subprocesses: while one holds the store, another gets "store is busy".
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from consistency.errors import StoreBusy
from consistency.store import Store, ViewFilter
from consistency.ui.data import attach_upload, import_upload

ROOT = Path(__file__).resolve().parent.parent
SESSIONS = 6


def _csv(tag: str, n_items: int) -> bytes:
    rows = [f"{tag}{i},l{j},{'abc'[(i * j) % 3]}" for i in range(n_items) for j in range(3)]
    return ("item_id,labeler_id,label\n" + "\n".join(rows) + "\n").encode()


def _run_threads(targets: list) -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(targets))

    def wrap(fn):  # noqa: ANN001, ANN202
        def run() -> None:
            barrier.wait()
            try:
                fn()
            except BaseException as exc:  # collected and reported by the test
                errors.append(exc)

        return run

    threads = [threading.Thread(target=wrap(fn)) for fn in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a session hung"
    return errors


@pytest.fixture
def store(tmp_path: Path) -> Store:
    opened = Store(tmp_path / "shared.duckdb")
    yield opened
    opened.close()


def test_sessions_importing_and_reading_at_once_never_see_half_an_import(store: Store) -> None:
    sizes = {f"ds{k}": 3 * (400 + 100 * k) for k in range(SESSIONS)}
    seen: list[tuple[str, int]] = []
    done = threading.Event()

    def importer(k: int):  # noqa: ANN202
        def run() -> None:
            outcome = import_upload(store, f"ds{k}.csv", _csv(f"k{k}_", 400 + 100 * k))
            assert outcome.ok, outcome.message

        return run

    def reader() -> None:
        while not done.is_set():
            for ds in store.dataset_ids():
                n = store.annotations(ds, ViewFilter(rounds=("*",))).count().execute()
                seen.append((ds, int(n)))

    readers = [threading.Thread(target=reader) for _ in range(2)]
    for t in readers:
        t.start()
    try:
        errors = _run_threads([importer(k) for k in range(SESSIONS)])
    finally:
        done.set()
        for t in readers:
            t.join(timeout=60)
    assert errors == []
    partial = [(ds, n) for ds, n in seen if n != sizes[ds]]
    assert partial == []  # a reader saw a dataset whole or not at all
    assert sorted(store.dataset_ids()) == sorted(sizes)
    counts = store.datasets().set_index("id")["annotations"].to_dict()
    assert counts == sizes
    assert store.provenance("ds0")["import_id"].nunique() == 1
    assert sorted(r[0] for r in store._fetch("SELECT import_id FROM imports")) == list(
        range(1, SESSIONS + 1)
    )


def test_sessions_uploading_the_same_file_at_once_import_it_once(store: Store) -> None:
    data = _csv("same", 1_000)
    outcomes = []
    errors = _run_threads(
        [lambda: outcomes.append(import_upload(store, "same.csv", data, dataset="d"))] * SESSIONS
    )
    assert errors == []
    assert all(o.ok for o in outcomes) and len(outcomes) == SESSIONS
    assert sum(not o.report.noop for o in outcomes) == 1
    assert store.datasets()["annotations"].tolist() == [3_000]

    preds = b"item_id,predicted_label\nsame1,a\nsame2,b\n"
    attached = []
    errors = _run_threads(
        [lambda: attached.append(attach_upload(store, "d", "predictions", "p.csv", preds))] * 4
    )
    assert errors == [] and all(o.ok for o in attached)
    assert sum(not o.report.noop for o in attached) == 1
    assert len(store.predictions("d").execute()) == 2


# ---- two processes ---------------------------------------------------------------
HOLD = "import sys\nfrom consistency.store import Store\ns = Store(sys.argv[1], read_only=sys.argv[2] == 'ro')\nprint('open', flush=True)\nsys.stdin.read()\n"  # fmt: skip


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "consistency.cli", *args],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=120,
    )


class _Holder:
    """Another process that keeps the store open until the block ends."""

    def __init__(self, db: Path, read_only: bool = False) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", HOLD, str(db), "ro" if read_only else "rw"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=_env(),
        )

    def __enter__(self) -> int:
        assert self.proc.stdout is not None
        assert self.proc.stdout.readline().strip() == "open"
        return self.proc.pid

    def __exit__(self, *exc: object) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


def _busy(db: Path, pid: int) -> str:
    return (
        f"error: store '{db}' is busy: another process (PID {pid}) has it open, and a store "
        "can be changed by one process at a time (a running dashboard holds its store). "
        "Close the other process (or the dashboard) and try again\n"
    )


def _seed(db: Path, name: str) -> None:
    store = Store(db)
    try:
        assert import_upload(store, f"{name}.csv", _csv(name, 10)).ok
    finally:
        store.close()


def _datasets(db: Path) -> list[str]:
    store = Store(db, read_only=True)
    try:
        return store.dataset_ids()
    finally:
        store.close()


def test_a_second_cli_process_gets_store_is_busy_not_a_crash(tmp_path: Path) -> None:
    db = tmp_path / "cli.duckdb"
    _seed(db, "first")
    second = tmp_path / "second.csv"
    second.write_bytes(_csv("b", 10))

    with _Holder(db) as pid:
        for args in (("datasets",), ("import", str(second))):
            done = _cli(*args, "--db", str(db))
            assert (done.returncode, done.stdout, done.stderr) == (1, "", _busy(db, pid))
    assert _datasets(db) == ["first"]  # the refused import wrote nothing
    after = _cli("import", str(second), "--db", str(db))  # the holder is gone: it works
    assert after.returncode == 0, after.stderr
    assert _datasets(db) == ["first", "second"]


def test_two_cli_imports_at_once_each_land_or_say_busy(tmp_path: Path) -> None:
    db = tmp_path / "race.duckdb"
    files = []
    for k in range(2):
        path = tmp_path / f"f{k}.csv"
        path.write_bytes(_csv(f"f{k}_", 2_000))
        files.append(path)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "consistency.cli", "import", str(f), "--db", str(db)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
        )
        for f in files
    ]
    results = [(p.wait(timeout=120), p.stdout.read(), p.stderr.read()) for p in procs]
    landed = []
    for (code, _out, err), f in zip(results, files, strict=True):
        assert "Traceback" not in err
        if code == 0:
            landed.append(f.stem)
        else:
            assert code == 1 and "is busy" in err, err
    assert landed  # at least one got the store
    assert sorted(_datasets(db)) == sorted(landed)


def test_read_only_processes_share_a_store(tmp_path: Path) -> None:
    db = tmp_path / "shared.duckdb"
    _seed(db, "x")
    with _Holder(db, read_only=True):
        reader = Store(db, read_only=True)  # a second reading process (this one)
        try:
            assert reader.dataset_ids() == ["x"]
        finally:
            reader.close()
        with pytest.raises(StoreBusy, match=r"is busy: another process \(PID \d+\) has it open"):
            Store(db)


def test_one_process_cannot_hold_a_store_in_two_modes(tmp_path: Path) -> None:
    db = tmp_path / "modes.duckdb"
    writer = Store(db)
    try:
        with pytest.raises(StoreBusy) as err:
            Store(db, read_only=True)
        assert str(err.value) == (
            f"store '{db}' is already open in this process in another mode; "
            "it cannot also be opened read-only. Use the store already open"
        )
    finally:
        writer.close()


# ---- the real server ---------------------------------------------------------------------------
def _load_test_module():  # noqa: ANN202
    import importlib.util

    spec = importlib.util.spec_from_file_location("load_test", ROOT / "bench" / "load_test.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.mark.xdist_group("server")
def test_concurrent_sessions_on_the_real_dashboard_all_succeed(tmp_path: Path) -> None:
    """A small run of ``bench/load_test.py``: the dashboard on 127.0.0.1, sessions at once."""
    db = tmp_path / "served.duckdb"
    store = Store(db)
    try:
        assert import_upload(store, "small.csv", _csv("t", 40), dataset="small").ok
    finally:
        store.close()
    load_test = _load_test_module()
    # on a thread of its own: a browser test may have left an event loop running on this one
    with ThreadPoolExecutor(1) as pool:
        report = pool.submit(
            load_test.run_load, db, "small", sessions=3, views=3, view_timeout=240
        ).result()
    assert (report.sessions_held, report.views, report.failed) == (3, 9, 0), report.errors
    assert set(report.cold_s) == {"Overview", *(path for path, _, _ in load_test.PAGES[1:])}
    assert 0 < report.median_s <= report.p95_s <= report.max_s


@pytest.mark.xdist_group("server")
def test_one_session_walks_every_page_and_each_view_is_timed(tmp_path: Path) -> None:
    """``bench/load_test.py --sequence`` on a small store: every view answered, each timed."""
    db = tmp_path / "walked.duckdb"
    store = Store(db)
    try:
        assert import_upload(store, "small.csv", _csv("t", 40), dataset="small").ok
    finally:
        store.close()
    load_test = _load_test_module()
    with ThreadPoolExecutor(1) as pool:
        report = pool.submit(load_test.run_sequence, db, "small", view_timeout=240).result()
    assert report.failed == 0, [s.error for s in report.steps if not s.ok]
    pages = [path or "Overview" for path, _, _ in load_test.PAGES]
    focused = [path for path, _, param in load_test.PAGES if param is not None]
    steps = [(s.step, s.page) for s in report.steps]
    assert steps[: len(pages) + len(focused)] == [
        step
        for page in pages
        for step in [("first", page)] + ([("other focus", page)] if page in focused else [])
    ]
    assert steps[len(pages) + len(focused) :] == [("again", page) for page in pages]
    overview = report.steps[0]
    # the Overview's cards come before its recommendations, within the whole view's time
    assert overview.first_figure_s is not None and 0 < overview.first_figure_s <= overview.seconds
    assert report.annotations > 0 and "Overview" in report.text()
