"""The one exception hierarchy of `consistency`, and the `Problem` record.

Every problem found in user input is a :class:`Problem`: where it is (file, line
or JSON path, field), a machine-readable ``code``, what was expected and what
was found. Importers collect problems, then raise one :class:`ImportFailed`
carrying all of them. The CLI prints them; the dashboard shows them as a table.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Literal

Severity = Literal["error", "warning"]

#: How many problems a report lists before it says "... and N more".
MAX_LISTED = 20


@dataclass(frozen=True)
class Problem:
    """One problem in one place of one input file.

    ``line`` is 1-based (the header of a CSV is line 1); ``path`` is a JSON path
    such as ``$[3].annotations[0].completed_by`` for JSON inputs. Either may be
    ``None`` when the problem concerns the file as a whole.
    """

    file: str
    code: str
    expected: str
    found: str
    line: int | None = None
    path: str | None = None
    field: str | None = None
    severity: Severity = "error"

    @property
    def location(self) -> str:
        """``file, line 4`` / ``file, $[2].annotations[0]`` / ``file``."""
        where = self.file
        if self.line is not None:
            where += f", line {self.line}"
        if self.path is not None:
            where += f", {self.path}"
        return where

    @property
    def message(self) -> str:
        """The one-line message: location, field, expected, found."""
        field = f", field '{self.field}'" if self.field else ""
        return f"{self.location}{field}: expected {self.expected}; found {self.found}"

    def to_dict(self) -> dict[str, object]:
        """The record as a plain dict, with the message (for JSON and tables)."""
        d = asdict(self)
        d["message"] = self.message
        return d


def format_problems(problems: Iterable[Problem], limit: int = MAX_LISTED) -> str:
    """Problems as indented lines, capped at ``limit`` with "... and N more"."""
    problems = list(problems)
    lines = [f"  - {p.message}" for p in problems[:limit]]
    if len(problems) > limit:
        lines.append(f"  ... and {len(problems) - limit} more")
    return "\n".join(lines)


class ConsistencyError(Exception):
    """Base class of every error `consistency` reports to a user.

    The CLI prints ``str(error)`` and exits non-zero; the dashboard shows it.
    No other exception type should reach a user.
    """


class ImportFailed(ConsistencyError):
    """An import found errors; nothing was written. Carries every problem."""

    def __init__(self, problems: list[Problem], summary: str | None = None) -> None:
        self.problems = [p for p in problems if p.severity == "error"] or list(problems)
        self.warnings = [p for p in problems if p.severity == "warning"]
        files = sorted({p.file for p in self.problems})
        n = len(self.problems)
        head = summary or (
            f"{n} problem{'s' if n != 1 else ''} in {', '.join(files)}; nothing was imported"
        )
        super().__init__(f"{head}:\n{format_problems(self.problems)}")

    def table(self) -> list[dict[str, object]]:
        """Every problem as a dict (file, line, path, field, code, expected, found, message)."""
        return [p.to_dict() for p in self.problems]


class UnknownFormat(ImportFailed):
    """No importer recognised the file. The problems say why each did not fit."""


class DatasetNotFound(ConsistencyError):
    """A dataset id that is not in the store. The message lists the ones that are."""

    def __init__(self, dataset: str, known: list[str]) -> None:
        self.dataset = dataset
        self.known = known
        listed = ", ".join(known) if known else "none yet; import a file first"
        super().__init__(f"dataset '{dataset}' not found in the store. Datasets: {listed}")


class StoreBusy(ConsistencyError):
    """Another process holds the store file."""


class InvalidArgument(ConsistencyError):
    """A value given by the user (CLI option, URL parameter) that cannot be used."""


class NotComputable(ConsistencyError):
    """A figure that cannot be computed on this data; the message says why."""
