"""Benchmarks: our analysis beside peer libraries, on the same Parquet files.

Every measurement runs in a fresh Python process that imports what it needs,
then times one task from the Parquet file to the figure (reading the file is
part of every task, ours and the peers'), and reports its wall time and its
peak resident memory. The runner watches each process: one that runs past
``--time-limit`` seconds or ``--memory-limit`` GB is stopped and marked so,
with an estimate extrapolated from the smaller sizes where there are some.
Each task runs ``--repeat`` times (3 by default); the table shows the median
time and the largest peak.

Tasks:

* ``floor``: a bare DuckDB scan of the file (hash of every id and label).
* ``ours.full``: alpha with a 1,000-draw bootstrap interval, per-class
  agreement, the coincidence matrix, majority vote, Dawid–Skene and the
  labeler table.
* ``ours.core``: alpha, per-class agreement, coincidences and majority vote.
* ``ours.alpha``, ``ours.mv``, ``ours.ds``: one figure alone, the
  counterparts of the peers.
* ``krippendorff``: the ``krippendorff`` package on the dense labelers x
  items matrix; ``nltk``: ``AnnotationTask.alpha``; ``statsmodels.fleiss``:
  ``fleiss_kappa`` on the items x classes count table; ``crowdkit.mv`` and
  ``crowdkit.ds``: crowd-kit's ``MajorityVote`` and ``DawidSkene``.

Usage::

    python bench/run.py --sizes 1e4 1e5 1e6            # generates missing files first
    python bench/run.py --sizes 1e7 --tasks floor ours.core ours.full --repeat 3

The JSON goes to ``bench/results/bench-<sizes>.json`` unless ``--out`` says otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import generate  # noqa: E402  (the generator beside this file)

RESULTS_DIR = HERE / "results"

#: Iterations allowed to Dawid–Skene in ``ours.ds`` and crowd-kit (crowd-kit's default).
DS_ITER = 100


# ---- the tasks (run inside the worker process) ---------------------------------
def _ours_table(path: str) -> Any:
    from consistency.spark import open_annotations

    return open_annotations(path, engine="duckdb")


def check_value(result: Any, path: str) -> float:
    """The figure a task reports: its number, or a consensus' accuracy on the gold items.

    Computed after the clock stops: reading the gold labels is not the task's work.
    """
    import pandas as pd

    if isinstance(result, int | float):
        return float(result)
    labels = result
    if isinstance(labels, pd.Series):  # crowd-kit: labels indexed by task
        labels = labels.rename("label").rename_axis("item_id").reset_index()
    gold = pd.read_parquet(path, columns=["item_id", "gold_label"]).dropna()
    gold = gold.drop_duplicates("item_id").astype(str)
    j = gold.merge(labels.astype({"item_id": str, "label": str}), on="item_id")
    return float((j["gold_label"] == j["label"]).mean()) if len(j) else float("nan")


def task_floor(path: str) -> float:
    import duckdb

    con = duckdb.connect()
    rows = con.execute(
        "SELECT count(*), bit_xor(hash(item_id)), bit_xor(hash(labeler_id)), "
        "bit_xor(hash(label)) FROM read_parquet(?)",
        [path],
    ).fetchall()
    return float(rows[0][0])


def task_ours_alpha(path: str) -> float:
    from consistency.engine import profile
    from consistency.metrics.alpha import alpha

    return alpha(profile(_ours_table(path).annotations(), repeats=False))


def _core(ann: Any, repeats: bool) -> tuple[Any, float]:
    from consistency.metrics.alpha import alpha, coincidence
    from consistency.metrics.classes import per_class
    from consistency.metrics.consensus import profile_and_majority

    p, _ = profile_and_majority(ann, repeats=repeats)
    value = alpha(p)
    per_class(p)
    coincidence(p)
    return p, value


def task_ours_core(path: str) -> float:
    return _core(_ours_table(path).annotations(), repeats=False)[1]


def task_ours_full(path: str) -> float:
    from consistency.analysis import DS_MAX_ITER
    from consistency.metrics.alpha import alpha_with_ci
    from consistency.metrics.consensus import dawid_skene
    from consistency.metrics.labelers import labelers

    source = _ours_table(path)
    ann = source.annotations()
    p, value = _core(ann, repeats=True)  # the analysis reports repeated labels
    alpha_with_ci(p, n_boot=1000, seed=0)
    dawid_skene(ann, max_iter=DS_MAX_ITER)
    labelers(ann, source.items())
    return value


def task_ours_mv(path: str) -> Any:
    from consistency.metrics.consensus import majority_vote

    return majority_vote(_ours_table(path).annotations())


def task_ours_ds(path: str) -> Any:
    from consistency.metrics.consensus import dawid_skene

    return dawid_skene(_ours_table(path).annotations(), max_iter=DS_ITER).labels


def _frame(path: str) -> Any:
    import pandas as pd

    df = pd.read_parquet(path, columns=["item_id", "labeler_id", "label"])
    return df.astype({"item_id": str, "labeler_id": str, "label": str})


def _codes(path: str) -> tuple[Any, Any, Any, int, int, int]:
    import pandas as pd

    df = _frame(path)
    item, items = pd.factorize(df["item_id"])
    labeler, labelers = pd.factorize(df["labeler_id"])
    label, labels = pd.factorize(df["label"])
    return item, labeler, label, len(items), len(labelers), len(labels)


def task_krippendorff(path: str) -> float:
    import krippendorff
    import numpy as np

    item, labeler, label, n_items, n_labelers, _ = _codes(path)
    matrix = np.full((n_labelers, n_items), np.nan)
    matrix[labeler, item] = label
    return float(krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal"))


def task_nltk(path: str) -> float:
    from nltk.metrics.agreement import AnnotationTask

    df = _frame(path)
    data = list(zip(df["labeler_id"], df["item_id"], df["label"], strict=True))
    return float(AnnotationTask(data=data).alpha())


def task_statsmodels_fleiss(path: str) -> float:
    import numpy as np
    from statsmodels.stats.inter_rater import fleiss_kappa

    item, _, label, n_items, _, k = _codes(path)
    table = np.bincount(item * k + label, minlength=n_items * k).reshape(n_items, k)
    # statsmodels needs the same number of labels on every item: the items with the
    # most common number (the table is still built from every annotation)
    m = table.sum(axis=1)
    return float(fleiss_kappa(table[m == np.bincount(m).argmax()], method="fleiss"))


def _crowdkit_frame(path: str) -> Any:
    return _frame(path).rename(columns={"item_id": "task", "labeler_id": "worker"})


def task_crowdkit_mv(path: str) -> Any:
    from crowdkit.aggregation import MajorityVote

    return MajorityVote().fit_predict(_crowdkit_frame(path))


def task_crowdkit_ds(path: str) -> Any:
    from crowdkit.aggregation import DawidSkene

    return DawidSkene(n_iter=DS_ITER).fit_predict(_crowdkit_frame(path))


#: Modules imported before the clock starts (import time is not the task's).
OURS_MODULES = (
    "ibis",
    "ibis.backends.duckdb",
    "consistency.spark",
    "consistency.analysis",
    "consistency.engine",
    "consistency.metrics.alpha",
    "consistency.metrics.classes",
    "consistency.metrics.consensus",
    "consistency.metrics.labelers",
)
PEER_MODULES = ("pandas", "pyarrow.parquet", "numpy")


@dataclass(frozen=True)
class Task:
    """One benchmark task: its name, whose it is, what it computes, and its counterpart."""

    name: str
    kind: str  # "floor", "ours" or "peer"
    what: str
    run: Callable[[str], Any]  # a number, or consensus labels (see check_value)
    ours: str | None = None  # for a peer: our task computing the same figure
    modules: tuple[str, ...] = OURS_MODULES


TASKS: tuple[Task, ...] = (
    Task("floor", "floor", "DuckDB scan of the Parquet file", task_floor, modules=("duckdb",)),
    Task(
        "ours.full",
        "ours",
        "alpha + 1,000-draw bootstrap, per-class, coincidences, MV, Dawid–Skene, labelers",
        task_ours_full,
    ),
    Task("ours.core", "ours", "alpha, per-class, coincidences, majority vote", task_ours_core),
    Task("ours.alpha", "ours", "Krippendorff's alpha (nominal)", task_ours_alpha),
    Task("ours.mv", "ours", "majority vote", task_ours_mv),
    Task("ours.ds", "ours", f"Dawid–Skene ({DS_ITER} iterations at most)", task_ours_ds),
    Task(
        "krippendorff",
        "peer",
        "krippendorff.alpha on the dense matrix",
        task_krippendorff,
        "ours.alpha",
        (*PEER_MODULES, "krippendorff"),
    ),
    Task(
        "nltk",
        "peer",
        "nltk AnnotationTask.alpha",
        task_nltk,
        "ours.alpha",
        (*PEER_MODULES, "nltk.metrics.agreement"),
    ),
    Task(
        "statsmodels.fleiss",
        "peer",
        "statsmodels fleiss_kappa on the count table (items with the modal number of labels)",
        task_statsmodels_fleiss,
        "ours.alpha",
        (*PEER_MODULES, "statsmodels.stats.inter_rater"),
    ),
    Task(
        "crowdkit.mv",
        "peer",
        "crowd-kit MajorityVote",
        task_crowdkit_mv,
        "ours.mv",
        (*PEER_MODULES, "crowdkit.aggregation"),
    ),
    Task(
        "crowdkit.ds",
        "peer",
        f"crowd-kit DawidSkene (n_iter={DS_ITER})",
        task_crowdkit_ds,
        "ours.ds",
        (*PEER_MODULES, "crowdkit.aggregation"),
    ),
)
BY_NAME = {t.name: t for t in TASKS}


def worker(task: str, path: str) -> int:
    """Run one task once and print ``{"seconds", "peak_mb", "value"}`` as JSON."""
    import importlib
    import resource

    for module in BY_NAME[task].modules:
        importlib.import_module(module)
    run = BY_NAME[task].run
    t0 = time.perf_counter()
    result = run(path)
    seconds = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    value = check_value(result, path)
    print(json.dumps({"seconds": seconds, "peak_mb": peak_mb, "value": value}))
    return 0


# ---- the runner ------------------------------------------------------------------
def _rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def measure(task: str, path: Path, time_limit: float, memory_limit_gb: float) -> dict[str, Any]:
    """One run of ``task`` in a fresh process, stopped past the time or memory limit."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", task, str(path)]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    start = time.perf_counter()
    seen_mb = 0.0
    stopped = None
    while proc.poll() is None:
        seen_mb = max(seen_mb, _rss_mb(proc.pid))
        elapsed = time.perf_counter() - start
        if elapsed > time_limit:
            stopped = f"stopped: time > {time_limit:g} s"
        elif seen_mb > memory_limit_gb * 1024:
            stopped = f"stopped: memory > {memory_limit_gb:g} GB"
        if stopped:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            break
        time.sleep(0.05)
    out, err = proc.communicate()
    if stopped:
        return {"status": stopped, "peak_mb": seen_mb, "elapsed_s": time.perf_counter() - start}
    if proc.returncode != 0:
        last = (err.strip().splitlines() or [f"exit code {proc.returncode}"])[-1]
        return {"status": f"failed: {last[:200]}", "peak_mb": seen_mb}
    result = json.loads(out.strip().splitlines()[-1])
    result["status"] = "ok"
    return result


def estimate(history: list[tuple[int, float]], n: int) -> float | None:
    """Time at ``n`` extrapolated from completed sizes: t ~ n^b, b from the last two (1 <= b <= 2)."""
    if not history:
        return None
    (n1, t1) = history[-1]
    b = 1.0
    if len(history) >= 2:
        (n0, t0) = history[-2]
        if t0 > 0 and n1 > n0 and t1 > 0:
            import math

            b = min(max(math.log(t1 / t0) / math.log(n1 / n0), 1.0), 2.0)
    return t1 * (n / n1) ** b


def run_task(
    task: Task, n: int, path: Path, args: argparse.Namespace, history: list[tuple[int, float]]
) -> dict[str, Any]:
    """Run one task ``args.repeat`` times on one file; summarise the runs."""
    runs: list[dict[str, Any]] = []
    for _ in range(args.repeat):
        r = measure(task.name, path, args.time_limit, args.memory_limit)
        runs.append(r)
        if r["status"] != "ok" or r["seconds"] > args.once_after:
            break  # failed, stopped, or so long that one run is the figure
    ok = [r for r in runs if r["status"] == "ok"]
    row: dict[str, Any] = {
        "n": n,
        "size": generate.size_name(n),
        "task": task.name,
        "kind": task.kind,
        "what": task.what,
        "ours": task.ours,
        "runs": len(ok),
        "times_s": [r["seconds"] for r in ok],
        "peak_mb": max(r["peak_mb"] for r in runs),
    }
    if len(ok) == len(runs):
        row["status"] = "ok"
        row["median_s"] = statistics.median(row["times_s"])
        row["value"] = ok[0]["value"]
        row["ns_per_annotation"] = row["median_s"] / n * 1e9
        history.append((n, row["median_s"]))
    else:
        row["status"] = runs[-1]["status"]
        row["median_s"] = None
        row["estimate_s"] = estimate(history, n)
    return row


def machine() -> dict[str, Any]:
    """The machine and the versions the figures were measured with."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_gb = round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    versions = {}
    for pkg in (
        "duckdb",
        "ibis-framework",
        "numpy",
        "pandas",
        "pyarrow",
        "krippendorff",
        "nltk",
        "statsmodels",
        "crowd-kit",
    ):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": mem_gb,
        "os": platform.platform(),
        "python": platform.python_version(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "versions": versions,
    }


def _seconds(x: float | None) -> str:
    if x is None:
        return "-"
    if x >= 120:
        return f"{x / 60:.1f} min"
    return f"{x:.2f} s" if x < 10 else f"{x:.1f} s"


def _row_cells(r: dict[str, Any], by_key: dict[tuple[int, str], dict[str, Any]]) -> list[str]:
    """The cells of one table row."""
    floor = by_key.get((r["n"], "floor"))
    ours = by_key.get((r["n"], r["ours"])) if r["ours"] else None
    t = r.get("median_s")
    est = r.get("estimate_s")
    time_text = _seconds(t) if t is not None else (f"~{_seconds(est)} (est.)" if est else "-")
    vs_floor = ""
    if t is not None and r["task"] != "floor" and floor and floor.get("median_s"):
        vs_floor = f"{t / floor['median_s']:.0f}"
    basis = t if t is not None else est
    vs_ours = ""
    if basis is not None and ours and ours.get("median_s"):
        vs_ours = f"{basis / ours['median_s']:.1f}"
    value = r.get("value")
    return [
        r["size"],
        r["task"],
        time_text,
        f"{r['peak_mb'] / 1024:.2f} GB" if r["peak_mb"] else "-",
        "" if t is None else f"{t / r['n'] * 1e9:.0f}",
        vs_floor,
        vs_ours,
        "" if value is None else f"{value:.4f}",
        r["status"],
    ]


def table(rows: list[dict[str, Any]]) -> str:
    """The results as a Markdown table: time, memory, cost per annotation and ratios.

    ``x floor`` is the time over the DuckDB scan's; ``x ours`` a peer's time
    (or its estimate) over our task computing the same figure.
    """
    by_key = {(r["n"], r["task"]): r for r in rows}
    head = [
        "annotations",
        "task",
        "median time",
        "peak memory",
        "ns / annotation",
        "x floor",
        "x ours",
        "value",
        "status",
    ]
    lines = ["| " + " | ".join(head) + " |", "|---|---|---:|---:|---:|---:|---:|---:|---|"]
    lines += ["| " + " | ".join(_row_cells(r, by_key)) + " |" for r in rows]
    return "\n".join(lines)


def earlier_rows(
    files: list[Path],
    sizes: set[int],
    history: dict[str, list[tuple[int, float]]],
    stopped: dict[str, str],
) -> list[dict[str, Any]]:
    """Rows of earlier result files for other sizes, smallest first; fills history and stopped."""
    rows = [r for f in files for r in json.loads(f.read_text())["results"] if r["n"] not in sizes]
    rows.sort(
        key=lambda r: (r["n"], list(BY_NAME).index(r["task"]) if r["task"] in BY_NAME else 99)
    )
    for r in rows:
        if r["task"] not in history:
            continue
        if r["status"] == "ok":
            history[r["task"]].append((r["n"], r["median_s"]))
        elif not r["status"].startswith("not run"):
            stopped[r["task"]] = f"{r['status']} at {r['size']}"
        else:
            stopped[r["task"]] = r["status"].removeprefix("not run: ")
    return rows


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, make the missing data files, run, print and save."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--worker", nargs=2, metavar=("TASK", "PATH"), help=argparse.SUPPRESS)
    parser.add_argument(
        "--sizes", nargs="+", type=generate.parse_size, default=[10**4, 10**5, 10**6]
    )
    parser.add_argument("--tasks", nargs="+", choices=list(BY_NAME), default=list(BY_NAME))
    parser.add_argument("--repeat", type=int, default=3, help="runs per task (median shown)")
    parser.add_argument("--time-limit", type=float, default=300.0, metavar="SECONDS")
    parser.add_argument("--memory-limit", type=float, default=16.0, metavar="GB")
    parser.add_argument(
        "--once-after",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="a run longer than this is not repeated (its time is the figure)",
    )
    parser.add_argument("--data-dir", type=Path, default=generate.DEFAULT_DIR)
    parser.add_argument("--out", type=Path, help="the JSON file to write")
    parser.add_argument(
        "--merge",
        nargs="+",
        type=Path,
        default=[],
        metavar="JSON",
        help="earlier results (smaller sizes): kept in the table, and the starting point of "
        "estimates and of tasks already stopped",
    )
    args = parser.parse_args(argv)
    if args.worker:
        return worker(*args.worker)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    info = machine()
    history: dict[str, list[tuple[int, float]]] = {t: [] for t in args.tasks}
    stopped: dict[str, str] = {}
    rows = earlier_rows(args.merge, set(args.sizes), history, stopped)
    tasks = [BY_NAME[name] for name in args.tasks]
    for n in sorted(args.sizes):
        path = generate.default_path(n, args.data_dir)
        if not path.exists():
            print(f"generating {path.name} ...", file=sys.stderr)
            generate.generate(n, path)
        for task in tasks:
            if task.name in stopped:
                row = {
                    "n": n,
                    "size": generate.size_name(n),
                    "task": task.name,
                    "kind": task.kind,
                    "what": task.what,
                    "ours": task.ours,
                    "runs": 0,
                    "times_s": [],
                    "peak_mb": 0.0,
                    "median_s": None,
                    "status": f"not run: {stopped[task.name]}",
                    "estimate_s": estimate(history[task.name], n),
                }
            else:
                row = run_task(task, n, path, args, history[task.name])
                if row["status"] != "ok":
                    stopped[task.name] = f"{row['status']} at {row['size']}"
            rows.append(row)
            print(
                f"{row['size']:>5} {task.name:<20} {_seconds(row.get('median_s')):>10} "
                f"{row['peak_mb'] / 1024:6.2f} GB  {row['status']}",
                file=sys.stderr,
                flush=True,
            )
    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": info,
        "settings": {
            "repeat": args.repeat,
            "time_limit_s": args.time_limit,
            "memory_limit_gb": args.memory_limit,
            "ds_iterations": DS_ITER,
        },
        "results": rows,
    }
    out = args.out or RESULTS_DIR / (
        "bench-" + "-".join(generate.size_name(n) for n in sorted(args.sizes)) + ".json"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(table(rows))
    print(f"\nwrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
