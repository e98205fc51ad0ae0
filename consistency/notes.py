"""Notes beside the figures: when a number is fragile, it says so, and why.

A note qualifies one figure of :func:`consistency.analysis.analyze`'s result
(the overall alpha, a class, a labeler, a slice, a round). Each note is a
record ``{code, severity, message}`` stored beside the figure it qualifies
(``result["alpha"]["notes"]``, ``row["notes"]`` in ``per_class``,
``labelers``, ``slices`` and ``rounds``); the top level of the result lists
them all as ``result["notes"]``, each with ``where``, the name of its figure:

* ``alpha``: the overall figures (alpha, Fleiss' kappa, percent agreement, AC1);
* ``per_class:<class>``, ``labelers:<labeler_id>``,
  ``slices:<field>=<value>``, ``rounds:<round>``.

The notes come from small rules in :data:`NOTE_RULES`, each a pure function
``rule(result, th, use) -> list[Note]`` over the result dict, the named
:class:`NoteThresholds` and, for ``unequal_use``, the per-labeler class use
(:func:`labeler_class_use`). Adding a note is one function and one entry in
the tuple. The codes, their thresholds and their messages are documented in
docs/notes-and-planner.md.

>>> result = {"dataset": {"items": 12, "pairable_items": 12, "unpairable_items": 0},
...           "alpha": {"value": 0.7, "ci_low": 0.5, "ci_high": 0.85},
...           "percent_agreement": 0.8, "gwet_ac1": 0.72, "per_class": []}
>>> [n["code"] for n in notes_for(add_notes(result), "alpha")]
['few_units', 'wide_interval']
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import ibis.expr.types as ir
import numpy as np
import pandas as pd

from consistency.engine import LabelerPatterns, labeler_patterns
from consistency.errors import InvalidArgument

NoteSeverity = Literal["warning", "info"]

#: Every note code, in the order the rules run.
NOTE_CODES: tuple[str, ...] = (
    "few_units",
    "sparse_class",
    "skewed",
    "kappa_paradox",
    "unequal_use",
    "wide_interval",
    "single_labeler_items",
)

#: The lists of the result whose rows are figures, and the key that names each row.
ROW_FIGURES: tuple[tuple[str, str], ...] = (
    ("per_class", "class"),
    ("labelers", "labeler_id"),
    ("slices", "value"),
    ("rounds", "round"),
)

#: Columns of :func:`labeler_class_use`.
CLASS_USE_COLUMNS: tuple[str, ...] = (
    "labeler_id",
    "class",
    "n",
    "labels",
    "rate",
    "others_rate",
    "gap",
    "z",
)


@dataclass(frozen=True)
class NoteThresholds:
    """The named thresholds of the notes (documented in docs/notes-and-planner.md).

    Attributes:
        min_units: ``few_units`` when fewer pairable items than this are
            behind a figure (for a labeler: its labels on items someone else
            labeled too; for a class: the items with that label).
        min_class_items: ``sparse_class`` when a class has fewer items, or
            fewer pairable values, than this.
        skew_max_share: ``skewed`` when one class holds more than this share
            of the pairable values.
        paradox_max_alpha: ``kappa_paradox`` when alpha (or a labeler's
            kappa) is below this...
        paradox_min_agreement: ... while percent agreement (or the labeler's
            agreement) is at least this.
        unequal_min_gap: ``unequal_use`` when a labeler gives some class at a
            rate at least this far from the other labelers' rate on the same
            items...
        unequal_min_z: ... the gap is at least this many binomial standard
            errors...
        unequal_min_labels: ... and the labeler gave at least this many
            labels on items shared with others.
        max_ci_width: ``wide_interval`` when an interval of alpha is wider
            than this (high minus low).
        max_unpairable_share: ``single_labeler_items`` when more than this
            share of the items has a single label.
    """

    min_units: int = 30
    min_class_items: int = 5
    skew_max_share: float = 0.85
    paradox_max_alpha: float = 0.4
    paradox_min_agreement: float = 0.8
    unequal_min_gap: float = 0.10
    unequal_min_z: float = 3.0
    unequal_min_labels: int = 30
    max_ci_width: float = 0.2
    max_unpairable_share: float = 0.2


@dataclass(frozen=True)
class Note:
    """One note: what (``code``), how serious, the sentence, and the figure it qualifies."""

    code: str
    severity: NoteSeverity
    message: str
    where: str

    def to_dict(self) -> dict[str, str]:
        """The note as a plain dict, ``where`` included."""
        return asdict(self)


# ---- reading the result ------------------------------------------------------------
def _num(x: Any) -> float | None:
    """A finite float, or None for None, NaN, infinities and non-numbers."""
    if x is None or isinstance(x, bool | str):
        return None
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _pct(x: float) -> str:
    return f"{x:.0%}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def row_where(figure: str, row: Mapping[str, Any]) -> str:
    """The ``where`` name of one row of a figure list.

    >>> row_where("slices", {"field": "camera", "value": "cam_C"})
    'slices:camera=cam_C'
    >>> row_where("per_class", {"class": "dent"})
    'per_class:dent'
    """
    key = dict(ROW_FIGURES)[figure]
    if figure == "slices":
        return f"slices:{row.get('field')}={row.get(key)}"
    return f"{figure}:{row.get(key)}"


def _rows(result: Mapping[str, Any], figure: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for row in result.get(figure) or []:
        yield row_where(figure, row), row


def _overall(result: Mapping[str, Any]) -> Mapping[str, Any]:
    return result.get("alpha") or {}


# ---- the rules ---------------------------------------------------------------------
Rule = Callable[[Mapping[str, Any], NoteThresholds, pd.DataFrame | None], list[Note]]


def _few(where: str, n: int, what: str, th: NoteThresholds) -> Note:
    return Note(
        "few_units",
        "warning",
        f"{what} rests on {_plural(n, 'pairable item')} (fewer than {th.min_units}): "
        "read it as a rough indication; label more items with two labels or more",
        where,
    )


def few_units(
    result: Mapping[str, Any], th: NoteThresholds, use: pd.DataFrame | None = None
) -> list[Note]:
    """Figures with fewer than ``min_units`` pairable items behind them.

    Overall: the dataset's pairable items; a slice or a round: its pairable
    items; a labeler: its labels on items labeled by someone else too
    (``agreement_n``); a class: the items with that label (classes already
    noted ``sparse_class`` are not noted again).
    """
    out = []
    n = _num((result.get("dataset") or {}).get("pairable_items"))
    if n is not None and n < th.min_units:
        out.append(_few("alpha", int(n), "alpha", th))
    for figure, column, what in (
        ("slices", "pairable_items", "the alpha of this slice"),
        ("rounds", "pairable_items", "the alpha of this round"),
        ("labelers", "agreement_n", "this labeler's agreement"),
        ("per_class", "items", "this class's agreement"),
    ):
        for where, row in _rows(result, figure):
            n = _num(row.get(column))
            if n is None or n >= th.min_units:
                continue
            if figure == "per_class" and _is_sparse(row, th):
                continue
            out.append(_few(where, int(n), what, th))
    return out


def _is_sparse(row: Mapping[str, Any], th: NoteThresholds) -> bool:
    items, values = _num(row.get("items")) or 0, _num(row.get("n")) or 0
    return items < th.min_class_items or values < th.min_class_items


def sparse_class(
    result: Mapping[str, Any], th: NoteThresholds, use: pd.DataFrame | None = None
) -> list[Note]:
    """Classes with fewer than ``min_class_items`` items or pairable values."""
    out = []
    for where, row in _rows(result, "per_class"):
        if not _is_sparse(row, th):
            continue
        items, values = int(_num(row.get("items")) or 0), int(_num(row.get("n")) or 0)
        out.append(
            Note(
                "sparse_class",
                "warning",
                f"class '{row.get('class')}' has {_plural(items, 'item')} and "
                f"{_plural(values, 'pairable value')} (fewer than {th.min_class_items}): "
                "its per-class figures rest on too little to compare with other classes",
                where,
            )
        )
    return out


def skewed(
    result: Mapping[str, Any], th: NoteThresholds, use: pd.DataFrame | None = None
) -> list[Note]:
    """One class holds more than ``skew_max_share`` of the pairable values."""
    shares = [(_num(r.get("share")), str(r.get("class"))) for r in result.get("per_class") or []]
    shares = [(s, c) for s, c in shares if s is not None]
    if not shares:
        return []
    share, cls = max(shares)
    if share <= th.skew_max_share:
        return []
    pa, ac1 = _num(result.get("percent_agreement")), _num(result.get("gwet_ac1"))
    return [
        Note(
            "skewed",
            "info",
            f"class '{cls}' holds {_pct(share)} of the pairable values (more than "
            f"{_pct(th.skew_max_share)}): chance-corrected figures (alpha, kappa) are unstable "
            f"at this skew; read percent agreement ({'n/a' if pa is None else f'{pa:.1%}'}) "
            f"and Gwet's AC1 ({'n/a' if ac1 is None else f'{ac1:.3f}'}) beside them",
            "alpha",
        )
    ]


def kappa_paradox(
    result: Mapping[str, Any], th: NoteThresholds, use: pd.DataFrame | None = None
) -> list[Note]:
    """Low chance-corrected agreement beside high raw agreement.

    Overall: alpha below ``paradox_max_alpha`` with percent agreement at
    least ``paradox_min_agreement``. A labeler: its kappa against the others'
    majority below the first with its agreement at least the second.
    """
    out = []
    a, pa = _num(_overall(result).get("value")), _num(result.get("percent_agreement"))
    cases = [("alpha", "alpha", a, "percent agreement", pa)]
    for where, row in _rows(result, "labelers"):
        cases.append(
            (
                where,
                "kappa",
                _num(row.get("kappa_vs_consensus")),
                "agreement",
                _num(row.get("agreement")),
            )
        )
    for where, low_name, low, high_name, high in cases:
        if low is None or high is None:
            continue
        if low < th.paradox_max_alpha and high >= th.paradox_min_agreement:
            out.append(
                Note(
                    "kappa_paradox",
                    "warning",
                    f"{low_name} is {low:.3f} while {high_name} is {high:.1%}: when one class "
                    "dominates, chance agreement is high and chance-corrected figures are low "
                    "even with few disagreements (the kappa paradox); look at the per-class "
                    "figures",
                    where,
                )
            )
    return out


def unequal_use(
    result: Mapping[str, Any], th: NoteThresholds, use: pd.DataFrame | None = None
) -> list[Note]:
    """Labelers who give some class at a clearly different rate than the others on the same items.

    Reads :func:`labeler_class_use`: a labeler is noted when, for some
    class, ``|gap| >= unequal_min_gap``, ``|z| >= unequal_min_z`` and it gave
    at least ``unequal_min_labels`` labels on shared items; the note names
    its largest gap. The overall figure gets one note listing them.
    """
    if use is None or use.empty:
        return []
    flagged = use[
        (use["n"] >= th.unequal_min_labels)
        & (use["gap"].abs() >= th.unequal_min_gap)
        & (use["z"].abs() >= th.unequal_min_z)
    ]
    if flagged.empty:
        return []
    known = {str(r.get("labeler_id")) for r in result.get("labelers") or []}
    worst = flagged.loc[flagged["gap"].abs().groupby(flagged["labeler_id"]).idxmax()]
    worst = worst.sort_values("gap", key=lambda s: -s.abs(), kind="stable")
    out = []
    for row in worst.to_dict("records"):
        who, cls = row["labeler_id"], row["class"]
        if who in known:
            out.append(
                Note(
                    "unequal_use",
                    "info",
                    f"labeler {who} gives '{cls}' to {_pct(row['rate'])} of its labels where "
                    f"the other labelers of the same items give it {_pct(row['others_rate'])}: "
                    f"check the guideline for '{cls}' with them",
                    f"labelers:{who}",
                )
            )
    names = ", ".join(str(x) for x in worst["labeler_id"])
    out.append(
        Note(
            "unequal_use",
            "info",
            f"labelers use the classes at clearly different rates ({names}): alpha takes "
            "labelers as interchangeable, so part of the disagreement is a difference of "
            "habit, not of items; see those labelers",
            "alpha",
        )
    )
    return out


def wide_interval(
    result: Mapping[str, Any], th: NoteThresholds, use: pd.DataFrame | None = None
) -> list[Note]:
    """Intervals of alpha (overall, per slice, per round) wider than ``max_ci_width``."""
    cases = [("alpha", _overall(result))]
    cases += list(_rows(result, "slices")) + list(_rows(result, "rounds"))
    out = []
    for where, row in cases:
        low, high = _num(row.get("ci_low")), _num(row.get("ci_high"))
        if low is None or high is None or high - low <= th.max_ci_width:
            continue
        out.append(
            Note(
                "wide_interval",
                "warning",
                f"the interval of alpha is {high - low:.3f} wide ({low:.3f} to {high:.3f}; "
                f"wider than {th.max_ci_width:g}): differences smaller than that are not "
                "established; `consistency plan` says how many items would narrow it",
                where,
            )
        )
    return out


def single_labeler_items(
    result: Mapping[str, Any], th: NoteThresholds, use: pd.DataFrame | None = None
) -> list[Note]:
    """More than ``max_unpairable_share`` of the items (overall, per slice, per round) have one label."""
    cases = [("alpha", result.get("dataset") or {})]
    cases += list(_rows(result, "slices")) + list(_rows(result, "rounds"))
    out = []
    for where, row in cases:
        items, pairable = _num(row.get("items")), _num(row.get("pairable_items"))
        if not items or pairable is None:
            continue
        single = items - pairable
        if single / items <= th.max_unpairable_share:
            continue
        out.append(
            Note(
                "single_labeler_items",
                "warning",
                f"{_plural(int(single), 'item')} of {int(items)} ({_pct(single / items)}) "
                "have a single label and cannot be paired: the figure describes the other "
                f"{int(pairable)} only, which may not be like the rest",
                where,
            )
        )
    return out


#: The note rules, in order; each returns the notes of one code.
NOTE_RULES: tuple[Rule, ...] = (
    few_units,
    sparse_class,
    skewed,
    kappa_paradox,
    unequal_use,
    wide_interval,
    single_labeler_items,
)


# ---- the per-labeler class use ---------------------------------------------------------
def labeler_class_use(source: ir.Table | LabelerPatterns) -> pd.DataFrame:
    """How often each labeler gives each class, against the others on the same items.

    For labeler L and class c, over the items L labeled that someone else
    labeled too (r_Lu labels by L, m_u in all, n_uc of them c, n^L_uc by L):

    * ``n`` = sum_u r_Lu, ``labels`` = sum_u n^L_uc, ``rate`` = labels / n;
    * ``others_rate`` = (1/n) sum_u r_Lu (n_uc - n^L_uc) / (m_u - r_Lu): the
      rate L would have if it labeled like the other labelers of its items;
    * ``gap`` = rate - others_rate; ``z`` = gap / sqrt(q (1 - q) / n) with
      q = others_rate (the binomial standard error of a rate q over n
      labels; infinite when q is 0 or 1 and the gap is not 0).

    Comparing each labeler with the others on the same items, not with the
    whole dataset, keeps apart a labeler's habits and the items it was given
    (a marginal-homogeneity check, as Stuart-Maxwell's for two raters).

    The sums run over :func:`consistency.engine.labeler_patterns` of the
    annotations (one engine pass; give it instead of the table to reuse it).

    Returns:
        One row per labeler and class used on its shared items, columns
        :data:`CLASS_USE_COLUMNS`, sorted by labeler and class.

    >>> import ibis
    >>> t = ibis.memtable(pd.DataFrame({"item_id": list("aabb"), "labeler_id": list("xyxy"),
    ...                                 "label": list("pqpp")}))
    >>> labeler_class_use(t)[["labeler_id", "class", "rate", "others_rate"]].values.tolist()
    [['x', 'p', 1.0, 0.5], ['x', 'q', 0.0, 0.5], ['y', 'p', 0.5, 1.0], ['y', 'q', 0.5, 0.0]]
    """
    lp = source if isinstance(source, LabelerPatterns) else labeler_patterns(source)
    whole = lp.item_counts.astype(float)
    own = lp.own_counts.astype(float)
    m, r = whole.sum(axis=1), own.sum(axis=1)
    shared = m > r
    w = np.where(shared, lp.weight, 0).astype(float)
    share = np.where(shared, r / np.where(shared, m - r, 1.0), 0.0)
    frames = []
    for name, rows in lp.blocks():
        present = (w[rows] @ whole[rows]) > 0
        frames.append(
            pd.DataFrame(
                {
                    "labeler_id": name,
                    "label": np.asarray(lp.labels, dtype=object)[present],
                    "labels": (w[rows] @ own[rows])[present],
                    "expected": ((w[rows] * share[rows]) @ (whole[rows] - own[rows]))[present],
                }
            )
        )
    cells = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if cells.empty:
        return pd.DataFrame({c: [] for c in CLASS_USE_COLUMNS})
    cells = cells.rename(columns={"label": "class"}).astype({"labeler_id": str, "class": str})
    cells["n"] = cells.groupby("labeler_id")["labels"].transform("sum")
    cells["rate"] = cells["labels"] / cells["n"]
    cells["others_rate"] = cells["expected"] / cells["n"]
    cells["gap"] = cells["rate"] - cells["others_rate"]
    q = cells["others_rate"].to_numpy(dtype=float)
    se = np.sqrt(q * (1.0 - q) / cells["n"].to_numpy(dtype=float))
    gap = cells["gap"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, gap / np.where(se > 0, se, 1.0), np.sign(gap) * np.inf)
    cells["z"] = np.where(np.abs(gap) < 1e-12, 0.0, z)
    cells["labels"] = cells["labels"].round().astype(np.int64)
    cells["n"] = cells["n"].round().astype(np.int64)
    cells = cells.sort_values(["labeler_id", "class"], kind="stable").reset_index(drop=True)
    return cells[list(CLASS_USE_COLUMNS)]


# ---- putting notes on the result -------------------------------------------------------
def compute_notes(
    result: Mapping[str, Any],
    thresholds: NoteThresholds | None = None,
    use: pd.DataFrame | None = None,
) -> list[Note]:
    """Every note on an analysis result, in rule order (see :data:`NOTE_RULES`).

    Args:
        result: the dict of :func:`consistency.analysis.analyze` (before or
            after ``clean_json``).
        thresholds: the thresholds (default :class:`NoteThresholds`).
        use: :func:`labeler_class_use` of the same view, for ``unequal_use``
            (that note is left out without it).
    """
    th = thresholds or NoteThresholds()
    return [note for rule in NOTE_RULES for note in rule(result, th, use)]


def add_notes(
    result: Mapping[str, Any],
    thresholds: NoteThresholds | None = None,
    ann: ir.Table | LabelerPatterns | None = None,
) -> dict[str, Any]:
    """A copy of ``result`` with ``notes`` beside each figure and all of them at the top level.

    ``result["alpha"]["notes"]`` and each row's ``notes`` hold
    ``{code, severity, message}``; ``result["notes"]`` lists every note with
    its ``where``. Every figure gets a ``notes`` list, empty when nothing is
    to be said. ``ann`` (the view's annotations, or their
    :func:`consistency.engine.labeler_patterns`) enables ``unequal_use``.
    """
    use = labeler_class_use(ann) if ann is not None else None
    found = compute_notes(result, thresholds, use)
    out = copy.deepcopy(dict(result))
    by_where: dict[str, list[dict[str, str]]] = {}
    for note in found:
        d = note.to_dict()
        d.pop("where")
        by_where.setdefault(note.where, []).append(d)
    if isinstance(out.get("alpha"), dict):
        out["alpha"]["notes"] = by_where.get("alpha", [])
    for figure, _ in ROW_FIGURES:
        rows = out.get(figure) or []
        for row in rows:
            row["notes"] = by_where.get(row_where(figure, row), [])
    out["notes"] = [note.to_dict() for note in found]
    return out


def notes_for(
    result: Mapping[str, Any],
    where: str,
    thresholds: NoteThresholds | None = None,
) -> list[dict[str, str]]:
    """The notes of one figure: ``[{code, severity, message}]``, possibly empty.

    ``where`` names the figure as in ``result["notes"]`` (``alpha``,
    ``per_class:dent``, ``labelers:ann``, ``slices:camera=cam_C``,
    ``rounds:2``). Reads ``result["notes"]`` when the result has them, else
    computes them (without ``unequal_use``, which needs the annotations).

    >>> notes_for({"dataset": {"items": 10, "pairable_items": 4}}, "alpha")[0]["code"]
    'few_units'
    """
    listed = result.get("notes")
    if listed is None:
        listed = [n.to_dict() for n in compute_notes(result, thresholds)]
    return [
        {k: str(n[k]) for k in ("code", "severity", "message")}
        for n in listed
        if n.get("where") == where
    ]


def parse_note_codes(text: str | Sequence[str]) -> tuple[str, ...]:
    """Note codes from ``"few_units,skewed"`` (or a list), checked against :data:`NOTE_CODES`.

    ``all`` stands for every code.

    >>> parse_note_codes("few_units, skewed")
    ('few_units', 'skewed')
    """
    parts = text.split(",") if isinstance(text, str) else list(text)
    codes = [p.strip() for p in parts if p.strip()]
    if codes == ["all"]:
        return NOTE_CODES
    unknown = [c for c in codes if c not in NOTE_CODES]
    if unknown or not codes:
        found = ", ".join(f"'{c}'" for c in unknown) if unknown else "none"
        raise InvalidArgument(f"unknown note code {found}. Codes: {', '.join(NOTE_CODES)} (or all)")
    return tuple(dict.fromkeys(codes))


def notes_with_codes(result: Mapping[str, Any], codes: Sequence[str]) -> list[dict[str, str]]:
    """The top-level notes of ``result`` whose code is one of ``codes`` (for ``check --fail-on-notes``)."""
    wanted = set(parse_note_codes(list(codes)))
    listed = result.get("notes")
    if listed is None:
        listed = [n.to_dict() for n in compute_notes(result)]
    return [dict(n) for n in listed if n.get("code") in wanted]
