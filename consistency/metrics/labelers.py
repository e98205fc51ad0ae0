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

from consistency.engine import (
    PATTERN_BITS,
    decode_keys,
    fitting_bits,
    item_keys,
    key_columns,
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


def _pair_patterns(ann: ir.Table) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, list[str]]:
    """Per labeler: how many of its items have each (own counts, item counts) pair. One pass.

    Every leave-one-out figure of a labeler L on an item u is a function of
    L's own counts n^L_u (its labels on u) and the item's counts n_u, so the
    engine packs both into integer keys (:func:`consistency.engine.item_keys`)
    and groups the (labeler, item) pairs by (labeler, own key, item key).
    Returns the grouped rows (labeler_id, r = sum n^L_u, m = m_u, pairs), the
    own and the item counts (R x K each), and the labels.
    """
    freq = ann.group_by("label").agg(n=ann.count()).execute()
    labels = label_table(freq["label"], freq["n"])["label"].tolist()
    bits = PATTERN_BITS
    while True:
        item = item_keys(ann, labels, bits=bits)
        item = item.rename({f"i{c}": c for c in key_columns(item)})
        own = item_keys(ann, labels, by=["labeler_id"], bits=bits)
        own = own.rename({"r": "m", **{f"o{c}": c for c in key_columns(own)}})
        j = own.join(item, "item_id")
        okeys = [c for c in j.columns if c[:2] == "ok"]
        ikeys = [c for c in j.columns if c[:2] == "ik"]
        g = j.group_by(["labeler_id", "r", "m", *okeys, *ikeys]).agg(pairs=j.count()).execute()
        wider = fitting_bits(int(g["m"].max())) if len(g) else None
        if wider is None or wider <= bits:
            break
        bits = wider
    k = len(labels)
    return (
        g,
        decode_keys(g[okeys].to_numpy(), k, bits),
        decode_keys(g[ikeys].to_numpy(), k, bits),
        labels,
    )


def _leave_one_out(ann: ir.Table) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per labeler: items, repeats, agree, agreement_n; and the cells of kappa vs the others.

    With o = n^L_u (L's counts on item u), n = n_u, r = sum o and m = m_u,
    on items with others = m - r > 0:

    * agree += sum_c o_c (n_c - o_c) / others, agreement_n += r;
    * the reference is the majority label(s) of the others, argmax_c (n_c - o_c),
      t tied labels weighing 1/t each; the cell (c, ref) of L's table gets
      o_c / t for each reference label.
    """
    g, own, counts, labels = _pair_patterns(ann)
    if g.empty:
        empty = pd.DataFrame({"labeler_id": pd.Series([], dtype=object)})
        return empty, pd.DataFrame({"labeler_id": [], "row": [], "col": [], "n": []})
    pairs = g["pairs"].to_numpy(dtype=float)
    r = g["r"].to_numpy(dtype=np.int64)
    others = g["m"].to_numpy(dtype=np.int64) - r
    ok = others > 0
    per_pair = (own * (counts - own)).sum(axis=1) / np.where(ok, others, 1)
    per = pd.DataFrame(
        {
            "labeler_id": g["labeler_id"].astype(str).to_numpy(),
            "items": pairs,
            "repeats": pairs * (r > 1),
            "agree": np.where(ok, pairs * per_pair, 0.0),
            "agreement_n": np.where(ok, pairs * r, 0.0),
        }
    )
    per = per.groupby("labeler_id", as_index=False, sort=False).sum()
    rest = counts - own
    top = rest.max(axis=1)
    won = (rest == top[:, None]) & ok[:, None]
    weight = won / np.maximum(won.sum(axis=1), 1)[:, None]
    names = np.asarray(labels, dtype=object)
    cells = []
    for labeler, idx in g.groupby(g["labeler_id"].astype(str), sort=False).indices.items():
        table = np.einsum("r,rc,rk->ck", pairs[idx], own[idx], weight[idx])
        row, col = np.nonzero(table)
        cells.append(
            pd.DataFrame(
                {"labeler_id": labeler, "row": names[row], "col": names[col], "n": table[row, col]}
            )
        )
    return per, pd.concat(cells, ignore_index=True)


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


def _gold(ann: ir.Table, items: ir.Table | pd.DataFrame) -> ir.Table:
    """Per labeler: labels on gold items (gold_n) and how many match gold (gold_correct)."""
    gold = gold_table(items).rename(g_item="item_id")
    j = ann.join(gold, ann.item_id == gold.g_item)
    return j.group_by("labeler_id").agg(
        gold_n=j.count(), gold_correct=(j.label == j.gold_label).cast("int64").sum()
    )


def _volume_and_speed(ann: ir.Table, fast_threshold_s: float) -> ir.Table:
    """Per labeler: annotations, and when durations exist: median, fast and timed counts."""
    metrics = {"n": ann.count()}
    if "duration_s" in ann.columns:
        dur = ann.duration_s.cast("float64")
        metrics |= {
            "median_duration_s": dur.median(),
            "fast": (dur < fast_threshold_s).cast("int64").sum(),
            "timed": dur.count(),
        }
    return ann.group_by("labeler_id").agg(**metrics)


def _per_labeler(
    ann: ir.Table,
    items: ir.Table | pd.DataFrame | None,
    fast_threshold_s: float,
    leave_one_out: pd.DataFrame,
) -> pd.DataFrame:
    """Every per-labeler aggregate: volume, speed and gold in one engine query, L rows."""
    out = _volume_and_speed(ann, fast_threshold_s)
    if items is not None:
        part = _gold(ann, items).rename(_key="labeler_id")
        out = out.left_join(part, out.labeler_id == part._key).drop("_key")
    df = out.execute()
    df["labeler_id"] = df["labeler_id"].astype(str)
    df = df.merge(leave_one_out, on="labeler_id", how="left")
    for col in (
        "median_duration_s",
        "fast",
        "timed",
        "agree",
        "agreement_n",
        "gold_n",
        "gold_correct",
    ):
        df[col] = df[col].astype(float) if col in df.columns else np.nan
    return df


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
    loo, loo_cells = _leave_one_out(ann)
    df = _per_labeler(ann, items, fast_threshold_s, loo)
    df["agreement"] = _ratio(df["agree"], df["agreement_n"])
    df["fast_share"] = _ratio(df["fast"], df["timed"])
    df["gold_accuracy"] = _ratio(df["gold_correct"], df["gold_n"])
    df["gold_ci_low"], df["gold_ci_high"] = wilson_interval(
        df["gold_correct"].fillna(0).to_numpy(), df["gold_n"].fillna(0).to_numpy(), confidence
    )
    kappa = (
        _kappa_from_cells(loo_cells) if consensus is None else _kappa_vs_consensus(ann, consensus)
    )
    df = df.merge(kappa, on="labeler_id", how="left")
    df["kappa_vs_consensus"] = df["kappa_vs_consensus"].astype(float)
    counts = ("n", "items", "repeats", "agreement_n", "gold_n", "consensus_n")
    for col in counts:
        df[col] = np.round(df[col].astype(float).fillna(0.0)).astype(np.int64)
    df["labeler_id"] = df["labeler_id"].astype(str).astype(object)
    df = df.sort_values("labeler_id", kind="stable").reset_index(drop=True)
    return df[list(LABELER_COLUMNS)]


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
