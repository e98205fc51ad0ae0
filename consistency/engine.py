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

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa

from consistency.errors import InvalidArgument


@dataclass(frozen=True)
class Profile:
    """Distinct per-item value-count patterns and how many items have each.

    Attributes:
        labels: the K label names; position = label code.
        values: numeric value of each label (NaN where the label is not a number).
        counts: P x K integer array; ``counts[p, c]`` = n_uc for items of pattern p.
        weight: length-P integer array; number of items with pattern p.
        annotations: total number of annotations behind the profile.
        repeats: annotations beyond the first by the same labeler on the same item
            (None when not counted, see :func:`profile`).
        label_totals: length-K total count of each label (all items).
    """

    labels: tuple[str, ...]
    values: np.ndarray
    counts: np.ndarray
    weight: np.ndarray
    annotations: int = 0
    repeats: int | None = 0
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


def label_table(labels: pd.Series, n: pd.Series) -> pd.DataFrame:
    """label, code, n, value from per-label counts (summed by label), labels in canonical order."""
    df = pd.DataFrame({"label": labels.astype(str).to_numpy(), "n": n.to_numpy(dtype=np.int64)})
    df = df.groupby("label", as_index=False, sort=False)["n"].sum()
    df = df.iloc[sorted(range(len(df)), key=lambda i: _label_sort_key(df["label"].iat[i]))]
    df = df.reset_index(drop=True)
    df["code"] = np.arange(len(df), dtype=np.int64)
    df["value"] = [label_value_or_nan(x) for x in df["label"]]
    return df[["label", "code", "n", "value"]]


def label_dictionary(ann: ir.Table) -> pd.DataFrame:
    """The distinct labels with their counts and numeric values, in canonical order.

    Labels that are all numbers sort by value; others sort after them by name.
    The position in this table is the label's code everywhere else.
    """
    df = ann.group_by("label").agg(n=ann.count()).execute()
    return label_table(df["label"], df["n"])


@contextmanager
def kept(expr: ir.Table, backend: Any = None) -> Iterator[ir.Table]:
    """``expr`` computed once and kept in the engine until the block ends.

    DuckDB writes a temporary table (in the connection ``backend``, default
    the expression's own), dropped on exit; Spark caches it in the executors'
    memory and releases it. Used where several queries read one intermediate
    result.
    """
    backend = backend or expr._find_backend(use_default=True)
    if backend.name != "duckdb":
        # Ibis 12's PySpark cache compiles the query without registering the
        # in-memory tables it joins (label codes, labeler bits): register them.
        backend._run_pre_execute_hooks(expr)
        cached = expr.cache()
        try:
            yield cached
        finally:
            cached.release()
        return
    name = f"_kept_{uuid.uuid4().hex}"
    table = backend.create_table(name, obj=expr, temp=True)
    try:
        yield table
    finally:
        # raw SQL: Ibis 12 with this sqlglot writes DROP TABLE without the name
        backend.raw_sql(f'DROP TABLE IF EXISTS "{name}"')


# ---- count patterns in the engine ----------------------------------------------
#: Bits given to one label's count in a pattern key (counts up to 15 fit; more
#: labels per item widen the fields, see :func:`pattern_counts`).
PATTERN_BITS = 4
#: Labelers tracked with bit sets per item (repeats without a DISTINCT); beyond
#: this many the distinct (item, labeler) pairs are counted instead.
MAX_BITSET_LABELERS = 8 * 63


@ibis.udf.agg.builtin
def bit_or(x: int) -> int:  # type: ignore[empty-body]
    """SQL ``BIT_OR`` aggregate (DuckDB, Spark)."""


@ibis.udf.scalar.builtin(signature=((dt.int64,), dt.int8))
def bit_count(x: int) -> int:  # type: ignore[empty-body]
    """SQL ``BIT_COUNT``: the number of one bits (DuckDB, Spark), as a small integer."""


def _layout(k: int, bits: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Per label code: its int64 word and bit shift in a key; and the number of words."""
    per_word = max(62 // bits, 1)  # sums stay below 2**62
    code = np.arange(k, dtype=np.int64)
    return code // per_word, (code % per_word) * bits, int(-(-k // per_word)) if k else 0


def item_keys(
    ann: ir.Table,
    labels: Sequence[str],
    by: Sequence[str] = (),
    bits: int = PATTERN_BITS,
    labelers: Sequence[str] | None = None,
) -> ir.Table:
    """Per item (within ``by``): m, its labels' counts packed in int64 words, and repeats.

    The count n_uc of label code c sits in word ``c // (62 // bits)`` at bit
    ``bits * (c % (62 // bits))``; the words ``k0, k1, ...`` are sums over the
    item's annotations, exact while every m_u < 2**bits (see
    :func:`decode_keys`). With ``labelers`` (at most :data:`MAX_BITSET_LABELERS`),
    ``repeats`` = m_u minus the item's distinct labelers, from per-item bit sets
    (``BIT_OR``), with no DISTINCT; otherwise ``repeats`` is absent.
    """
    word, shift, words = _layout(len(labels), bits)
    units = ibis.memtable(
        pd.DataFrame(
            {
                "pk_label": list(labels),
                "pk_word": word,
                "pk_unit": np.left_shift(np.int64(1), shift),
            }
        )
    )
    t = ann.join(units, ann.label == units.pk_label)
    track = labelers is not None and len(labelers) <= MAX_BITSET_LABELERS
    if track:
        ids = np.arange(len(labelers), dtype=np.int64)
        who = ibis.memtable(
            pd.DataFrame(
                {
                    "pk_labeler": list(labelers),
                    "pk_lword": ids // 63,
                    "pk_lbit": np.left_shift(np.int64(1), ids % 63),
                }
            )
        )
        t = t.join(who, t.labeler_id == who.pk_labeler)
    aggs: dict[str, Any] = {"m": t.count()}
    for w in range(words):
        aggs[f"k{w}"] = ibis.ifelse(t.pk_word == w, t.pk_unit, 0).sum().cast("int64")
    if track:
        for w in range(int(-(-len(labelers) // 63))):
            aggs[f"b{w}"] = bit_or(ibis.ifelse(t.pk_lword == w, t.pk_lbit, 0))
    per = t.group_by([*by, "item_id"]).agg(**aggs)
    if track:
        distinct = sum(
            (bit_count(per[c]).cast("int64") for c in per.columns if c.startswith("b")),
            ibis.literal(0, type="int64"),
        )
        per = per.mutate(repeats=per.m - distinct).drop(
            *[c for c in per.columns if c.startswith("b")]
        )
    return per


def key_columns(table: ir.Table | pd.DataFrame | pa.Table) -> list[str]:
    """The key words ``k0, k1, ...`` of a table from :func:`item_keys`."""
    names = table.column_names if isinstance(table, pa.Table) else table.columns
    return [c for c in names if c[:1] == "k" and c[1:].isdigit()]


def decode_keys(keys: np.ndarray, k: int, bits: int) -> np.ndarray:
    """Rows of key words (N x words) -> N x K label counts."""
    word, shift, _ = _layout(k, bits)
    keys = np.asarray(keys, dtype=np.int64).reshape(len(keys), -1)
    mask = np.int64((1 << bits) - 1)
    return (keys[:, word] >> shift) & mask


def fitting_bits(max_m: int) -> int | None:
    """None when counts up to ``max_m`` fit in :data:`PATTERN_BITS`, else the bits they need."""
    return None if max_m < 2**PATTERN_BITS else int(max_m).bit_length()


def pattern_counts(
    ann: ir.Table,
    labels: Sequence[str],
    by: Sequence[str] = (),
    labelers: Sequence[str] | None = None,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Distinct count patterns (within ``by``): the grouped rows and their P x K counts.

    The rows have the ``by`` columns, ``m``, ``items`` (items with the pattern)
    and, with ``labelers`` (see :func:`item_keys`), ``repeats``. One engine
    pass; run again with wider fields when some item has 16 labels or more.
    """
    bits = PATTERN_BITS
    while True:
        per = item_keys(ann, labels, by, bits, labelers)
        keys = key_columns(per)
        aggs = {"items": per.count()}
        if "repeats" in per.columns:
            aggs["repeats"] = per.repeats.sum()
        df = per.group_by([*by, "m", *keys]).agg(**aggs).execute()
        wider = fitting_bits(int(df["m"].max())) if len(df) else None
        if wider is None or wider <= bits:
            return df, decode_keys(df[keys].to_numpy(), len(labels), bits)
        bits = wider


@dataclass(frozen=True)
class LabelerPatterns:
    """Each labeler's items as count patterns: the item's counts beside the labeler's own.

    Row r stands for ``weight[r]`` (labeler, item) pairs of labeler
    ``labeler[r]`` whose item has counts ``item_counts[r]`` (n_uc, all
    labelers) and whose own labels on it count ``own_counts[r]`` (n^L_uc,
    repeats included). Rows are sorted by labeler. ``counts``/``items`` are
    the view's own patterns (as in :class:`Profile`), so figures "without
    labeler L" are the whole minus a correction. Labels in canonical order
    with their numeric ``values``.
    """

    labels: tuple[str, ...]
    values: np.ndarray
    counts: np.ndarray
    items: np.ndarray
    labeler: np.ndarray
    item_counts: np.ndarray
    own_counts: np.ndarray
    weight: np.ndarray

    def blocks(self) -> Iterator[tuple[str, slice]]:
        """(labeler, its rows) for each labeler, in order."""
        names = self.labeler
        if not len(names):
            return
        starts = np.flatnonzero(np.r_[True, names[1:] != names[:-1]])
        ends = np.r_[starts[1:], len(names)]
        for a, b in zip(starts, ends, strict=True):
            yield str(names[a]), slice(int(a), int(b))


def labeler_patterns(ann: ir.Table) -> LabelerPatterns:
    """The :class:`LabelerPatterns` of an annotation table: two queries on one kept table.

    The items' packed counts (:func:`item_keys`) are kept in the engine; one
    query groups them into patterns, another joins them with the per
    (labeler, item) packed counts and groups by (labeler, item pattern, own
    pattern). Linear in the annotations; the rows number at most labelers x
    patterns. Fields widen as in :func:`pattern_counts`.
    """
    ll = label_labeler_counts(ann)
    table = label_table(ll["label"], ll["n"])
    labels = table["label"].tolist()
    k = len(labels)
    bits = PATTERN_BITS
    while True:
        with kept(item_keys(ann, labels, (), bits)) as whole:
            keys = key_columns(whole)
            patterns = whole.group_by(["m", *keys]).agg(items=whole.count()).execute()
            wider = fitting_bits(int(patterns["m"].max())) if len(patterns) else None
            if wider is not None and wider > bits:
                bits = wider
                continue
            own = item_keys(ann, labels, ("labeler_id",), bits)
            item = whole.rename({f"w_{c}": c for c in ["item_id", "m", *keys]})
            pairs = own.join(item, own.item_id == item.w_item_id)
            by = ["labeler_id", *keys, *(f"w_{c}" for c in keys)]
            rows = pairs.group_by(by).agg(items=pairs.count()).execute()
        break
    rows = rows.sort_values("labeler_id", kind="stable").reset_index(drop=True)
    return LabelerPatterns(
        labels=tuple(labels),
        values=table["value"].to_numpy(dtype=float),
        counts=decode_keys(patterns[keys].to_numpy(), k, bits),
        items=patterns["items"].to_numpy(dtype=np.int64),
        labeler=rows["labeler_id"].astype(str).to_numpy(),
        item_counts=decode_keys(rows[[f"w_{c}" for c in keys]].to_numpy(), k, bits),
        own_counts=decode_keys(rows[keys].to_numpy(), k, bits),
        weight=rows["items"].to_numpy(dtype=np.int64),
    )


def label_labeler_counts(ann: ir.Table, by: Sequence[str] = ()) -> pd.DataFrame:
    """Annotations per (``by``, label, labeler): the label and labeler dictionaries in one query."""
    return ann.group_by([*by, "label", "labeler_id"]).agg(n=ann.count()).execute()


def distinct_pairs(ann: ir.Table, by: Sequence[str] = ()) -> pd.DataFrame:
    """Distinct (item, labeler) pairs (within ``by``), for many labelers."""
    pairs = ann.select(*by, "item_id", "labeler_id").distinct()
    return (
        pairs.group_by(list(by)).agg(distinct=pairs.count()).execute()
        if by
        else (pd.DataFrame({"distinct": [int(pairs.count().execute())]}))
    )


def profile(ann: ir.Table, repeats: bool = True) -> Profile:
    """Build the :class:`Profile` of an annotation table in the engine.

    Queries: the annotations per (label, labeler), which give the label
    dictionary, the label totals and the labelers; then one pass over the
    annotations that packs each item's value counts n_uc into integer keys
    (see :func:`item_keys`) and groups the items by key. Linear in the number
    of annotations; returns P x K numbers. Repeated labels (a labeler labeling
    an item twice) come from per-item bit sets of labelers, or from the
    distinct (item, labeler) pairs when there are very many labelers; with
    ``repeats=False`` they are not counted (``Profile.repeats`` is None),
    which spares the engine the labelers' bit sets.
    """
    ll = label_labeler_counts(ann)
    if ll.empty:
        return empty_profile()
    labels = label_table(ll["label"], ll["n"])
    labelers = sorted(ll["labeler_id"].astype(str).unique().tolist())
    df, counts = pattern_counts(
        ann, labels["label"].tolist(), labelers=labelers if repeats else None
    )
    return profile_from_patterns(ann, df, counts, labels, len(labelers), repeats)


def empty_profile() -> Profile:
    """The profile of no annotations."""
    return Profile((), np.zeros(0), np.zeros((0, 0), dtype=np.int64), np.zeros(0, dtype=np.int64))


def profile_from_patterns(
    ann: ir.Table,
    patterns: pd.DataFrame,
    counts: np.ndarray,
    labels: pd.DataFrame,
    labelers: int,
    repeats: bool = True,
) -> Profile:
    """The :class:`Profile` from :func:`pattern_counts`' rows and counts and the label table.

    Repeats come from the rows' ``repeats`` column, or from the distinct
    (item, labeler) pairs of ``ann`` when it is absent; None when ``repeats``
    is false.
    """
    n_ann = int(labels["n"].sum())
    n_repeats: int | None = None
    if "repeats" in patterns.columns:
        n_repeats = int(patterns["repeats"].sum())
    elif repeats:
        n_repeats = n_ann - int(distinct_pairs(ann)["distinct"].iat[0])
    return _compact(
        counts,
        patterns["items"].to_numpy(dtype=np.int64),
        tuple(labels["label"].tolist()),
        labels["value"].to_numpy(dtype=float),
        annotations=n_ann,
        repeats=n_repeats,
        labelers=labelers,
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


def disputed_by_class(ann: ir.Table, limit: int = 20) -> pd.DataFrame:
    """The ``limit`` most disputed items of every class, in one query.

    For each class, the items with at least one label of the class and some
    disagreement (> 0), worst first as in :func:`disputed_items` (highest
    disagreement, then lowest top share, then item id). Columns ``class``,
    ``rank`` (1, 2, ...), ``item_id``, ``m`` (its labels), ``disagreement``, ``top_share``;
    sorted by class and rank. A window over (item, class) pairs in the
    engine: a page choosing another class then reads the rows it has.
    """
    has = ann.select(cls=ann.label, item=ann.item_id).distinct()
    out = _most_disputed(ann, has, ["cls"], limit)
    return out.rename(columns={"cls": "class"}).astype({"class": str})


def disputed_by_pair(ann: ir.Table, limit: int = 20) -> pd.DataFrame:
    """The ``limit`` most disputed items of every pair of classes met on an item, in one query.

    For classes a < b (by name), the items with labels of both, worst first
    as in :func:`disputed_items`. Columns ``class_a``, ``class_b``, ``rank``,
    ``item_id``, ``m``, ``disagreement``, ``top_share``; sorted by pair and rank.
    """
    has = ann.select(cls=ann.label, item=ann.item_id).distinct()
    other = has.rename(cls_b="cls", item_b="item")
    pairs = has.join(other, (has.item == other.item_b) & (has.cls < other.cls_b))
    pairs = pairs.select(cls_a=pairs.cls, cls_b=pairs.cls_b, item=pairs.item)
    out = _most_disputed(ann, pairs, ["cls_a", "cls_b"], limit)
    out = out.rename(columns={"cls_a": "class_a", "cls_b": "class_b"})
    return out.astype({"class_a": str, "class_b": str})


def disputed_by_labeler(ann: ir.Table, limit: int = 20) -> pd.DataFrame:
    """The ``limit`` most disputed items each labeler labeled, in one query.

    As :func:`disputed_by_class` with labelers for classes: columns
    ``labeler_id``, ``rank``, ``item_id``, ``m``, ``disagreement``, ``top_share``.
    """
    has = ann.select(who=ann.labeler_id, item=ann.item_id).distinct()
    out = _most_disputed(ann, has, ["who"], limit)
    return out.rename(columns={"who": "labeler_id"}).astype({"labeler_id": str})


def _most_disputed(ann: ir.Table, groups: ir.Table, by: list[str], limit: int) -> pd.DataFrame:
    """The ``limit`` most disputed items of each group of ``groups`` (columns ``by`` and ``item``)."""
    per = item_disagreement(ann)
    per = per.filter(per.disagreement > 0)
    j = groups.join(per, groups.item == per.item_id)
    order = [ibis.desc(j.disagreement), j.top_share, j.item_id]
    j = j.mutate(rank=ibis.row_number().over(group_by=[j[c] for c in by], order_by=order) + 1)
    j = j.filter(j.rank <= limit)
    cols = [*by, "rank", "item_id", "m", "disagreement", "top_share"]
    return j.select(*cols).order_by([*by, "rank"]).execute().astype({"item_id": str})


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
        repeats=None
        if any(p.repeats is None for p in profiles)
        else sum(p.repeats or 0 for p in profiles),
        labelers=max(p.labelers for p in profiles),
        label_totals=totals,
    )
