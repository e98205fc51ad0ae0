"""The benchmark generator and runner on tiny sizes (shapes, not timings), and the engine's scale paths.

The generator must be deterministic and exact (N annotations, 12 classes,
200 labelers at most, 3 to 7 labels per item); the runner must write its JSON
and table with one row per (size, task), stop a task past its memory limit,
and find the same alpha as the ``krippendorff`` package. The engine paths
that only large data reach (items with 16 labels or more, thousands of
labelers) are checked against the in-memory definitions.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import ibis
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from consistency.engine import MAX_BITSET_LABELERS, profile, profile_from_rows
from consistency.metrics.consensus import majority_vote

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))

import generate  # noqa: E402
import run  # noqa: E402


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate.generate(5000, tmp_path_factory.mktemp("bench") / "a.parquet", seed=1)


def test_generator_is_exact_and_deterministic(small: Path, tmp_path: Path) -> None:
    again = generate.generate(5000, tmp_path / "b.parquet", seed=1)
    a, b = pq.read_table(small), pq.read_table(again)
    assert a.num_rows == 5000 and a.equals(b)
    other = pq.read_table(generate.generate(5000, tmp_path / "c.parquet", seed=2))
    assert not a.equals(other)
    df = a.to_pandas().astype({"item_id": str, "labeler_id": str, "label": str})
    assert set(df["label"]) <= set(generate.CLASSES) and df["label"].nunique() == 12
    assert df["labeler_id"].nunique() <= generate.LABELERS
    per_item = df.groupby("item_id").agg(m=("label", "size"), d=("labeler_id", "nunique"))
    assert (per_item["m"] == per_item["d"]).all()  # distinct labelers per item
    inner = per_item["m"].iloc[:-1]  # the last item may be cut short to hit N exactly
    assert inner.between(generate.MIN_LABELS, generate.MAX_LABELS).all()
    gold = df.dropna(subset=["gold_label"]).groupby("item_id")["gold_label"].nunique()
    assert len(gold) > 0 and (gold == 1).all()


def test_sizes_and_file_names() -> None:
    assert generate.parse_size("1e7") == 10_000_000
    assert generate.size_name(10**8) == "1e8" and generate.size_name(2500) == "2500"
    assert generate.default_path(10**6, Path("d")) == Path("d") / "annotations_1e6.parquet"
    for bad in ("many", "0", "1.5"):
        with pytest.raises(Exception, match="expected a"):
            generate.parse_size(bad)


def test_runner_writes_json_and_table(small: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "annotations_5000.parquet").write_bytes(small.read_bytes())
    out = tmp_path / "r.json"
    tasks = ["floor", "ours.alpha", "krippendorff", "ours.mv"]
    proc = subprocess.run(
        [sys.executable, str(BENCH / "run.py"), "--sizes", "5000", "--repeat", "1"]
        + ["--tasks", *tasks, "--data-dir", str(data), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(out.read_text())
    assert set(result) == {"when", "machine", "settings", "results"}
    assert result["machine"]["cores"] and "duckdb" in result["machine"]["versions"]
    rows = {r["task"]: r for r in result["results"]}
    assert list(rows) == tasks
    for r in rows.values():
        assert r["status"] == "ok" and r["n"] == 5000 and len(r["times_s"]) == 1
        assert r["median_s"] > 0 and r["peak_mb"] > 0
    assert rows["floor"]["value"] == 5000
    assert rows["krippendorff"]["value"] == pytest.approx(rows["ours.alpha"]["value"], abs=1e-9)
    assert 0.5 < rows["ours.mv"]["value"] <= 1  # majority vote's accuracy on gold items
    lines = proc.stdout.strip().splitlines()
    assert lines[0].startswith("| annotations | task | median time | peak memory")
    assert len(lines) == 2 + len(tasks)
    kripp = next(line for line in lines if "| krippendorff |" in line)
    assert kripp.split("|")[7].strip()  # "x ours" is filled for a peer


def test_a_task_past_its_memory_limit_is_stopped(small: Path) -> None:
    row = run.run_task(
        run.BY_NAME["ours.alpha"],
        5000,
        small,
        type(
            "Args", (), {"repeat": 3, "time_limit": 120.0, "memory_limit": 0.02, "once_after": 60.0}
        )(),
        history=[(1000, 0.5), (2000, 1.0)],
    )
    assert row["status"] == "stopped: memory > 0.02 GB"
    assert row["median_s"] is None and row["runs"] == 0
    assert row["estimate_s"] == pytest.approx(2.5)  # linear from the smaller sizes


def test_a_long_run_is_not_repeated(small: Path) -> None:
    def args(once_after: float) -> SimpleNamespace:
        return SimpleNamespace(repeat=3, time_limit=120.0, memory_limit=8.0, once_after=once_after)

    once = run.run_task(run.BY_NAME["floor"], 5000, small, args(once_after=0.0), history=[])
    assert once["status"] == "ok" and once["runs"] == 1 and len(once["times_s"]) == 1
    thrice = run.run_task(run.BY_NAME["floor"], 5000, small, args(once_after=600.0), history=[])
    assert thrice["runs"] == 3 and thrice["median_s"] == sorted(thrice["times_s"])[1]


def test_estimate_and_table_cells() -> None:
    assert run.estimate([], 10) is None
    assert run.estimate([(10, 1.0), (100, 100.0)], 1000) == pytest.approx(10_000.0)  # n^2 at most
    assert run.estimate([(10, 1.0), (100, 5.0)], 1000) == pytest.approx(50.0)  # n^1 at least
    rows = [
        {
            "n": 100,
            "size": "100",
            "task": "floor",
            "ours": None,
            "median_s": 0.5,
            "peak_mb": 100,
            "status": "ok",
            "value": 100.0,
        },
        {
            "n": 100,
            "size": "100",
            "task": "ours.alpha",
            "ours": None,
            "median_s": 1.0,
            "peak_mb": 200,
            "status": "ok",
            "value": 0.7,
        },
        {
            "n": 100,
            "size": "100",
            "task": "nltk",
            "ours": "ours.alpha",
            "median_s": None,
            "estimate_s": 300.0,
            "peak_mb": 0,
            "status": "stopped: time > 60 s",
        },
    ]
    lines = run.table(rows).splitlines()
    assert lines[3] == "| 100 | ours.alpha | 1.00 s | 0.20 GB | 10000000 | 2 |  | 0.7000 | ok |"
    assert (
        lines[4] == "| 100 | nltk | ~5.0 min (est.) | - |  |  | 300.0 |  | stopped: time > 60 s |"
    )


# ---- the engine at scale: paths small tests do not reach ----------------------------------
def _ann(rows: list[tuple[str, str, str]]) -> ibis.Table:
    df = pd.DataFrame(rows, columns=["item_id", "labeler_id", "label"])
    return ibis.memtable(df.assign(label_value=np.nan))


def _same(a, b) -> None:
    assert a.labels == b.labels
    oa, ob = np.lexsort(a.counts.T[::-1]), np.lexsort(b.counts.T[::-1])
    np.testing.assert_array_equal(a.counts[oa], b.counts[ob])
    np.testing.assert_array_equal(a.weight[oa], b.weight[ob])
    assert (a.annotations, a.repeats, a.labelers) == (b.annotations, b.repeats, b.labelers)


def test_items_with_many_labels_widen_the_pattern_fields() -> None:
    rng = np.random.default_rng(5)
    rows = [(f"i{u}", f"w{j % 7}", "ab"[rng.integers(0, 2)]) for u in range(6) for j in range(40)]
    rows += [("big", f"w{j}", "c") for j in range(300)]  # 300 labels of one class on one item
    _same(
        profile(_ann(rows)),
        profile_from_rows(pd.DataFrame(rows, columns=["item_id", "labeler_id", "label"])),
    )
    mv = majority_vote(_ann(rows)).set_index("item_id")
    assert mv.loc["big", "votes"] == 300 and mv.loc["big", "label"] == "c"


def test_many_labelers_count_repeats_without_bit_sets() -> None:
    n = MAX_BITSET_LABELERS + 40
    rows = [(f"i{j % 50}", f"w{j}", "xy"[j % 3 == 0]) for j in range(n)]
    rows += [("i1", "w1", "x"), ("i1", "w1", "y")]  # a labeler repeating an item
    _same(
        profile(_ann(rows)),
        profile_from_rows(pd.DataFrame(rows, columns=["item_id", "labeler_id", "label"])),
    )


def test_majority_vote_matches_its_definition_on_generated_data(small: Path) -> None:
    df = pd.read_parquet(small).astype({"item_id": str, "labeler_id": str, "label": str})
    got = majority_vote(ibis.memtable(df[["item_id", "labeler_id", "label"]]))
    counts = df.groupby(["item_id", "label"]).size().unstack(fill_value=0)
    top = counts.max(axis=1)
    winners = counts.eq(top, axis=0)
    expected_tie = winners.sum(axis=1) > 1
    assert got["item_id"].tolist() == sorted(counts.index)
    g = got.set_index("item_id")
    assert (g["tie"] == expected_tie).all()
    assert (g["votes"] == counts.sum(axis=1)).all()
    clear = ~expected_tie
    assert (g.loc[clear, "label"] == counts[clear].idxmax(axis=1)).all()
    np.testing.assert_allclose(g["confidence"], top / counts.sum(axis=1))


def test_earlier_results_seed_history_and_stopped_tasks(tmp_path: Path) -> None:
    def row(n: int, task: str, status: str, median: float | None) -> dict:
        return {
            "n": n,
            "size": generate.size_name(n),
            "task": task,
            "status": status,
            "median_s": median,
        }

    earlier = tmp_path / "small.json"
    earlier.write_text(
        json.dumps(
            {
                "results": [
                    row(10**6, "nltk", "stopped: time > 300 s", None),
                    row(10**5, "ours.alpha", "ok", 0.2),
                    row(10**6, "ours.alpha", "ok", 1.5),
                    row(10**7, "ours.alpha", "ok", 9.0),  # the size being rerun: dropped
                    row(10**7, "crowdkit.ds", "not run: stopped: time > 300 s at 1e6", None),
                ]
            }
        )
    )
    history = {"ours.alpha": [], "nltk": [], "crowdkit.ds": []}
    stopped: dict[str, str] = {}
    rows = run.earlier_rows([earlier], {10**7}, history, stopped)
    assert [(r["n"], r["task"]) for r in rows] == [
        (10**5, "ours.alpha"),
        (10**6, "ours.alpha"),
        (10**6, "nltk"),
    ]
    assert history["ours.alpha"] == [(10**5, 0.2), (10**6, 1.5)]
    assert stopped == {"nltk": "stopped: time > 300 s at 1e6"}
