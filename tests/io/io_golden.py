"""Golden cases for the importers: discovery, running, and rendering as text.

Layout: ``tests/golden/<folder>/<case>.<ext>`` is an input file; next to it is
either ``<case>.expected.txt`` (the canonical tables, as CSV sections) or
``<case>.errors.txt`` (the error report, word for word). The folder is a format
name (the file must be detected as that format) or ``detect`` (file-level
problems). Lines ``# key: value`` at the top of the expected file are options
passed to ``read_source`` (``format``, ``field``) and are kept on regeneration.

Regenerate every expected file from the current code with
``python tests/regen_golden.py``, then review the diff.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from consistency.errors import ImportFailed
from consistency.io import FORMATS, Source, read_source
from consistency.schema import ITEM_COLUMNS, ImportResult

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
EXPECTED, ERRORS = ".expected.txt", ".errors.txt"
OPTION_KEYS = ("format", "field")


@dataclass(frozen=True)
class Case:
    """One golden case: an input file and the folder it is in."""

    input: Path

    @property
    def folder(self) -> str:
        return self.input.parent.name

    @property
    def name(self) -> str:
        return self.input.name.split(".")[0]

    @property
    def id(self) -> str:
        return f"{self.folder}/{self.name}"

    def output(self, suffix: str) -> Path:
        return self.input.with_name(self.name + suffix)

    def options(self) -> dict[str, str]:
        """The ``# key: value`` lines at the top of the existing expected file."""
        options: dict[str, str] = {}
        for suffix in (EXPECTED, ERRORS):
            path = self.output(suffix)
            if not path.exists():
                continue
            for line in path.read_bytes().decode("utf-8").split("\n"):
                if not line.startswith("# "):
                    break
                key, _, value = line[2:].partition(":")
                if key.strip() in OPTION_KEYS:
                    options[key.strip()] = value.strip()
        return options


def cases() -> list[Case]:
    """Every input file under tests/golden, sorted."""
    found = []
    for path in sorted(GOLDEN.glob("*/*")):
        if path.is_file() and not path.name.endswith((EXPECTED, ERRORS)):
            found.append(Case(path))
    return found


def run(case: Case) -> tuple[str, str, str | None]:
    """Import a case: (output suffix, rendered text, detected format or None)."""
    options = case.options()
    header = "".join(f"# {k}: {options[k]}\n" for k in OPTION_KEYS if k in options)
    source = Source(case.input.name, case.input.read_bytes())
    try:
        result = read_source(source, format=options.get("format"), field=options.get("field"))
    except ImportFailed as e:
        return ERRORS, header + render_error(e), None
    return EXPECTED, header + render_result(result), result.format


def _problem_lines(problems: list) -> str:
    return "".join(f"  [{p.code}] {p.severity}: {p.message}\n" for p in problems)


def render_error(error: ImportFailed) -> str:
    """The exception type and message, then every problem with its code."""
    return (
        f"raises: {type(error).__name__}\n"
        f"message:\n{error}\n"
        f"problems:\n{_problem_lines(error.problems + error.warnings)}"
    )


def _csv(df: pd.DataFrame) -> str:
    if df.empty:
        return "(none)\n"
    return df.to_csv(index=False, lineterminator="\n")


def render_result(result: ImportResult) -> str:
    """Format, counts, notes, warnings, then the three tables as CSV."""
    stats = " ".join(f"{k}={v}" for k, v in result.stats.items())
    notes = "".join(f"  {n}\n" for n in result.notes) or "  (none)\n"
    meta = [c for c in result.items.columns if c not in ITEM_COLUMNS]
    dtypes = " ".join(f"{c}={result.items[c].dtype}" for c in meta) or "(no metadata)"
    return (
        f"format: {result.format}\n"
        f"stats: {stats}\n"
        f"notes:\n{notes}"
        f"warnings:\n{_problem_lines(result.warnings) or '  (none)' + chr(10)}"
        f"annotations:\n{_csv(result.annotations)}"
        f"items: {dtypes}\n{_csv(result.items)}"
        f"predictions:\n{_csv(result.predictions)}"
    )


def is_format_folder(folder: str) -> bool:
    return folder in FORMATS
