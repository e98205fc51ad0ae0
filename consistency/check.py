"""A quality gate: does a dataset view meet the thresholds a labeling pipeline sets?

:func:`check` reads one :func:`consistency.analysis.analyze` result and a
:class:`Gate` (the thresholds; unset ones are not checked) and returns a
:class:`CheckResult`: one :class:`Finding` per figure checked, each saying
whether it passed, with the figure and the limit. ``consistency check`` prints
it and exits 0 when every threshold is met, 1 when not (see docs/pipelines.md).

Each threshold is one :class:`Threshold` in :data:`THRESHOLDS`: the name of
its :class:`Gate` field, whether the figure must be at least (``min``) or at
most (``max``) the limit, and a small function that picks the figures from the
result. Adding a threshold is one :class:`Gate` field and one entry there.

A figure that cannot be computed on the data (no gold labels for
``min_gold_accuracy``, no answer times for ``max_fast_share``) fails its
threshold: a gate passes only on what it could verify.

>>> result = {"dataset": {"dataset": "d", "pairable_items": 40}, "view": "v",
...           "alpha": {"value": 0.55, "ci_low": 0.5, "ci_high": 0.6}}
>>> outcome = check(result, Gate(min_alpha=0.6))
>>> outcome.passed, outcome.failures[0].message
(False, 'alpha is 0.550, below --min-alpha 0.600')
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

from consistency.errors import InvalidArgument
from consistency.ui import fmt

Figure = tuple[str, float | None]
Kind = Literal["min", "max"]


@dataclass(frozen=True)
class Gate:
    """The thresholds of a quality gate; None (or empty) leaves a threshold unchecked.

    Attributes:
        min_alpha: Krippendorff's alpha of the view at least this.
        min_alpha_ci_low: the low end of alpha's bootstrap interval at least
            this (alpha is established above it, not only estimated).
        min_class_agreement: every class's specific agreement at least this.
        min_labeler_agreement: every labeler's agreement with the others at
            least this.
        max_fast_share: every labeler's share of suspiciously fast answers
            at most this.
        max_tie_share: the share of items whose majority vote is tied at
            most this.
        min_gold_accuracy: the majority vote's accuracy on gold items at
            least this.
        min_pairable_items: at least this many items with two labels or more.
        fail_on_notes: note codes (see :mod:`consistency.notes`) that fail
            the gate wherever they appear.

    Raises:
        InvalidArgument: a limit out of its range (shares and agreements in
            [0, 1], alpha in [-1, 1], counts at least 0), or an unknown note code.
    """

    min_alpha: float | None = None
    min_alpha_ci_low: float | None = None
    min_class_agreement: float | None = None
    min_labeler_agreement: float | None = None
    max_fast_share: float | None = None
    max_tie_share: float | None = None
    min_gold_accuracy: float | None = None
    min_pairable_items: int | None = None
    fail_on_notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for t in THRESHOLDS:
            limit = getattr(self, t.name)
            if limit is None:
                continue
            low, high = t.bounds
            number = isinstance(limit, int | float) and not isinstance(limit, bool)
            if number and not math.isnan(limit) and low <= limit <= high:
                continue
            if math.isinf(high):
                raise InvalidArgument(f"{t.option} must be at least {low:g}; found {limit}")
            hint = " (give shares as fractions, e.g. 0.6 for 60%)" if t.percent else ""
            raise InvalidArgument(
                f"{t.option} must be between {low:g} and {high:g}; found {limit}{hint}"
            )
        if self.fail_on_notes:
            from consistency.notes import parse_note_codes

            object.__setattr__(self, "fail_on_notes", parse_note_codes(list(self.fail_on_notes)))

    def is_empty(self) -> bool:
        """Whether no threshold is set."""
        return not self.fail_on_notes and all(getattr(self, t.name) is None for t in THRESHOLDS)

    def require_any(self) -> None:
        """Raise InvalidArgument naming the options when no threshold is set."""
        if self.is_empty():
            options = ", ".join(t.option for t in THRESHOLDS)
            raise InvalidArgument(
                f"give at least one threshold: {options} or --fail-on-notes CODES"
            )


# ---- reading the figures -------------------------------------------------------------------
def _num(x: Any) -> float | None:
    if x is None or isinstance(x, bool | str):
        return None
    f = float(x)
    return f if math.isfinite(f) else None


def _alpha(result: Mapping[str, Any]) -> list[Figure]:
    return [("alpha", _num((result.get("alpha") or {}).get("value")))]


def _alpha_low(result: Mapping[str, Any]) -> list[Figure]:
    return [("the low end of alpha's interval", _num((result.get("alpha") or {}).get("ci_low")))]


def _per_row(
    figure: str, key: str, column: str, template: str, everyone: str
) -> Callable[[Mapping[str, Any]], list[Figure]]:
    """The figure ``column`` of each row of ``result[figure]``, named ``template`` with the row's ``key``.

    When no row has the figure, one missing figure named ``everyone`` stands for all.
    """

    def pick(result: Mapping[str, Any]) -> list[Figure]:
        rows = result.get(figure) or []
        found = [(template.format(f"'{r.get(key)}'"), _num(r.get(column))) for r in rows]
        if all(value is None for _, value in found):
            return [(everyone, None)]
        return found

    return pick


def _tie_share(result: Mapping[str, Any]) -> list[Figure]:
    mv = (result.get("consensus") or {}).get("majority_vote") or {}
    items, ties = _num(mv.get("items")), _num(mv.get("ties"))
    return [
        ("the share of tied majority votes", ties / items if items and ties is not None else None)
    ]


def _gold(result: Mapping[str, Any]) -> list[Figure]:
    mv = (result.get("consensus") or {}).get("majority_vote") or {}
    return [("the majority vote's accuracy on gold items", _num(mv.get("gold_accuracy")))]


def _pairable(result: Mapping[str, Any]) -> list[Figure]:
    count = _num((result.get("dataset") or {}).get("pairable_items"))
    return [("the number of pairable items", count)]


@dataclass(frozen=True)
class Threshold:
    """One threshold: its :class:`Gate` field, direction, how its figures read, where they are.

    ``figures(result)`` gives ``(what, value)`` pairs, value None when it
    cannot be computed; ``missing`` says why, for the message; ``percent``
    prints figure and limit as percentages; ``bounds`` is the allowed range
    of the limit.
    """

    name: str
    kind: Kind
    figures: Callable[[Mapping[str, Any]], list[Figure]]
    missing: str
    percent: bool = False
    bounds: tuple[float, float] = (0.0, 1.0)

    @property
    def option(self) -> str:
        """The command-line option, e.g. ``--min-alpha``."""
        return "--" + self.name.replace("_", "-")


#: Why alpha can be undefined.
ALPHA_UNDEFINED = "no item with two labels, or a single class"

#: The thresholds, in the order they are checked and reported.
THRESHOLDS: tuple[Threshold, ...] = (
    Threshold("min_alpha", "min", _alpha, ALPHA_UNDEFINED, bounds=(-1.0, 1.0)),
    Threshold("min_alpha_ci_low", "min", _alpha_low, ALPHA_UNDEFINED, bounds=(-1.0, 1.0)),
    Threshold(
        "min_class_agreement",
        "min",
        _per_row(
            "per_class",
            "class",
            "specific_agreement",
            "the specific agreement of class {}",
            "the specific agreement of every class",
        ),
        "no pairable label of the class",
        percent=True,
    ),
    Threshold(
        "min_labeler_agreement",
        "min",
        _per_row(
            "labelers",
            "labeler_id",
            "agreement",
            "the agreement of labeler {}",
            "the agreement of every labeler",
        ),
        "the labeler shares no item with another labeler",
        percent=True,
    ),
    Threshold(
        "max_fast_share",
        "max",
        _per_row(
            "labelers",
            "labeler_id",
            "fast_share",
            "the share of fast answers of labeler {}",
            "the share of fast answers of every labeler",
        ),
        "no answer times",
        percent=True,
    ),
    Threshold("max_tie_share", "max", _tie_share, "no item", percent=True),
    Threshold("min_gold_accuracy", "min", _gold, "no gold labels", percent=True),
    Threshold("min_pairable_items", "min", _pairable, "no count", bounds=(0.0, math.inf)),
)


# ---- the findings -------------------------------------------------------------------------
@dataclass(frozen=True)
class Finding:
    """One figure against one threshold.

    Attributes:
        threshold: the :class:`Gate` field (``fail_on_notes`` for a note).
        option: its command-line option.
        target: what was measured (``alpha``, ``the specific agreement of class 'dent'``,
            or where a note is).
        value: the figure (None when it cannot be computed, and for notes).
        limit: the threshold's limit (None for notes).
        passed: whether the figure meets the limit.
        message: the finding in words, e.g. ``alpha is 0.412, below --min-alpha 0.600``.
    """

    threshold: str
    option: str
    target: str
    value: float | None
    limit: float | None
    passed: bool
    message: str

    def to_dict(self) -> dict[str, Any]:
        """The finding as a plain dict."""
        return asdict(self)


def _show(x: float, t: Threshold) -> str:
    if t.name == "min_pairable_items":
        return f"{int(x):,}" if float(x).is_integer() else f"{x:g}"
    return fmt.percent(x, 1) if t.percent else f"{x:.3f}"


def _pair(value: float, limit: float, t: Threshold) -> tuple[str, str]:
    """Figure and limit as text, with more digits when rounding would make them look equal."""
    a, b = _show(value, t), _show(limit, t)
    if a == b and value != limit:
        return f"{value:.6g}", f"{limit:.6g}"
    return a, b


def _finding(t: Threshold, limit: float, target: str, value: float | None) -> Finding:
    if value is None:
        return Finding(
            t.name,
            t.option,
            target,
            None,
            limit,
            False,
            f"{target} cannot be computed ({t.missing}); {t.option} {_show(limit, t)} "
            "is not verified",
        )
    ok = value >= limit if t.kind == "min" else value <= limit
    shown, bound = _pair(value, limit, t)
    if ok:
        word = "at least" if t.kind == "min" else "at most"
    else:
        word = "below" if t.kind == "min" else "above"
    return Finding(
        t.name,
        t.option,
        target,
        value,
        limit,
        ok,
        f"{target} is {shown}, {word} {t.option} {bound}",
    )


def _note_findings(result: Mapping[str, Any], codes: Sequence[str]) -> list[Finding]:
    from consistency.notes import notes_with_codes

    found = notes_with_codes(result, codes)
    if not found:
        return [
            Finding(
                "fail_on_notes",
                "--fail-on-notes",
                "notes",
                None,
                None,
                True,
                f"no note {', '.join(codes)} on any figure",
            )
        ]
    return [
        Finding(
            "fail_on_notes",
            "--fail-on-notes",
            str(n.get("where")),
            None,
            None,
            False,
            f"note {n.get('code')} on {n.get('where')}: {n.get('message')}",
        )
        for n in found
    ]


@dataclass(frozen=True)
class CheckResult:
    """The outcome of a gate: every finding, and whether all passed.

    Attributes:
        dataset: the dataset id.
        view: the view checked, in words.
        thresholds: the options checked, in order.
        findings: one per figure checked (and per note found).
    """

    dataset: str
    view: str
    thresholds: tuple[str, ...]
    findings: tuple[Finding, ...]

    @property
    def passed(self) -> bool:
        """Whether every threshold is met."""
        return all(f.passed for f in self.findings)

    @property
    def failures(self) -> list[Finding]:
        """The findings that failed, in order."""
        return [f for f in self.findings if not f.passed]

    @property
    def failed_thresholds(self) -> list[str]:
        """The options with at least one failing finding, in order."""
        return list(dict.fromkeys(f.option for f in self.failures))

    def to_dict(self) -> dict[str, Any]:
        """The outcome as a JSON-ready dict (the ``check --json`` schema, see docs/pipelines.md)."""
        from consistency.analysis import clean_json

        return clean_json(
            {
                "dataset": self.dataset,
                "view": self.view,
                "passed": self.passed,
                "thresholds": list(self.thresholds),
                "failed_thresholds": self.failed_thresholds,
                "findings": [f.to_dict() for f in self.findings],
            }
        )


def check(result: Mapping[str, Any], gate: Gate) -> CheckResult:
    """Check an analysis result against a gate.

    Args:
        result: the dict of :func:`consistency.analysis.analyze`.
        gate: the thresholds (at least one set).

    Returns:
        A :class:`CheckResult` with one finding per figure checked, in the
        order of :data:`THRESHOLDS`, then the notes of ``gate.fail_on_notes``.

    Raises:
        InvalidArgument: no threshold is set.
    """
    gate.require_any()
    findings: list[Finding] = []
    options: list[str] = []
    for t in THRESHOLDS:
        limit = getattr(gate, t.name)
        if limit is None:
            continue
        options.append(t.option)
        findings += [
            _finding(t, float(limit), target, value) for target, value in t.figures(result)
        ]
    if gate.fail_on_notes:
        options.append("--fail-on-notes")
        findings += _note_findings(result, gate.fail_on_notes)
    d = result.get("dataset") or {}
    return CheckResult(
        str(d.get("dataset")), str(result.get("view")), tuple(options), tuple(findings)
    )


def format_check(outcome: CheckResult) -> str:
    """The outcome for the terminal: one ``FAILED: ...`` line per failing figure, one
    ``ok: ...`` line per threshold met, then ``result: PASSED`` or ``result: FAILED``."""
    lines = [f"check of dataset '{outcome.dataset}' ({outcome.view})"]
    for option in outcome.thresholds:
        mine = [f for f in outcome.findings if f.option == option]
        failed = [f for f in mine if not f.passed]
        if failed:
            lines += [f"FAILED: {f.message}" for f in failed]
        else:
            lines.append(f"ok: {_summary(mine)}")
    n, k = len(outcome.thresholds), len(outcome.failed_thresholds)
    if outcome.passed:
        lines.append(f"result: PASSED ({n} threshold{'s' if n != 1 else ''} met)")
    else:
        lines.append(f"result: FAILED ({k} of {n} threshold{'s' if n != 1 else ''} not met)")
    return "\n".join(lines)


def _summary(findings: list[Finding]) -> str:
    """One line for a threshold met by every figure: the single figure, or the closest one."""
    if len(findings) == 1:
        return findings[0].message
    t = next(t for t in THRESHOLDS if t.name == findings[0].threshold)
    pick = min if t.kind == "min" else max
    closest = pick(findings, key=lambda f: f.value if f.value is not None else 0.0)
    return f"all {len(findings)} figures meet {t.option} (closest: {closest.message})"


def gate_from(values: Mapping[str, Any]) -> Gate:
    """A :class:`Gate` from a mapping with (some of) its field names, e.g. parsed options.

    >>> gate_from({"min_alpha": 0.6, "other": 1}).min_alpha
    0.6
    """
    names = {f.name for f in fields(Gate)}
    kwargs = {k: v for k, v in values.items() if k in names and v is not None}
    if "fail_on_notes" in kwargs and isinstance(kwargs["fail_on_notes"], str):
        from consistency.notes import parse_note_codes

        kwargs["fail_on_notes"] = parse_note_codes(kwargs["fail_on_notes"])
    return Gate(**kwargs)
