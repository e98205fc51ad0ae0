"""Load test of the dashboard: many concurrent sessions on a large dataset, on this machine only.

Starts the dashboard (``streamlit run app.py``) on 127.0.0.1 with a store of
``--size`` annotations (built once from ``bench/generate.py``'s Parquet file),
then opens ``--sessions`` browser sessions at once over Streamlit's own
websocket protocol, exactly as a browser tab does, and has each of them view
``--views`` pages in turn (Overview, Classes, Confusion, Recommendations,
Labelers, Items, Slices, Data), each with a focus taken from the data. Every
session stays connected until all are done.

A page view is timed from the request to the end of the page's script run
(what a user waits for before the page is complete). A view fails when the
script raises (an exception element), does not finish, shows another page
than asked, or takes longer than ``--view-timeout``. Reported: sessions held,
views, failures, median and 95th-percentile page time, the first (cold) view
of each page, and the server's peak memory.

With ``--sequence``, one session instead walks the pages in a fixed order on a
freshly started server and every view is reported on its own: each page's
first view (Overview first), then the same page with another focus (another
class, pair, labeler or item) where it has one, then each page once more.
That tells the first view of Overview apart from a change of class on the
Classes page and from a change of page.

The server listens on 127.0.0.1 only and the client connects nowhere else.
The whole run is bounded by ``--timeout``.

Usage::

    python bench/load_test.py --size 1e6 --sessions 20 --views 8
    python bench/load_test.py --store my.duckdb --dataset my-data --sessions 5
    python bench/load_test.py --size 1e7 --sequence
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlencode

HOST = "127.0.0.1"  # never anything else
ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data"
RESULTS = ROOT / "bench" / "results"

#: (page path, page title, URL parameter of its focus: class, pair, labeler, item or none).
PAGES: tuple[tuple[str, str, str | None], ...] = (
    ("", "Overview", None),
    ("Classes", "Classes", "class"),
    ("Confusion", "Confusion", "pair"),
    ("Recommendations", "Recommendations", None),
    ("Labelers", "Labelers", "labeler"),
    ("Items", "Items", "item"),
    ("Slices", "Slices and rounds", None),
    ("Data", "Data", None),
)


@dataclass
class View:
    """One page view of one session."""

    session: int
    page: str
    seconds: float
    ok: bool
    error: str = ""


@dataclass
class Report:
    """What a load test measured."""

    dataset: str
    annotations: int
    sessions: int
    sessions_held: int
    views: int
    failed: int
    median_s: float
    p95_s: float
    max_s: float
    cold_s: dict[str, float] = field(default_factory=dict)
    by_page: dict[str, tuple[float, float]] = field(default_factory=dict)
    server_peak_mb: float | None = None
    wall_s: float = 0.0
    errors: list[str] = field(default_factory=list)

    def text(self) -> str:
        """The report in a few lines."""
        cold = ", ".join(f"{p or 'Overview'} {s:.1f} s" for p, s in self.cold_s.items())
        lines = [
            f"dataset {self.dataset}: {self.annotations:,} annotations",
            f"sessions held at once: {self.sessions_held} of {self.sessions}",
            f"page views: {self.views}, failed: {self.failed}",
            f"page time: median {self.median_s:.2f} s, 95th percentile {self.p95_s:.2f} s, "
            f"max {self.max_s:.2f} s",
            f"first (cold) view of each page: {cold}",
            "median / 95th percentile by page: "
            + ", ".join(f"{p} {m:.1f}/{q:.1f} s" for p, (m, q) in self.by_page.items()),
            f"server peak memory: {self.server_peak_mb or 0:.0f} MB; wall time {self.wall_s:.0f} s",
        ]
        return "\n".join(lines + [f"error: {e}" for e in self.errors[:10]])


# ---- the data ---------------------------------------------------------------------------------
def build_store(n: int, out: Path | None = None) -> tuple[Path, str]:
    """A store holding ``n`` generated annotations (built once, then reused)."""
    sys.path.insert(0, str(ROOT / "bench"))
    import generate  # bench/generate.py
    import pandas as pd

    from consistency.schema import ImportResult
    from consistency.store import Store

    name = generate.size_name(n)
    store_path = out or DATA / f"load_{name}.duckdb"
    dataset = f"bench-{name}"
    if store_path.exists():
        return store_path, dataset
    parquet = generate.default_path(n)
    if not parquet.exists():
        generate.generate(n, parquet)
    df = pd.read_parquet(parquet)
    gold = df.dropna(subset=["gold_label"]).drop_duplicates("item_id")
    items = gold[["item_id", "gold_label"]].assign(is_control=True)
    result = ImportResult("long", df[["item_id", "labeler_id", "label", "duration_s"]], items)
    partial = store_path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    store = Store(partial)
    try:
        store.import_result(
            result, file_name=parquet.name, data=parquet.read_bytes(), dataset=dataset
        )
    finally:
        store.close()
    partial.replace(store_path)
    return store_path, dataset


def focus_params(store_path: Path, dataset: str) -> tuple[int, dict[str, list[str]]]:
    """The dataset's size and a focus for each page: the two most used classes, the
    most active labeler, the most disputed item."""
    n, focus, _ = focus_pair(store_path, dataset)
    return n, focus


def focus_pair(
    store_path: Path, dataset: str
) -> tuple[int, dict[str, list[str]], dict[str, list[str]]]:
    """The dataset's size, the focus of :func:`focus_params`, and another one: the
    second most used class, the first and third classes as a pair, the second most
    active labeler, the second most disputed item (the first again where there is
    no second)."""
    import ibis

    from consistency.store import Store, ViewFilter

    def top(t: ibis.Table, column: str, k: int) -> list[str]:
        by = t.group_by(column).agg(n=t.count(), k=t.label.nunique())
        order = [ibis.desc("k"), column] if column == "item_id" else [ibis.desc("n"), column]
        return [str(x) for x in by.order_by(order).limit(k).execute()[column]]

    store = Store(store_path, read_only=True)
    try:
        t = store.annotations(dataset, ViewFilter(rounds=("*",)))
        n = int(t.count().execute())
        classes = top(t, "label", 3)
        labelers = top(t, "labeler_id", 2)
        items = top(t, "item_id", 2)  # the items with the most different labels
    finally:
        store.close()
    focus = {
        "class": classes[:1],
        "pair": sorted(classes[:2]),
        "labeler": labelers[:1],
        "item": items[:1],
    }
    other = {
        "class": classes[1:2] or classes[:1],
        "pair": sorted([classes[0], classes[-1]]) if len(classes) > 2 else sorted(classes[:2]),
        "labeler": labelers[1:2] or labelers[:1],
        "item": items[1:2] or items[:1],
    }
    return n, focus, other


# ---- the server -------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


@contextmanager
def dashboard(store_path: Path, port: int, read_only: bool = True) -> Iterator[subprocess.Popen]:
    """The dashboard on 127.0.0.1:``port`` (read-only by default), stopped at the end."""
    env = {**os.environ, "CONSISTENCY_DB": str(store_path)}
    args = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(ROOT / "app.py"),
        "--server.headless",
        "true",
        "--server.address",
        HOST,
        "--server.port",
        str(port),
        "--browser.gatherUsageStats",
        "false",
    ]
    if read_only:
        args += ["--", "--read-only"]
    server = subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            if server.poll() is not None:
                raise RuntimeError(
                    f"the dashboard stopped at start (exit code {server.returncode})"
                )
            try:
                with urllib.request.urlopen(f"http://{HOST}:{port}/_stcore/health", timeout=2) as r:
                    if r.read() == b"ok":
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the dashboard did not answer /_stcore/health within 120 s")
            time.sleep(0.5)
        yield server
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def peak_memory_mb(pid: int) -> float | None:
    """The process's peak resident memory (Linux), or None."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


# ---- a session ---------------------------------------------------------------------------------
async def _view(ws: object, page: str, title: str, query: str, timeout: float) -> float | None:
    """Ask for a page and read until its script run ends; raise on any failure.

    Returns the seconds until the page's first figure card (``st.metric``)
    arrived, None when it has none.
    """
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    msg = BackMsg()
    msg.rerun_script.query_string = query
    msg.rerun_script.page_name = page
    start = time.perf_counter()
    await ws.send(msg.SerializeToString())  # type: ignore[attr-defined]
    seen_title = None
    first_figure = None
    while True:
        raw = await asyncio.wait_for(ws.recv(), timeout)  # type: ignore[attr-defined]
        fwd = ForwardMsg()
        fwd.ParseFromString(raw)
        kind = fwd.WhichOneof("type")
        if kind == "page_not_found":
            raise RuntimeError(f"page '{page}' not found")
        if kind == "delta" and fwd.delta.WhichOneof("type") == "new_element":
            element = fwd.delta.new_element
            what = element.WhichOneof("type")
            if what == "exception":
                raise RuntimeError(f"{element.exception.type}: {element.exception.message[:200]}")
            if what == "heading" and seen_title is None:
                seen_title = element.heading.body
            if what == "metric" and first_figure is None:
                first_figure = time.perf_counter() - start
        if kind == "script_finished":
            status = fwd.script_finished
            if status == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                continue  # the page asked for a rerun (e.g. to write the URL); keep reading
            if status != ForwardMsg.FINISHED_SUCCESSFULLY:
                raise RuntimeError(f"the script ended with status {status}")
            if seen_title != title:
                raise RuntimeError(f"expected page '{title}', got '{seen_title}'")
            return first_figure


async def _session(
    k: int,
    port: int,
    plan: list[tuple[str, str, str]],
    connected: asyncio.Barrier,
    done: asyncio.Barrier,
    views: list[View],
    held: list[int],
    view_timeout: float,
) -> None:
    import websockets

    url = f"ws://{HOST}:{port}/_stcore/stream"
    origin = f"http://{HOST}:{port}"
    try:
        ws = await websockets.connect(url, subprotocols=["streamlit"], origin=origin, max_size=None)
    except Exception as exc:  # a refused connection is a failed view, not a crash of the test
        views.append(View(k, "connect", 0.0, False, f"{type(exc).__name__}: {exc}"))
        await connected.wait()
        await done.wait()
        return
    try:
        await connected.wait()  # every session is open before anyone asks for a page
        for page, title, query in plan:
            start = time.perf_counter()
            try:
                await _view(ws, page, title, query, view_timeout)
                views.append(View(k, page or "Overview", time.perf_counter() - start, True))
            except Exception as exc:
                message = f"{type(exc).__name__}: {exc}"
                views.append(
                    View(k, page or "Overview", time.perf_counter() - start, False, message)
                )
        if ws.state.name == "OPEN":
            held.append(k)
        await done.wait()  # and stays open until all are done
    finally:
        await ws.close()


def _plan(
    dataset: str, focus: dict[str, list[str]], n_views: int, offset: int
) -> list[tuple[str, str, str]]:
    plan = []
    for v in range(n_views):
        path, title, param = PAGES[(offset + v) % len(PAGES)]
        params: list[tuple[str, str]] = [("dataset", dataset)]
        if param is not None:
            params += [(param, value) for value in focus[param]]
        plan.append((path, title, urlencode(params)))
    return plan


async def _load(
    port: int,
    dataset: str,
    focus: dict[str, list[str]],
    sessions: int,
    n_views: int,
    view_timeout: float,
) -> tuple[list[View], list[int]]:
    views: list[View] = []
    held: list[int] = []
    connected, done = asyncio.Barrier(sessions), asyncio.Barrier(sessions)
    await asyncio.gather(
        *(
            _session(
                k,
                port,
                _plan(dataset, focus, n_views, k),
                connected,
                done,
                views,
                held,
                view_timeout,
            )
            for k in range(sessions)
        )
    )
    return views, held


def _p95(sorted_times: list[float]) -> float:
    """The 95th percentile (nearest rank) of sorted times; NaN for none."""
    if not sorted_times:
        return float("nan")
    return sorted_times[min(len(sorted_times) - 1, round(0.95 * (len(sorted_times) - 1)))]


def run_load(
    store_path: Path,
    dataset: str,
    *,
    sessions: int = 20,
    views: int = 8,
    view_timeout: float = 300.0,
    read_only: bool = True,
) -> Report:
    """Start the dashboard on ``store_path``, warm each page once, then run the sessions."""
    started = time.monotonic()
    n, focus = focus_params(store_path, dataset)
    port = free_port()
    with dashboard(store_path, port, read_only=read_only) as server:
        warm, _ = asyncio.run(_load(port, dataset, focus, 1, len(PAGES), view_timeout))
        cold = {v.page: round(v.seconds, 2) for v in warm}
        done, held = asyncio.run(_load(port, dataset, focus, sessions, views, view_timeout))
        peak = peak_memory_mb(server.pid)
    times = sorted(v.seconds for v in done if v.ok)
    failed = [v for v in (*warm, *done) if not v.ok]
    by_page = {}
    for page in dict.fromkeys(v.page for v in done if v.ok):
        mine = sorted(v.seconds for v in done if v.ok and v.page == page)
        by_page[page] = (round(statistics.median(mine), 2), round(_p95(mine), 2))
    return Report(
        dataset=dataset,
        annotations=n,
        sessions=sessions,
        sessions_held=len(held),
        views=len(done),
        failed=len(failed),
        median_s=statistics.median(times) if times else float("nan"),
        p95_s=_p95(times),
        max_s=times[-1] if times else float("nan"),
        cold_s=cold,
        by_page=by_page,
        server_peak_mb=peak,
        wall_s=time.monotonic() - started,
        errors=[f"session {v.session}, {v.page}: {v.error}" for v in failed],
    )


# ---- one session, page after page ----------------------------------------------------------
@dataclass
class Step:
    """One view of ``--sequence``: which step, which page and focus, how long it took."""

    step: str
    page: str
    focus: str
    seconds: float
    ok: bool
    error: str = ""
    server_peak_mb: float | None = None
    first_figure_s: float | None = None


@dataclass
class SequenceReport:
    """What ``--sequence`` measured."""

    dataset: str
    annotations: int
    steps: list[Step]
    server_start_mb: float | None = None
    server_peak_mb: float | None = None
    wall_s: float = 0.0

    @property
    def failed(self) -> int:
        """The number of views that failed."""
        return sum(not s.ok for s in self.steps)

    def text(self) -> str:
        """The report, one line per view."""
        lines = [
            f"dataset {self.dataset}: {self.annotations:,} annotations",
            f"{'step':<12} {'page':<16} {'focus':<28} {'seconds':>8} {'1st figure':>10}",
        ]
        for s in self.steps:
            first = "" if s.first_figure_s is None else f"{s.first_figure_s:10.2f}"
            status = (
                f"{s.seconds:8.2f} {first:>10}" if s.ok else f"{s.seconds:8.2f}  FAILED: {s.error}"
            )
            lines.append(f"{s.step:<12} {s.page:<16} {s.focus[:28]:<28} {status}")
        lines.append(
            f"server memory: {self.server_start_mb or 0:.0f} MB at start, "
            f"peak {self.server_peak_mb or 0:.0f} MB; wall time {self.wall_s:.0f} s"
        )
        return "\n".join(lines)


def sequence_plan(
    dataset: str, focus: dict[str, list[str]], other: dict[str, list[str]]
) -> list[tuple[str, str, str, str, str]]:
    """The views of ``--sequence``: (step, page path, title, query, focus in words).

    Each page in the order of :data:`PAGES` is opened ("first"), then, when it
    has a focus, opened again with ``other`` ("other focus"); then every page is
    opened once more with its first focus ("again").
    """

    def view(
        step: str, path: str, title: str, param: str | None, values: dict[str, list[str]]
    ) -> tuple[str, str, str, str, str]:
        params: list[tuple[str, str]] = [("dataset", dataset)]
        words = ""
        if param is not None:
            params += [(param, value) for value in values[param]]
            words = f"{param}={'+'.join(values[param])}"
        return (step, path, title, urlencode(params), words)

    plan = []
    for path, title, param in PAGES:
        plan.append(view("first", path, title, param, focus))
        if param is not None:
            plan.append(view("other focus", path, title, param, other))
    plan += [view("again", path, title, param, focus) for path, title, param in PAGES]
    return plan


async def _walk(
    port: int,
    plan: list[tuple[str, str, str, str, str]],
    view_timeout: float,
    pid: int,
    progress: bool = False,
) -> list[Step]:
    """One session viewing the plan's pages in turn (each view told on stderr with ``progress``)."""
    import websockets

    url = f"ws://{HOST}:{port}/_stcore/stream"
    origin = f"http://{HOST}:{port}"
    steps = []
    # No keepalive pings, as a browser tab: a long script run may hold the server's
    # event loop longer than the client's ping timeout, and the view is still coming.
    async with websockets.connect(
        url, subprotocols=["streamlit"], origin=origin, max_size=None, ping_interval=None
    ) as ws:
        for step, page, title, query, words in plan:
            start = time.perf_counter()
            first = None
            try:
                first = await _view(ws, page, title, query, view_timeout)
                ok, error = True, ""
            except Exception as exc:
                ok, error = False, f"{type(exc).__name__}: {exc}"
            seconds = round(time.perf_counter() - start, 3)
            peak = peak_memory_mb(pid)
            first_s = None if first is None else round(first, 3)
            steps.append(Step(step, page or "Overview", words, seconds, ok, error, peak, first_s))
            if progress:
                print(f"{step} {page or 'Overview'} {words}: {seconds:.2f} s", file=sys.stderr)
    return steps


def run_sequence(
    store_path: Path,
    dataset: str,
    *,
    view_timeout: float = 300.0,
    read_only: bool = True,
    progress: bool = False,
) -> SequenceReport:
    """Start the dashboard on ``store_path`` and walk :func:`sequence_plan` in one session."""
    started = time.monotonic()
    n, focus, other = focus_pair(store_path, dataset)
    port = free_port()
    with dashboard(store_path, port, read_only=read_only) as server:
        at_start = peak_memory_mb(server.pid)
        plan = sequence_plan(dataset, focus, other)
        steps = asyncio.run(_walk(port, plan, view_timeout, server.pid, progress))
        peak = peak_memory_mb(server.pid)
    return SequenceReport(
        dataset=dataset,
        annotations=n,
        steps=steps,
        server_start_mb=at_start,
        server_peak_mb=peak,
        wall_s=time.monotonic() - started,
    )


def main(argv: list[str] | None = None) -> int:
    """Command line; exits 1 when a view failed or the run exceeded ``--timeout``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="1e6", help="annotations to generate (default 1e6)")
    parser.add_argument("--store", type=Path, help="use this store instead of generating one")
    parser.add_argument("--dataset", help="the dataset of --store")
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--views", type=int, default=8, help="page views per session")
    parser.add_argument("--view-timeout", type=float, default=300.0, dest="view_timeout")
    parser.add_argument("--timeout", type=float, default=1800.0, help="bound of the whole run (s)")
    parser.add_argument("--writable", action="store_true", help="run the dashboard read-write")
    parser.add_argument(
        "--sequence",
        action="store_true",
        help="one session: each page first, with another focus, then again; every view reported",
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="JSON report (default bench/results/load_test.json, load_sequence.json with --sequence)",
    )
    args = parser.parse_args(argv)
    if args.store is not None:
        if not args.dataset:
            parser.error("--store needs --dataset")
        store_path, dataset = args.store, args.dataset
    else:
        sys.path.insert(0, str(ROOT / "bench"))
        import generate

        store_path, dataset = build_store(generate.parse_size(args.size))

    import threading

    bound = threading.Timer(args.timeout, lambda: os._exit(2))  # the bound, whatever happens
    bound.daemon = True
    bound.start()
    report: Report | SequenceReport
    if args.sequence:
        report = run_sequence(
            store_path,
            dataset,
            view_timeout=args.view_timeout,
            read_only=not args.writable,
            progress=True,
        )
        out = args.out or RESULTS / "load_sequence.json"
    else:
        report = run_load(
            store_path,
            dataset,
            sessions=args.sessions,
            views=args.views,
            view_timeout=args.view_timeout,
            read_only=not args.writable,
        )
        out = args.out or RESULTS / "load_test.json"
    print(report.text())
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(asdict(report), indent=2))
    return 0 if report.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
