"""Real-browser fixtures: a Streamlit server on a free port, and headless Chromium.

The session server starts on an empty store, so its first request imports the
sample dataset, as a new user's would. ``fresh_server`` starts a server of its
own for tests whose first request must reach a freshly started process.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from consistency.io import Source, read_source
from consistency.store import Store

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = os.environ.get("CONSISTENCY_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
START_TIMEOUT_S = 60


@dataclass
class Server:
    """A running dashboard: its base URL and its process."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.read().decode().strip() == "ok"
    except OSError:
        return False


def start_server(db_path: Path, log: Path) -> Server:
    """``streamlit run app.py`` on a free port with CONSISTENCY_DB set; waits until healthy."""
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "app.py",
        "--server.headless",
        "true",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--server.fileWatcherType",
        "none",
        "--browser.gatherUsageStats",
        "false",
    ]
    env = {**os.environ, "CONSISTENCY_DB": str(db_path)}
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    server = Server(f"http://127.0.0.1:{port}", process, log)
    deadline = time.monotonic() + START_TIMEOUT_S
    while not _healthy(server.url):
        if process.poll() is not None or time.monotonic() > deadline:
            server.stop()
            pytest.fail(f"the dashboard did not start:\n{log.read_text()}")
        time.sleep(0.2)
    return server


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One dashboard for the session, on an empty store (the sample is imported on first use)."""
    folder = tmp_path_factory.mktemp("dashboard")
    running = start_server(folder / "store.duckdb", folder / "server.log")
    yield running
    running.stop()


#: The store of ``fresh_server``: dataset ``tools``, two rounds, one metadata field.
TOOLS_CSV = b"""item,worker,label,round,site
t1,ann,hammer,1,north
t1,bob,hammer,1,north
t2,ann,saw,1,south
t2,bob,drill,1,south
t2,ann,saw,2,south
t2,bob,saw,2,south
"""


@pytest.fixture
def fresh_server(tmp_path: Path) -> Iterator[Server]:
    """A dashboard started for this test alone, on a store holding dataset ``tools``."""
    db_path = tmp_path / "store.duckdb"
    store = Store(db_path)
    try:
        result = read_source(Source("tools.csv", TOOLS_CSV))
        store.import_result(result, file_name="tools.csv", data=TOOLS_CSV, dataset="tools")
    finally:
        store.close()
    running = start_server(db_path, tmp_path / "server.log")
    yield running
    running.stop()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """The machine's Chromium, headless, without network side traffic."""
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    """A tall viewport: Streamlit scrolls its own container, so screenshots stop at the viewport."""
    return {**browser_context_args, "viewport": {"width": 1400, "height": 2000}}


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """The folder screenshots are saved to (ignored by git)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
