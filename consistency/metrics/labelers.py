"""Per-labeler figures and pairwise Cohen's kappa, aggregated in the query engine.

* :func:`labelers`: one row per labeler: volume, leave-one-out agreement with
  the other labelers, accuracy on gold items (Wilson interval), Cohen's kappa
  against a consensus, speed (median duration, share of fast answers) and
  repeated items.
* :func:`cohen_kappa_pairs`: Cohen's kappa, its asymptotic standard error and
  the raw agreement for every pair of labelers sharing enough items.
* :func:`cohen_kappa_from_cells`: Cohen's kappa of many contingency tables
  given as sparse cells (used by both).

Every aggregate is a group-by (per labeler, per labeler pair, per labeler and
label pair) or a self-join on ``item_id`` in the engine; only per-labeler or
per-pair rows (at most K x K cells each) reach pandas.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa

from consistency.engine import (
    PATTERN_BITS,
    fitting_bits,
    item_keys,
    key_columns,
    label_labeler_counts,
    label_table,
)
from consistency.errors import InvalidArgument
from consistency.metrics.consensus import (
    gold_table,
    require_columns,
    tied_set,
    wilson_interval,
)

#: Default threshold of a "fast" answer, in seconds (see :func:`labelers`).
FAST_THRESHOLD_S = 3.0

LABELER_COLUMNS = (
    "labeler_id",
    "n",
    "items",
    "agreement",
    "agreement_n",
    "gold_n",
    "gold_accuracy",
    "gold_ci_low",
    "gold_ci_high",
    "kappa_vs_consensus",
    "consensus_n",
    "median_duration_s",
    "fast_share",
    "repeats",
)
PAIR_COLUMNS = ("labeler_a", "labeler_b", "shared_items", "kappa", "se", "percent_agreement")


def _index_of(frame: pd.DataFrame, keys: list[str]) -> pd.Index:
    """The key column(s) of ``frame`` as an index (a MultiIndex for several keys)."""
    if len(keys) == 1:
        return pd.Index(frame[keys[0]])
    return pd.MultiIndex.from_frame(frame[keys])


def cohen_kappa_from_cells(cells: pd.DataFrame, key: str | list[str]) -> pd.DataFrame:
    """Cohen's kappa and its standard error for many tables given as sparse cells.

    ``cells`` has the key column(s), ``row`` and ``col`` (the two labels of a
    cell) and ``n`` (its count, possibly fractional); one table per key. With
    p_ij = n_ij / N, row marginals p_i. and column marginals p_.j:

    * p_o = sum_i p_ii, p_e = sum_i p_i. p_.i, kappa = (p_o - p_e) / (1 - p_e)
      (Cohen 1960, "A coefficient of agreement for nominal scales",
      Educational and Psychological Measurement 20(1):37-46);
    * var = [sum_i p_ii (1 - (p_i. + p_.i)(1 - kappa))^2
      + (1 - kappa)^2 sum_{i != j} p_ij (p_.i + p_j.)^2
      - (kappa - p_e (1 - kappa))^2] / ((1 - p_e)^2 N),
      the large-sample variance of Fleiss, Cohen & Everitt (1969), "Large
      sample standard errors of kappa and weighted kappa", Psychological
      Bulletin 72(5):323-327, as statsmodels' ``cohens_kappa`` computes
      ``std_kappa``; se = sqrt(var).

    kappa and se are NaN when p_e = 1 (both sides used one and the same label).

    Returns:
        One row per key: the key column(s), n (N), agreement (p_o), kappa, se.

    Wikipedia ("Cohen's kappa"), 50 grant proposals read by A and B:

    >>> cells = pd.DataFrame({"t": 0, "row": ["y", "y", "n", "n"],
    ...                       "col": ["y", "n", "y", "n"], "n": [20, 5, 10, 15]})
    >>> round(float(cohen_kappa_from_cells(cells, "t")["kappa"].iat[0]), 6)
    0.4
    """
    keys = [key] if isinstance(key, str) else list(key)
    c = cells[[*keys, "row", "col", "n"]].copy()
    c["n"] = c["n"].astype(float)
    c = c[c["n"] > 0]
    total = c.groupby(keys, sort=True)["n"].sum().rename("total")
    c = c.join(total, on=keys)
    c["p"] = c["n"] / c["total"]
    row = c.groupby([*keys, "row"])["p"].sum()
    col = c.groupby([*keys, "col"])["p"].sum()
    row.index = row.index.set_names([*keys, "label"])
    col.index = col.index.set_names([*keys, "label"])
    marg = pd.concat([row.rename("r"), col.rename("c")], axis=1).fillna(0.0)
    p_e = (marg["r"] * marg["c"]).groupby(level=keys).sum()
    diag = c["row"] == c["col"]
    p_o = c["p"].where(diag, 0.0).groupby([c[k] for k in keys]).sum()

    # Marginals looked up for each cell: r and c of its row label and of its column label.
    at_row = marg.reindex(pd.MultiIndex.from_frame(c[[*keys, "row"]])).to_numpy()
    at_col = marg.reindex(pd.MultiIndex.from_frame(c[[*keys, "col"]])).to_numpy()
    out = pd.DataFrame({"n": total, "agreement": p_o, "p_e": p_e})
    with np.errstate(divide="ignore", invalid="ignore"):
        out["kappa"] = (out["agreement"] - out["p_e"]) / (1.0 - out["p_e"])
        kappa_cell = out["kappa"].reindex(_index_of(c, keys)).to_numpy()
        p = c["p"].to_numpy()
        d = diag.to_numpy()
        # diagonal cell i: p_ii (1 - (p_i. + p_.i)(1 - kappa))^2
        term_a = np.where(
            d, p * (1.0 - (at_row[:, 0] + at_row[:, 1]) * (1.0 - kappa_cell)) ** 2, 0.0
        )
        # off-diagonal cell (i, j): p_ij (p_.i + p_j.)^2, times (1 - kappa)^2 below
        term_b = np.where(d, 0.0, p * (at_row[:, 1] + at_col[:, 0]) ** 2)
        grouping = [c[k] for k in keys]
        sum_a = pd.Series(term_a, index=c.index).groupby(grouping).sum()
        sum_b = pd.Series(term_b, index=c.index).groupby(grouping).sum()
        k_ = out["kappa"]
        var = (sum_a + (1.0 - k_) ** 2 * sum_b - (k_ - out["p_e"] * (1.0 - k_)) ** 2) / (
            (1.0 - out["p_e"]) ** 2 * out["n"]
        )
        out["se"] = np.sqrt(var.clip(lower=0.0))
    undefined = (1.0 - out["p_e"]) <= 1e-12
    out.loc[undefined, ["kappa", "se"]] = np.nan
    out = out.reset_index()
    return out[[*keys, "n", "agreement", "kappa", "se"]]


def _labeler_counts(ann: ir.Table) -> tuple[ir.Table, ir.Table]:
    """(labeler, item, label) -> own count, and (labeler, item) -> r (labels given)."""
    own = ann.group_by(["labeler_id", "item_id", "label"]).agg(own=ann.count())
    per_item = own.group_by(["labeler_id", "item_id"]).agg(r=own.own.sum())
    return own, per_item


def _field(code: int, bits: int) -> tuple[int, int]:
    """The key word and bit shift of label code ``code`` (the layout of ``item_keys``)."""
    per_word = max(62 // bits, 1)
    return code // per_word, (code % per_word) * bits


def _unpacked(words: list[ir.IntegerValue], k: int, bits: int) -> list[ir.IntegerValue]:
    """The K label counts n_c packed in key words: (word >> shift) & (2**bits - 1)."""
    mask = (1 << bits) - 1
    return [(words[w] >> s) & mask for w, s in (_field(c, bits) for c in range(k))]


def _greatest(values: list[ir.IntegerValue]) -> ir.IntegerValue:
    """The largest of several columns (Spark's GREATEST wants two or more)."""
    return values[0] if len(values) == 1 else ibis.greatest(*values)


def _count(condition: ir.BooleanValue) -> ir.IntegerScalar:
    """How many rows of the group meet ``condition``."""
    return ibis.ifelse(condition, 1, 0).cast("int64").sum()


def _item_summary(
    ann: ir.Table, labels: list[str], labelers: list[str], bits: int
) -> tuple[ir.Table, list[str]]:
    """Per item: m, its count key words, whether a labeler repeated it, and its top labels.

    From the packed counts n_c (:func:`consistency.engine.item_keys`):
    ``top`` = max_c n_c, ``t`` and ``s`` = how many labels have n_c = top and
    n_c = top - 1, and per label code c the flags ``T<c>`` (n_c = top) and
    ``S<c>`` (n_c = top - 1). ``norep`` is true when no labeler labeled the
    item twice (known from per-item bit sets of labelers, up to
    :data:`consistency.engine.MAX_BITSET_LABELERS` labelers; beyond, false).
    Returns the table and the names of its key words.
    """
    per = item_keys(ann, labels, bits=bits, labelers=labelers)
    keys = key_columns(per)
    n = _unpacked([per[c] for c in keys], len(labels), bits)
    top = _greatest(n)
    norep = per.repeats == 0 if "repeats" in per.columns else ibis.literal(False)
    per = per.select(
        "item_id",
        "m",
        *keys,
        norep=norep,
        top=top,
        t=sum((ibis.ifelse(x == top, 1, 0) for x in n), ibis.literal(0)),
        s=sum((ibis.ifelse(x == top - 1, 1, 0) for x in n), ibis.literal(0)),
        **{f"T{c}": x == top for c, x in enumerate(n)},
        **{f"S{c}": x == top - 1 for c, x in enumerate(n)},
    )
    return per, keys


def _label_codes(labels: list[str], bits: int) -> ir.Table:
    """label -> its code, and the key word and shift that hold its count."""
    fields = [_field(c, bits) for c in range(len(labels))]
    return ibis.memtable(
        pd.DataFrame(
            {
                "lc_label": list(labels),
                "lc_code": np.arange(len(labels), dtype=np.int64),
                "lc_word": np.array([w for w, _ in fields], dtype=np.int64),
                "lc_shift": np.array([s for _, s in fields], dtype=np.int64),
            }
        )
    )


def _per_labeler_query(
    ann: ir.Table,
    per: ir.Table,
    keys: list[str],
    labels: list[str],
    bits: int,
    gold: ir.Table | None,
    fast_threshold_s: float,
) -> ir.Table:
    """One row per labeler: every figure of :func:`labelers` in one pass over the annotations.

    Each annotation (labeler L, item u, label c) meets its item's summary
    (:func:`_item_summary`). Volume, speed and gold need nothing else. On an
    item no labeler repeated, with m = m_u >= 2, L's own counts are the one
    label c, so (see :func:`_leave_one_out`):

    * agree += (n_c - 1) / (m - 1);
    * the others' majority R is the top labels T when c is not among them;
      T minus c when c ties at the top with others; else (c alone at the top,
      ``d``) the labels with n = top - 1 and c itself. Each label of R gets
      1 / |R| in column r of L's table (``col<r>``), and ``diag`` sums it for
      r = c, which happens only in the last case.

    Items a labeler repeated are left to :func:`_repeats_query`.
    """
    k = len(labels)
    cols = ["item_id", "labeler_id", "label"]
    timed = "duration_s" in ann.columns
    a = ann.select(*cols, *(["duration_s"] if timed else []))
    codes = _label_codes(labels, bits)
    if gold is not None:
        g = gold.select(g_item="item_id", gold_label="gold_label")
        per = per.left_join(g, per.item_id == g.g_item).drop("g_item")
    j = a.join(codes, a.label == codes.lc_label).join(per, "item_id")
    word = j[keys[0]]
    for w in range(1, len(keys)):
        word = ibis.ifelse(j.lc_word == w, j[keys[w]], word)
    own = (word >> j.lc_shift) & ((1 << bits) - 1)
    in_top = own == j.top
    alone = in_top & (j.t == 1)
    valid = j.norep & (j.m > 1)
    den = ibis.ifelse(alone, j.s + 1, j.t - ibis.ifelse(in_top, 1, 0)).cast("float64")
    w_ = ibis.ifelse(valid, 1.0 / den, 0.0)
    share = (own - 1).cast("float64") / ibis.greatest(j.m - 1, 1).cast("float64")
    metrics: dict[str, ir.Scalar] = {
        "n": j.count(),
        "items": _count(j.norep),
        "repeat_rows": _count(~j.norep),
        "max_m": j.m.max(),
        "agreement_n": _count(valid),
        "agree": ibis.ifelse(valid, share, 0.0).sum(),
        "diag": ibis.ifelse(alone, w_, 0.0).sum(),
    }
    for c in range(k):
        metrics[f"row{c}"] = _count(valid & (j.lc_code == c))
        hit = ibis.ifelse(j.lc_code == c, alone, ibis.ifelse(alone, j[f"S{c}"], j[f"T{c}"]))
        metrics[f"col{c}"] = ibis.ifelse(hit, w_, 0.0).sum()
    if gold is not None:
        metrics["gold_n"] = _count(j.gold_label.notnull())
        metrics["gold_correct"] = _count(j.label == j.gold_label)
    if timed:
        dur = j.duration_s.cast("float64")
        metrics["median_duration_s"] = dur.median()
        metrics["fast"] = _count(dur < fast_threshold_s)
        metrics["timed"] = dur.count()
    return j.group_by("labeler_id").agg(**metrics)


def _repeats_query(
    ann: ir.Table, per: ir.Table, keys: list[str], labels: list[str], bits: int
) -> ir.Table:
    """Per labeler: the leave-one-out sums over the items some labeler labeled more than once.

    Each (labeler L, item u) pair of such an item gets L's own counts o = n^L_u
    (packed as the item's, :func:`consistency.engine.item_keys`), r = sum o and
    the others' counts n - o; with others = m - r > 0, the majority R =
    argmax_c (n_c - o_c) of the others, and:

    * agree += sum_c o_c (n_c - o_c) / others, agreement_n += r;
    * row<c> += o_c; col<c> += r / |R| for c in R; diag += sum_{c in R} o_c / |R|;
    * items += 1, repeats += [r > 1].
    """
    k = len(labels)
    rep = per.filter(~per.norep).select(
        ri_item="item_id", ri_m="m", **{f"ri_{c}": per[c] for c in keys}
    )
    own = item_keys(ann.semi_join(rep, ann.item_id == rep.ri_item), labels, ["labeler_id"], bits)
    j = own.join(rep, own.item_id == rep.ri_item)
    o = _unpacked([j[c] for c in keys], k, bits)
    rest = [x - y for x, y in zip(_unpacked([j[f"ri_{c}"] for c in keys], k, bits), o, strict=True)]
    top = _greatest(rest)
    won = [x == top for x in rest]
    size = sum((ibis.ifelse(x, 1, 0) for x in won), ibis.literal(0)).cast("float64")
    others = j.ri_m - j.m
    valid = others > 0
    wt = ibis.ifelse(valid, 1.0 / size, 0.0)
    agree = sum((x * y for x, y in zip(o, rest, strict=True)), ibis.literal(0))
    in_ref = sum((ibis.ifelse(x, y, 0) for x, y in zip(won, o, strict=True)), ibis.literal(0))
    metrics: dict[str, ir.Scalar] = {
        "items": j.count(),
        "repeats": _count(j.m > 1),
        "agreement_n": ibis.ifelse(valid, j.m, 0).sum(),
        "agree": ibis.ifelse(
            valid, agree.cast("float64") / ibis.greatest(others, 1).cast("float64"), 0.0
        ).sum(),
        "diag": (wt * in_ref.cast("float64")).sum(),
    }
    for c in range(k):
        metrics[f"row{c}"] = ibis.ifelse(valid, o[c], 0).sum()
        metrics[f"col{c}"] = ibis.ifelse(won[c], wt * j.m.cast("float64"), 0.0).sum()
    return j.group_by("labeler_id").agg(**metrics)


def _kappa_from_margins(row: np.ndarray, col: np.ndarray, diag: np.ndarray) -> np.ndarray:
    """Cohen's kappa of tables given by their row and column totals and diagonal sum.

    One table per row of ``row`` and ``col`` (L x K): N = sum_c row_c,
    p_o = diag / N, p_e = sum_c row_c col_c / N^2, kappa = (p_o - p_e) / (1 - p_e),
    as :func:`cohen_kappa_from_cells`; NaN when N = 0 or p_e = 1.
    """
    n = row.sum(axis=1).astype(float)
    safe = np.where(n > 0, n, 1.0)
    p_o = diag / safe
    p_e = (row * col).sum(axis=1) / safe**2
    undefined = (n <= 0) | ((1.0 - p_e) <= 1e-12)
    kappa = (p_o - p_e) / np.where(undefined, 1.0, 1.0 - p_e)
    return np.where(undefined, np.nan, kappa)


def _frame(table: pa.Table) -> pd.DataFrame:
    """A small engine result as a frame indexed by labeler_id (strings)."""
    df = table.to_pandas()
    df.index = pd.Index(df.pop("labeler_id").astype(str).to_numpy(dtype=object), name="labeler_id")
    return df


def _per_labeler(
    ann: ir.Table, gold: ir.Table | None, fast_threshold_s: float
) -> pd.DataFrame | None:
    """Every per-labeler sum (volume, speed, gold, leave-one-out) and the leave-one-out kappa.

    Engine queries: the annotations per (label, labeler), for the label and
    labeler dictionaries; then :func:`_per_labeler_query`, once more with
    wider count fields when an item has 2**PATTERN_BITS labels or more; and,
    when some labeler labeled an item twice, :func:`_repeats_query`. Each
    returns one row per labeler. None when there are no annotations.
    """
    ll = label_labeler_counts(ann)
    if ll.empty:
        return None
    labels = label_table(ll["label"], ll["n"])["label"].tolist()
    names = sorted(set(ll["labeler_id"].astype(str)))
    bits = PATTERN_BITS
    while True:
        per, keys = _item_summary(ann, labels, names, bits)
        df = _frame(
            _per_labeler_query(ann, per, keys, labels, bits, gold, fast_threshold_s).to_pyarrow()
        )
        wider = fitting_bits(int(df["max_m"].max()))
        if wider is None or wider <= bits:
            break
        bits = wider
    k = len(labels)
    sums = ["items", "agree", "agreement_n", "diag"]
    rows, cols = [f"row{c}" for c in range(k)], [f"col{c}" for c in range(k)]
    df["repeats"] = 0
    if int(df["repeat_rows"].sum()) > 0:
        extra = _frame(_repeats_query(ann, per, keys, labels, bits).to_pyarrow())
        extra = extra.reindex(df.index).fillna(0)
        for c in [*sums, "repeats", *rows, *cols]:
            df[c] = df[c].to_numpy() + extra[c].to_numpy()
    df["kappa_vs_consensus"] = _kappa_from_margins(
        df[rows].to_numpy(dtype=float),
        df[cols].to_numpy(dtype=float),
        df["diag"].to_numpy(dtype=float),
    )
    df["consensus_n"] = df["agreement_n"]
    keep = ["n", "items", "repeats", "agree", "agreement_n", "kappa_vs_consensus", "consensus_n"]
    keep += [c for c in ("gold_n", "gold_correct", "median_duration_s", "fast", "timed") if c in df]
    return df[keep].reset_index()


def _consensus_reference(ann: ir.Table, consensus: pd.DataFrame) -> ir.Table:
    """Per (labeler, item): the given consensus label(s), weight 1/t for a t-way tie."""
    require_columns(consensus, ("item_id", "label"), "consensus")
    rows = []
    ties = consensus["tied_labels"] if "tied_labels" in consensus.columns else [()] * len(consensus)
    for item, lab, tied in zip(consensus["item_id"], consensus["label"], ties, strict=True):
        labels = tied_set(tied) or (str(lab),)
        rows.extend((str(item), x, 1.0 / len(labels)) for x in labels)
    ref = ibis.memtable(pd.DataFrame(rows, columns=["c_item", "ref", "w"]).astype({"w": float}))
    pairs = ann.select("labeler_id", "item_id").distinct()
    j = pairs.join(ref, pairs.item_id == ref.c_item)
    return j.select("labeler_id", "item_id", "ref", "w")


def _kappa_from_cells(cells: pd.DataFrame) -> pd.DataFrame:
    """labeler_id, kappa_vs_consensus, consensus_n from per-labeler cells (row, col, n)."""
    if cells.empty:
        return pd.DataFrame({"labeler_id": [], "kappa_vs_consensus": [], "consensus_n": []})
    cells = cells.astype({"row": str, "col": str})
    k = cohen_kappa_from_cells(cells, "labeler_id")
    return k.rename(columns={"kappa": "kappa_vs_consensus", "n": "consensus_n"})[
        ["labeler_id", "kappa_vs_consensus", "consensus_n"]
    ]


def _kappa_vs_consensus(ann: ir.Table, consensus: pd.DataFrame) -> pd.DataFrame:
    """Per labeler: Cohen's kappa of its labels against a given consensus (K x K per labeler)."""
    ref = _consensus_reference(ann, consensus)
    own, _ = _labeler_counts(ann)
    ref = ref.rename(r_lab="labeler_id", r_item="item_id")
    j = own.join(ref, [own.labeler_id == ref.r_lab, own.item_id == ref.r_item])
    cells = (
        j.group_by([j.labeler_id, j.label, j.ref])
        .agg(n=(j.own.cast("float64") * j.w).sum())
        .execute()
    )
    return _kappa_from_cells(cells.rename(columns={"label": "row", "ref": "col"}))


def _ratio(num: pd.Series, den: pd.Series) -> np.ndarray:
    """num / den, NaN where den is 0 or missing."""
    n = num.fillna(0).to_numpy(dtype=float)
    d = den.fillna(0).to_numpy(dtype=float)
    return np.where(d > 0, n / np.where(d > 0, d, 1.0), np.nan)


def labelers(
    ann: ir.Table,
    items: ir.Table | pd.DataFrame | None = None,
    consensus: pd.DataFrame | None = None,
    fast_threshold_s: float = FAST_THRESHOLD_S,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """One row per labeler: volume, agreement, gold accuracy, kappa, speed, repeats.

    Columns (sorted by ``labeler_id``):

    * ``n``: annotations given; ``items``: distinct items labeled;
      ``repeats``: items the labeler labeled more than once.
    * ``agreement``: leave-one-out agreement. For each annotation of labeler
      L on item u with label c, the share of the OTHER labelers' labels on u
      equal to c, (n_uc - n^L_uc) / (m_u - m^L_u), where n^L_uc and m^L_u
      count L's own labels on u; averaged over L's annotations on items with
      at least one other label (``agreement_n`` of them). NaN when none.
    * ``gold_n``, ``gold_accuracy``, ``gold_ci_low``, ``gold_ci_high``: L's
      annotations on items with a gold label, the share equal to gold, and
      its Wilson (1927) interval (statsmodels ``proportion_confint``,
      ``method="wilson"``). NaN without gold.
    * ``kappa_vs_consensus``: Cohen's kappa of L's labels (rows) against a
      reference label (columns), one K x K table per labeler built in the
      engine, one entry per annotation (``consensus_n`` in all). By default
      the reference is the majority vote of the OTHER labelers on the item
      (leave-one-out, so L's own vote cannot inflate the figure; an item
      labeled by L alone has no reference and is left out). When
      ``consensus`` is given (e.g. ``dawid_skene(...).labels``), its label is
      the reference as is, L's own labels included. A t-way tie in the
      reference counts 1/t in each tied column. See
      :func:`cohen_kappa_from_cells`.
    * ``median_duration_s``: median ``duration_s`` of L's annotations;
      ``fast_share``: the share of L's timed annotations with ``duration_s <
      fast_threshold_s``. NaN when there are no durations.

    Args:
        ann: annotations (``item_id``, ``labeler_id``, ``label``, and
            ``duration_s`` for the speed columns).
        items: items table with ``item_id`` and ``gold_label``, or None.
        consensus: a per-item consensus (``item_id``, ``label``, optionally
            ``tied_labels``) to compute kappa against, or None for the
            leave-one-out majority vote.
        fast_threshold_s: answers quicker than this many seconds are "fast".
        confidence: level of the gold-accuracy intervals.

    >>> t = ibis.memtable(pd.DataFrame({"item_id": list("aabbcc"), "labeler_id": list("xyxyxy"),
    ...                                 "label": list("ppqqpq")}))
    >>> labelers(t)[["labeler_id", "n", "agreement", "kappa_vs_consensus"]].round(3).values.tolist()
    [['x', 3, 0.667, 0.4], ['y', 3, 0.667, 0.4]]
    """
    require_columns(ann, ("item_id", "labeler_id", "label"), "annotations")
    if not fast_threshold_s > 0:
        raise InvalidArgument(
            f"fast_threshold_s must be a positive number of seconds; found {fast_threshold_s!r}"
        )
    gold = gold_table(items) if items is not None else None
    if consensus is not None:
        require_columns(consensus, ("item_id", "label"), "consensus")
    df = _per_labeler(ann, gold, fast_threshold_s)
    if df is None:
        return _empty_labelers()
    for col in ("median_duration_s", "fast", "timed", "gold_n", "gold_correct"):
        df[col] = df[col].astype(float) if col in df.columns else np.nan
    df["agreement"] = _ratio(df["agree"], df["agreement_n"])
    df["fast_share"] = _ratio(df["fast"], df["timed"])
    df["gold_accuracy"] = _ratio(df["gold_correct"], df["gold_n"])
    df["gold_ci_low"], df["gold_ci_high"] = wilson_interval(
        df["gold_correct"].fillna(0).to_numpy(), df["gold_n"].fillna(0).to_numpy(), confidence
    )
    if consensus is not None:
        kappa = _kappa_vs_consensus(ann, consensus)
        df = df.drop(columns=["kappa_vs_consensus", "consensus_n"])
        df = df.merge(kappa, on="labeler_id", how="left")
    df["kappa_vs_consensus"] = df["kappa_vs_consensus"].astype(float)
    counts = ("n", "items", "repeats", "agreement_n", "gold_n", "consensus_n")
    for col in counts:
        df[col] = np.round(df[col].astype(float).fillna(0.0)).astype(np.int64)
    df["labeler_id"] = df["labeler_id"].astype(str).astype(object)
    df = df.sort_values("labeler_id", kind="stable").reset_index(drop=True)
    return df[list(LABELER_COLUMNS)]


def _empty_labelers() -> pd.DataFrame:
    """The table of :func:`labelers` without a row."""
    ints = {"n", "items", "agreement_n", "gold_n", "consensus_n", "repeats"}
    return pd.DataFrame(
        {
            c: pd.Series(
                [], dtype=object if c == "labeler_id" else np.int64 if c in ints else float
            )
            for c in LABELER_COLUMNS
        }
    )


def cohen_kappa_pairs(ann: ir.Table, min_shared: int = 10) -> pd.DataFrame:
    """Cohen's kappa for every pair of labelers who labeled at least ``min_shared`` common items.

    Engine: each labeler's labels on an item get weight 1/r, r being how many
    labels that labeler gave the item (1 unless the labeler repeated the
    item, so a repeated item still counts once and splits its vote among the
    labels given); a self-join on ``item_id`` with labeler_a < labeler_b and a
    group-by (labeler_a, labeler_b, label_a, label_b) summing w_a * w_b gives
    the pair's K x K table, whose total is the number of shared items. Then
    kappa, its asymptotic standard error and p_o per pair, as in
    :func:`cohen_kappa_from_cells` (which matches statsmodels' ``cohens_kappa``).

    Returns:
        labeler_a, labeler_b, shared_items, kappa, se, percent_agreement
        (p_o as a proportion in [0, 1]), sorted by (labeler_a, labeler_b).
    """
    require_columns(ann, ("item_id", "labeler_id", "label"), "annotations")
    if (
        isinstance(min_shared, bool)
        or not isinstance(min_shared, int | np.integer)
        or min_shared < 1
    ):
        raise InvalidArgument(
            f"min_shared must be a whole number of at least 1; found {min_shared!r}"
        )
    own, per_item = _labeler_counts(ann)
    x = own.join(per_item, ["labeler_id", "item_id"])
    x = x.mutate(w=x.own.cast("float64") / x.r.cast("float64"))
    a = x.select(item_a="item_id", labeler_a="labeler_id", label_a="label", w_a="w")
    y = x.view()
    b = y.select(item_b="item_id", labeler_b="labeler_id", label_b="label", w_b="w")
    j = a.join(b, [a.item_a == b.item_b, a.labeler_a < b.labeler_b])
    cells = j.group_by(["labeler_a", "labeler_b", "label_a", "label_b"]).agg(
        n=(j.w_a * j.w_b).sum()
    )
    shared = j.select("labeler_a", "labeler_b", "item_a").distinct()
    shared = shared.group_by(["labeler_a", "labeler_b"]).agg(shared_items=shared.count())
    shared = shared.filter(shared.shared_items >= min_shared)
    kept = cells.join(shared, ["labeler_a", "labeler_b"]).execute()
    if kept.empty:
        return pd.DataFrame({c: [] for c in PAIR_COLUMNS}).astype(
            {"shared_items": np.int64, "kappa": float, "se": float, "percent_agreement": float}
        )
    kept = kept.rename(columns={"label_a": "row", "label_b": "col"}).astype(
        {"row": str, "col": str}
    )
    out = cohen_kappa_from_cells(kept, ["labeler_a", "labeler_b"])
    sizes = kept.groupby(["labeler_a", "labeler_b"])["shared_items"].first()
    out = out.join(sizes, on=["labeler_a", "labeler_b"])
    out = out.rename(columns={"agreement": "percent_agreement"})
    out = out.astype({"shared_items": np.int64, "labeler_a": str, "labeler_b": str})
    out = out.sort_values(["labeler_a", "labeler_b"], kind="stable").reset_index(drop=True)
    return out[list(PAIR_COLUMNS)]
