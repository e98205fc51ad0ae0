"""Nothing lost: a process killed (SIGKILL) during an import leaves the store before or after it.

Each kill runs a real subprocess (``fixtures/crash_import.py``) that imports a
24,000-row file into a copy of a store already holding a dataset, and kills
it at a random moment of the write. The store is then compared, table by
table, with the store before the import and with the store after an
uninterrupted import: it must equal one of them, open normally, and take the
same import again.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fixtures.snapshots import digest

from consistency.io import Source, read_path, read_source
from consistency.store import Store

pytestmark = pytest.mark.slow

DRIVER = Path(__file__).parent / "fixtures" / "crash_import.py"
ROOT = Path(__file__).resolve().parent.parent
KILLS = 10
SEED = 20261124
DATASET = "crash"
N_ITEMS = 8_000  # three labels each
FIRST = b"item_id,labeler_id,label\nseed1,ann,a\nseed1,bob,b\n"


def _big_csv(path: Path, n_items: int = N_ITEMS) -> Path:
    rng = random.Random(SEED)
    lines = ["item_id,labeler_id,label,round,camera,shift,gold_label"]
    for i in range(n_items):
        gold = "a" if i % 50 == 0 else ""
        for j in range(3):
            label = rng.choice("abcde")
            lines.append(f"it{i},l{(i + j) % 25},{label},1,cam_{i % 7},s{i % 3},{gold}")
    path.write_text("\n".join(lines) + "\n")
    return path


def _run(store: Path, big: Path, kill_after: float | None) -> tuple[int, float]:
    """Run the driver; kill it ``kill_after`` seconds after it says "ready".

    Returns the exit code (negative: killed) and the seconds from "ready" to the end.
    """
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, str(DRIVER), str(store), str(big), DATASET],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.strip() == "ready", proc.stderr.read() if proc.stderr else line
        start = time.monotonic()
        if kill_after is not None:
            time.sleep(kill_after)
            proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=120)
        return proc.returncode, time.monotonic() - start
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict, dict, float]:
    """The file, the store before the import, both states, and how long the write takes."""
    folder = tmp_path_factory.mktemp("crash")
    big = _big_csv(folder / "big.csv")
    base = folder / "base.duckdb"
    store = Store(base)
    store.import_result(
        read_source(Source("seed.csv", FIRST)), file_name="seed.csv", data=FIRST, dataset=DATASET
    )
    store.close()
    reference = Path(shutil.copy(base, folder / "reference.duckdb"))
    code, write_seconds = _run(reference, big, kill_after=None)
    assert code == 0
    before = digest(base, ignore_clock=True)
    after = digest(reference, ignore_clock=True)
    assert after["annotations"][0] == before["annotations"][0] + 3 * N_ITEMS
    return big, base, before, after, write_seconds


def test_sigkill_during_an_import_leaves_the_store_before_or_after_it(
    setup: tuple[Path, Path, dict, dict, float], tmp_path: Path
) -> None:
    big, base, before, after, write_seconds = setup
    rng = random.Random(SEED)
    delays = [rng.uniform(0.0, write_seconds) for _ in range(KILLS)]
    stores = [Path(shutil.copy(base, tmp_path / f"kill{k}.duckdb")) for k in range(KILLS)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        codes = list(pool.map(lambda k: _run(stores[k], big, delays[k])[0], range(KILLS)))

    outcomes = []
    for path in stores:
        state = digest(path, ignore_clock=True)
        assert state in (before, after), f"{path.name} is neither before nor after the import"
        outcomes.append("before" if state == before else "after")
    killed = sum(code == -signal.SIGKILL for code in codes)
    print(
        f"\ncrash safety: {KILLS} imports killed at random moments of a "
        f"{write_seconds:.2f} s write ({killed} killed before finishing): "
        f"{outcomes.count('before')} left the store as before, "
        f"{outcomes.count('after')} as after, 0 in between"
    )
    assert killed >= KILLS // 2  # most kills land during the write

    # a store left "before" opens normally and takes the same import
    result = read_path(big)
    for path, outcome in zip(stores, outcomes, strict=True):
        if outcome == "before":
            store = Store(path)
            try:
                store.import_result(
                    result, file_name="big.csv", data=big.read_bytes(), dataset=DATASET
                )
            finally:
                store.close()
            assert digest(path, ignore_clock=True) == after
            break


def test_a_killed_multi_file_import_completes_when_run_again(tmp_path: Path) -> None:
    """``consistency import a b`` lands file by file; running it again finishes the rest."""
    files = []
    for name, offset in (("a.csv", 0), ("b.csv", 3_000)):
        rows = [f"it{offset + i},l{j},{'xyz'[(i + j) % 3]}" for i in range(3_000) for j in range(3)]
        path = tmp_path / name
        path.write_text("item_id,labeler_id,label\n" + "\n".join(rows) + "\n")
        files.append(str(path))

    def cli(db: Path, kill_after: float | None = None) -> tuple[int, float]:
        start = time.monotonic()
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        args = [sys.executable, "-m", "consistency.cli", "import", *files, "--dataset", "two"]
        proc = subprocess.Popen([*args, "--db", str(db)], env=env, stdout=subprocess.DEVNULL)
        if kill_after is not None:
            time.sleep(kill_after)
            proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=120)
        return proc.returncode, time.monotonic() - start

    reference = tmp_path / "reference.duckdb"
    code, total = cli(reference)
    assert code == 0
    expected = digest(reference, ignore_clock=True)
    db = tmp_path / "killed.duckdb"
    cli(db, kill_after=random.Random(SEED).uniform(0.5 * total, total))
    assert cli(db)[0] == 0
    assert digest(db, ignore_clock=True) == expected
