"""Engine queries: the counts every metric needs, computed where the data lives.

Everything here takes an Ibis table expression of the canonical annotations
(at least ``item_id``, ``labeler_id``, ``label``, ``label_value``) and returns
small results: a label dictionary (K rows), a :class:`Profile` (one row per
*distinct pattern* of per-item value counts), K x K or per-labeler tables.
The same expressions run on DuckDB (the default) and on Spark through Ibis.

The central object is the profile. For item-exchangeable statistics
(Krippendorff's alpha at any level, Fleiss' kappa, percent agreement, Gwet's
AC1, per-class agreement, one-vs-rest alpha, alpha after merging classes or
setting items aside) an item matters only through its value counts
``n_uc`` (how many of its labels are ``c``). Items with the same counts
contribute identically, so the engine groups items by their count pattern and
ships only the distinct patterns with their multiplicity. The result is exact,
its size is bounded by the number of distinct patterns (not of items), and the
item bootstrap becomes a multinomial draw over patterns.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from consistency.errors import InvalidArgument

#: Separator of the ``code=count`` entries in an engine-side pattern key.
_SEP = ";"


@dataclass(frozen=True)
class Profile:
    """Distinct per-item value-count patterns and how many items have each.

    Attributes:
        labels: the K label names; position = label code.
        values: numeric value of each label (NaN where the label is not a number).
        counts: P x K integer array; ``counts[p, c]`` = n_uc for items of pattern p.
        weight: length-P integer array; number of items with pattern p.
        annotations: total number of annotations behind the profile.
        repeats: annotations beyond the first by the same labeler on the same item.
        label_totals: length-K total count of each label (all items).
    """

    labels: tuple[str, ...]
    values: np.ndarray
    counts: np.ndarray
    weight: np.ndarray
    annotations: int = 0
    repeats: int = 0
    labelers: int = 0
    label_totals: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @property
    def m(self) -> np.ndarray:
        """Labels per item for each pattern (m_u)."""
        return self.counts.sum(axis=1)

    @property
    def items(self) -> int:
        """Number of items (with at least one label)."""
        return int(self.weight.sum())

    @property
    def pairable(self) -> np.ndarray:
        """Boolean mask of patterns with at least two labels (m_u >= 2)."""
        return self.m >= 2

    @property
    def pairable_items(self) -> int:
        """Number of items with at least two labels."""
        return int(self.weight[self.pairable].sum())

    def labels_per_item(self) -> dict[int, int]:
        """Histogram: labels per item -> number of items."""
        hist: dict[int, int] = {}
        for m, w in zip(self.m.tolist(), self.weight.tolist(), strict=True):
            hist[int(m)] = hist.get(int(m), 0) + int(w)
        return dict(sorted(hist.items()))

    def merge(self, a: str, b: str, name: str | None = None) -> Profile:
        """The profile with labels ``a`` and ``b`` counted as one label.

        >>> p = profile_from_rows([("i1", "x"), ("i1", "y"), ("i2", "z"), ("i2", "z")])
        >>> p.merge("x", "y").labels
        ('x|y', 'z')
        """
        for x in (a, b):
            if x not in self.labels:
                raise InvalidArgument(f"class '{x}' not found. Classes: {', '.join(self.labels)}")
        mapping = {lab: lab for lab in self.labels}
        merged = name or f"{a}|{b}"
        mapping[a] = mapping[b] = merged
        return self.relabel(mapping)

    def relabel(self, mapping: dict[str, str]) -> Profile:
        """The profile with labels renamed; labels mapped to one name are merged."""
        new_labels = sorted(set(mapping.get(lab, lab) for lab in self.labels), key=_label_sort_key)
        index = {lab: i for i, lab in enumerate(new_labels)}
        proj = np.zeros((len(self.labels), len(new_labels)), dtype=np.int64)
        for i, lab in enumerate(self.labels):
            proj[i, index[mapping.get(lab, lab)]] = 1
        values = np.array([label_value_or_nan(lab) for lab in new_labels], dtype=float)
        return _compact(
            self.counts @ proj,
            self.weight,
            tuple(new_labels),
            values,
            annotations=self.annotations,
            repeats=self.repeats,
            labelers=self.labelers,
            label_totals=self.label_totals @ proj if self.label_totals.size else self.label_totals,
        )

    def select(self, mask: np.ndarray) -> Profile:
        """The profile restricted to the patterns where ``mask`` is true."""
        return Profile(
            self.labels,
            self.values,
            self.counts[mask],
            self.weight[mask],
            annotations=int((self.counts[mask].sum(axis=1) * self.weight[mask]).sum()),
            repeats=self.repeats,
            labelers=self.labelers,
            label_totals=(self.counts[mask] * self.weight[mask, None]).sum(axis=0),
        )


def label_value_or_nan(label: str) -> float:
    """Numeric value of a label, NaN when it is not a finite number."""
    try:
        v = float(label)
    except (TypeError, ValueError):
        return float("nan")
    return v if np.isfinite(v) else float("nan")


def _label_sort_key(label: str) -> tuple[int, float, str]:
    v = label_value_or_nan(label)
    return (0, v, label) if not np.isnan(v) else (1, 0.0, label)


def _compact(
    counts: np.ndarray,
    weight: np.ndarray,
    labels: tuple[str, ...],
    values: np.ndarray,
    **kw: object,
) -> Profile:
    """Group identical count rows, summing their weights."""
    if len(counts) == 0:
        return Profile(labels, values, counts.reshape(0, len(labels)), weight[:0], **kw)  # type: ignore[arg-type]
    uniq, inverse = np.unique(counts, axis=0, return_inverse=True)
    w = np.bincount(inverse.ravel(), weights=weight, minlength=len(uniq)).astype(np.int64)
    return Profile(labels, values, uniq.astype(np.int64), w, **kw)  # type: ignore[arg-type]


def label_dictionary(ann: ir.Table) -> pd.DataFrame:
    """The distinct labels with their counts and numeric values, in canonical order.

    Labels that are all numbers sort by value; others sort after them by name.
    The position in this table is the label's code everywhere else.
    """
    df = ann.group_by("label").agg(n=ann.count(), value=ann.label_value.max()).execute()
    df["label"] = df["label"].astype(str)
    df = df.iloc[sorted(range(len(df)), key=lambda i: _label_sort_key(df["label"].iat[i]))]
    df = df.reset_index(drop=True)
    df["code"] = np.arange(len(df), dtype=np.int64)
    df["value"] = [label_value_or_nan(x) for x in df["label"]]
    return df[["label", "code", "n", "value"]]


def profile(ann: ir.Table) -> Profile:
    """Build the :class:`Profile` of an annotation table in the engine.

    Queries: the label dictionary (group by label), the per-item value counts
    (group by item and label), one pattern key per item (the sorted
    ``code=count`` entries, joined), and the number of items per pattern.
    Linear in the number of annotations; returns P x K numbers.
    """
    labels = label_dictionary(ann)
    k = len(labels)
    if k == 0:
        return Profile(
            (), np.zeros(0), np.zeros((0, 0), dtype=np.int64), np.zeros(0, dtype=np.int64)
        )
    codes = ibis.memtable(labels[["label", "code"]].rename(columns={"label": "lab"}))
    vc = ann.group_by(["item_id", "label"]).agg(n=ann.count())
    vc = vc.join(codes, vc.label == codes.lab)
    vc = vc.mutate(entry=vc.code.cast("string") + "=" + vc.n.cast("string"))
    per_item = vc.group_by("item_id").agg(pattern=vc.entry.collect().sort().join(_SEP))
    patterns = per_item.group_by("pattern").agg(items=per_item.count()).execute()

    counts = np.zeros((len(patterns), k), dtype=np.int64)
    for p, key in enumerate(patterns["pattern"].tolist()):
        for entry in key.split(_SEP):
            code, n = entry.split("=")
            counts[p, int(code)] = int(n)
    weight = patterns["items"].to_numpy(dtype=np.int64)

    totals = ann.aggregate(
        annotations=ann.count(),
        labelers=ann.labeler_id.nunique(),
    ).execute()
    distinct_pairs = ann.select("item_id", "labeler_id").distinct().count().execute()
    n_ann = int(totals["annotations"].iat[0])
    return _compact(
        counts,
        weight,
        tuple(labels["label"].tolist()),
        labels["value"].to_numpy(dtype=float),
        annotations=n_ann,
        repeats=n_ann - int(distinct_pairs),
        labelers=int(totals["labelers"].iat[0]),
        label_totals=labels["n"].to_numpy(dtype=np.int64),
    )


def profile_from_rows(rows: list[tuple[str, str]] | pd.DataFrame) -> Profile:
    """A profile from ``(item_id, label)`` rows in memory (tests, doctests, small data).

    Computed with pandas, without a query engine; :func:`profile` gives the same
    result from an engine table (a test checks that they agree).

    >>> p = profile_from_rows([("a", "x"), ("a", "x"), ("b", "x"), ("b", "y"), ("c", "y")])
    >>> p.items, p.pairable_items, p.labels
    (3, 2, ('x', 'y'))
    """
    if isinstance(rows, pd.DataFrame):
        df = rows
    else:
        df = pd.DataFrame(list(rows), columns=["item_id", "label"])
    df = df.assign(item_id=df["item_id"].astype(str), label=df["label"].astype(str))
    if "labeler_id" not in df.columns:
        df = df.assign(labeler_id=np.arange(len(df)).astype(str))
    if df.empty:
        return Profile(
            (), np.zeros(0), np.zeros((0, 0), dtype=np.int64), np.zeros(0, dtype=np.int64)
        )
    labels = sorted(df["label"].unique().tolist(), key=_label_sort_key)
    code = {lab: i for i, lab in enumerate(labels)}
    items, item_idx = np.unique(
        df["item_id"].to_numpy(dtype=object).astype(str), return_inverse=True
    )
    lab_idx = df["label"].map(code).to_numpy(dtype=np.int64)
    counts = np.zeros((len(items), len(labels)), dtype=np.int64)
    np.add.at(counts, (item_idx.ravel(), lab_idx), 1)
    n_ann = len(df)
    distinct_pairs = len(df[["item_id", "labeler_id"]].astype(str).drop_duplicates())
    return _compact(
        counts,
        np.ones(len(items), dtype=np.int64),
        tuple(labels),
        np.array([label_value_or_nan(x) for x in labels], dtype=float),
        annotations=n_ann,
        repeats=n_ann - distinct_pairs,
        labelers=int(df["labeler_id"].astype(str).nunique()),
        label_totals=counts.sum(axis=0),
    )


def item_disagreement(ann: ir.Table) -> ir.Table:
    """Per item: labels m, distinct labels, top label share, and observed disagreement.

    ``disagreement`` = 1 - sum_c n_uc (n_uc - 1) / (m_u (m_u - 1)): the share of
    pairs of the item's labels that differ (nominal); NULL for items with one label.
    An Ibis expression (one row per item), to be filtered, ordered and limited
    in the engine.
    """
    vc = ann.group_by(["item_id", "label"]).agg(n=ann.count())
    per = vc.group_by("item_id").agg(
        m=vc.n.sum(),
        distinct=vc.count(),
        top=vc.n.max(),
        same_pairs=(vc.n * (vc.n - 1)).sum(),
    )
    pairs = per.m * (per.m - 1)
    return per.mutate(
        top_share=per.top.cast("float64") / per.m,
        disagreement=ibis.ifelse(
            pairs > 0, 1.0 - per.same_pairs.cast("float64") / pairs, ibis.null()
        ),
    )


def disputed_items(
    ann: ir.Table,
    limit: int = 20,
    classes: list[str] | None = None,
) -> pd.DataFrame:
    """The most disputed items, worst first (highest disagreement, then lowest top share).

    With ``classes``, only items where at least one label is one of them.
    Ties are broken by item id, so the order is stable.
    """
    per = item_disagreement(ann)
    per = per.filter(per.disagreement.notnull())
    if classes:
        having = ann.filter(ann.label.isin(list(classes))).select("item_id").distinct()
        per = per.semi_join(having, "item_id")
    per = per.order_by([ibis.desc("disagreement"), "top_share", "item_id"]).limit(limit)
    return per.execute()


def combine(profiles: list[Profile]) -> Profile:
    """One profile of the union of disjoint sets of items (e.g. all slices but one).

    Labels are aligned by name; annotations and label totals add up.

    >>> a = profile_from_rows([("i", "x"), ("i", "x")])
    >>> b = profile_from_rows([("j", "y"), ("j", "x")])
    >>> c = combine([a, b])
    >>> c.labels, c.items, c.annotations
    (('x', 'y'), 2, 4)
    """
    profiles = [p for p in profiles if len(p.labels)]
    if not profiles:
        return Profile(
            (), np.zeros(0), np.zeros((0, 0), dtype=np.int64), np.zeros(0, dtype=np.int64)
        )
    labels = sorted({lab for p in profiles for lab in p.labels}, key=_label_sort_key)
    index = {lab: i for i, lab in enumerate(labels)}
    rows, weights, totals = [], [], np.zeros(len(labels), dtype=np.int64)
    for p in profiles:
        cols = [index[lab] for lab in p.labels]
        c = np.zeros((len(p.counts), len(labels)), dtype=np.int64)
        c[:, cols] = p.counts
        rows.append(c)
        weights.append(p.weight)
        if p.label_totals.size:
            totals[cols] += p.label_totals
    return _compact(
        np.concatenate(rows),
        np.concatenate(weights),
        tuple(labels),
        np.array([label_value_or_nan(x) for x in labels], dtype=float),
        annotations=sum(p.annotations for p in profiles),
        repeats=sum(p.repeats for p in profiles),
        labelers=max(p.labelers for p in profiles),
        label_totals=totals,
    )
