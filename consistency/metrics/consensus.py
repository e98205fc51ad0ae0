"""Consensus labels: majority vote and Dawid–Skene, and their accuracy against gold.

* :func:`majority_vote`: per item, the label given most often, with its share
  of the votes. Ties are reported, never silently broken.
* :func:`dawid_skene`: the Dawid & Skene (1979) latent-class model fitted by
  EM: one confusion matrix per labeler, class priors, and a posterior over
  the true class of every item.
* :func:`gold_accuracy`: how often a consensus matches the gold labels, with
  a Wilson interval.

Both consensus methods read the long annotation table (``item_id``,
``labeler_id``, ``label``). Majority vote runs entirely in the query engine
(group by item and label, a window per item). Dawid–Skene fetches the
annotations as three integer-coded arrays (linear in the number of
annotations) and runs EM with products by the sparse items x (labeler, label)
incidence matrix (one nonzero per distinct annotation); it never builds a
dense labelers x items matrix.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal, TypeVar

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy import sparse
from statsmodels.stats.proportion import proportion_confint

from consistency.engine import (
    PATTERN_BITS,
    Profile,
    decode_keys,
    empty_profile,
    fitting_bits,
    item_keys,
    kept,
    key_columns,
    label_labeler_counts,
    label_table,
    profile_from_patterns,
)
from consistency.errors import InvalidArgument

Init = Literal["majority", "majority_hard"]
INITS: tuple[str, ...] = ("majority", "majority_hard")

#: Items per block of the EM steps (see :attr:`_Coded.blocks`).
BLOCK_ITEMS = 32_768

T = TypeVar("T")

#: Floor of a used confusion cell and of a prior (as crowd-kit's DawidSkene).
EPS = 1e-10

MV_COLUMNS = ("item_id", "label", "confidence", "votes", "tie", "tied_labels")


def require_columns(table: ir.Table | pd.DataFrame, columns: Sequence[str], name: str) -> None:
    """Raise :class:`InvalidArgument` naming the columns ``table`` lacks.

    >>> require_columns(pd.DataFrame({"item_id": []}), ["item_id", "label"], "consensus")
    Traceback (most recent call last):
    ...
    consistency.errors.InvalidArgument: the consensus table lacks column(s) label. Columns found: item_id
    """
    found = list(table.columns)
    missing = [c for c in columns if c not in found]
    if missing:
        raise InvalidArgument(
            f"the {name} table lacks column(s) {', '.join(missing)}. "
            f"Columns found: {', '.join(found) or 'none'}"
        )


def as_table(table: ir.Table | pd.DataFrame) -> ir.Table:
    """An Ibis table expression for ``table`` (a pandas frame becomes a memtable)."""
    return ibis.memtable(table) if isinstance(table, pd.DataFrame) else table


def wilson_interval(
    successes: np.ndarray | float,
    n: np.ndarray | float,
    confidence: float = 0.95,
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson (1927) score interval for a proportion; NaN where ``n`` is 0.

    With z the normal quantile, p = successes / n:
    (p + z^2/2n -+ z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n).
    ``successes`` may be fractional (a tie earning partial credit).

    Newcombe (1998), "Two-sided confidence intervals for the single
    proportion", Statistics in Medicine 17:857-872, example 81/263:

    >>> low, high = wilson_interval(81, 263)
    >>> round(float(low), 4), round(float(high), 4)
    (0.2553, 0.3662)
    """
    if not 0 < confidence < 1:
        raise InvalidArgument(f"confidence must be between 0 and 1; found {confidence}")
    s = np.asarray(successes, dtype=float)
    m = np.asarray(n, dtype=float)
    ok = m > 0
    low = np.full(np.broadcast(s, m).shape, np.nan)
    high = low.copy()
    if ok.any():
        s_ok = np.broadcast_to(s, low.shape)[ok]
        m_ok = np.broadcast_to(m, low.shape)[ok]
        lo, hi = proportion_confint(s_ok, m_ok, alpha=1 - confidence, method="wilson")
        # The interval always contains p; clip the float rounding at 0, p and 1.
        p = s_ok / m_ok
        low[ok] = np.clip(lo, 0.0, p)
        high[ok] = np.clip(hi, p, 1.0)
    return low, high


def tied_set(value: object) -> tuple[str, ...]:
    """The tied labels of a consensus cell as a tuple of str (empty when there is no tie)."""
    if isinstance(value, list | tuple | np.ndarray) and len(value) > 1:
        return tuple(str(x) for x in value)
    return ()


def _empty_majority() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "item_id": pd.Series([], dtype=object),
            "label": pd.Series([], dtype=object),
            "confidence": pd.Series([], dtype=float),
            "votes": pd.Series([], dtype=np.int64),
            "tie": pd.Series([], dtype=bool),
            "tied_labels": pd.Series([], dtype=object),
        }
    )


def majority_vote(ann: ir.Table) -> pd.DataFrame:
    """Majority-vote consensus per item: counts in the query engine, winners per count pattern.

    Every annotation is one vote (a labeler who labels an item twice votes
    twice, as in crowd-kit's ``MajorityVote``). With m_u votes on item u and
    n_uc of them for label c, the winner is argmax_c n_uc and
    ``confidence`` = max_c n_uc / m_u.

    Ties are reported, never silently broken: when t >= 2 labels share the
    top count, ``tie`` is True, ``tied_labels`` lists them (sorted by code
    point) and ``label`` is the first of them, a placeholder that only makes
    the column usable; read ``tie`` before trusting it. Without a tie,
    ``tied_labels`` is empty.

    Args:
        ann: annotations with at least ``item_id`` and ``label``.

    Returns:
        One row per item, sorted by ``item_id``: item_id, label, confidence,
        votes (m_u), tie, tied_labels (tuple of str).

    >>> t = ibis.memtable(pd.DataFrame({"item_id": list("aaabb"), "label": list("xxyxy")}))
    >>> majority_vote(t)[["item_id", "label", "votes", "tie", "tied_labels"]].values.tolist()
    [['a', 'x', 3, False, ()], ['b', 'x', 2, True, ('x', 'y')]]
    """
    require_columns(ann, ("item_id", "label"), "annotations")
    labels = ann.group_by("label").agg(n=ann.count()).execute()
    if labels.empty:
        return _empty_majority()
    names = label_table(labels["label"], labels["n"])["label"].tolist()
    bits = PATTERN_BITS
    while True:
        per = _sorted_keys(item_keys(ann, names, bits=bits))
        wider = fitting_bits(int(pc.max(per.column("m")).as_py()))
        if wider is None or wider <= bits:
            return _votes_from_keys(per, names, bits)
        bits = wider


def profile_and_majority(ann: ir.Table, repeats: bool = True) -> tuple[Profile, pd.DataFrame]:
    """:func:`consistency.engine.profile` and :func:`majority_vote` from one pass over the annotations.

    Both come from the same per-item packed counts (see
    :func:`consistency.engine.item_keys`), computed once and kept in the
    engine while the profile groups them by pattern and the votes are read
    per item. The results equal the two functions' (a test checks).
    """
    require_columns(ann, ("item_id", "labeler_id", "label"), "annotations")
    ll = label_labeler_counts(ann)
    if ll.empty:
        return empty_profile(), _empty_majority()
    labels = label_table(ll["label"], ll["n"])
    names = labels["label"].tolist()
    labelers = sorted(ll["labeler_id"].astype(str).unique().tolist())
    bits = PATTERN_BITS
    while True:
        with kept(item_keys(ann, names, bits=bits, labelers=labelers if repeats else None)) as per:
            keys = key_columns(per)
            aggs = {"items": per.count()}
            if "repeats" in per.columns:
                aggs["repeats"] = per.repeats.sum()
            patterns = per.group_by(["m", *keys]).agg(**aggs).execute()
            wider = fitting_bits(int(patterns["m"].max()))
            if wider is None or wider <= bits:
                votes = _sorted_keys(per)
                break
        bits = wider
    counts = decode_keys(patterns[keys].to_numpy(), len(names), bits)
    p = profile_from_patterns(ann, patterns, counts, labels, len(labelers), repeats)
    return p, _votes_from_keys(votes, names, bits)


def _sorted_keys(per: ir.Table) -> pa.Table:
    """Per-item keys (see :func:`consistency.engine.item_keys`) as Arrow, sorted by ``item_id``."""
    return per.mutate(item_id=per.item_id.cast("string")).order_by("item_id").to_pyarrow()


def _votes_from_keys(per: pa.Table, names: list[str], bits: int) -> pd.DataFrame:
    """The majority vote of every item from its packed counts (one winner per count pattern)."""
    keys = np.column_stack([per.column(c).to_numpy() for c in key_columns(per)])
    # items with the same counts have the same winner: decide once per pattern
    if keys.shape[1] == 1:
        inverse, uniques = pd.factorize(keys[:, 0])
        patterns = uniques.reshape(-1, 1)
    else:
        patterns, inverse = np.unique(keys, axis=0, return_inverse=True)
    counts = decode_keys(patterns, len(names), bits)
    top = counts.max(axis=1)
    label, tied = [], []
    for row, t in zip(counts, top, strict=True):
        winners = sorted(names[c] for c in np.flatnonzero(row == t))
        label.append(winners[0])
        tied.append(tuple(winners) if len(winners) > 1 else ())
    inverse = inverse.ravel()
    votes = per.column("m").to_numpy().astype(np.int64)
    df = pd.DataFrame(
        {
            "item_id": per.column("item_id").to_pandas(),
            "label": pa.array(label, type=pa.string()).take(pa.array(inverse)).to_pandas(),
            "confidence": top[inverse].astype(float) / votes.astype(float),
            "votes": votes,
            "tie": np.array([len(t) > 1 for t in tied], dtype=bool)[inverse],
            "tied_labels": _objects(tied)[inverse],
        }
    )
    return df[list(MV_COLUMNS)]


def _objects(values: list[tuple[str, ...]]) -> np.ndarray:
    """A 1-d object array of tuples (numpy would make a 2-d array of equal-length tuples)."""
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


@dataclass(frozen=True)
class DawidSkeneResult:
    """The fitted Dawid–Skene model.

    Attributes:
        labels: one row per item: item_id, label (the most probable class;
            the first in class order if two are exactly equal), confidence
            (its posterior probability).
        posteriors: item x class posterior probabilities (index ``item_id``,
            columns the classes); each row sums to 1.
        priors: class priors p_k (index the classes).
        confusions: labeler_id -> K x K confusion matrix, rows the true class,
            columns the observed label; each row sums to 1.
        iterations: number of E-steps run.
        converged: whether the log-likelihood change fell below ``tol``.
        log_likelihood: observed-data log-likelihood (natural log) at the
            returned parameters.
        support: labeler_id -> how many of its labels fall on items of each
            true class, as expected under the posteriors: support_l(k) = sum
            over l's annotations (u, l, c) of T_uk (index the classes). A row
            of a labeler's confusion matrix rests on that many labels.
    """

    labels: pd.DataFrame
    posteriors: pd.DataFrame
    priors: pd.Series
    confusions: dict[str, pd.DataFrame]
    iterations: int
    converged: bool
    log_likelihood: float
    support: dict[str, pd.Series] = field(default_factory=dict)


@dataclass(frozen=True)
class _Coded:
    """Annotations as integer codes: item i, labeler l, label y (one entry per annotation).

    ``incidence`` is the items x (labeler, label) count matrix A, sparse:
    A[u, l * K + c] = how many times labeler l gave label c to item u. Both EM
    steps are products with it (see :func:`_e_step` and :func:`_m_step`).
    """

    item: np.ndarray
    labeler: np.ndarray
    label: np.ndarray
    items: np.ndarray
    labelers: np.ndarray
    classes: tuple[str, ...]

    @cached_property
    def incidence(self) -> sparse.csr_matrix:
        k = len(self.classes)
        shape = (len(self.items), len(self.labelers) * k)
        if len(self.item) and np.all(self.item[1:] >= self.item[:-1]):
            # rows already in item order: the row pointers are a running count
            indptr = np.zeros(len(self.items) + 1, dtype=np.int64)
            np.cumsum(np.bincount(self.item, minlength=len(self.items)), out=indptr[1:])
            column = self.labeler * k + self.label
            return sparse.csr_matrix((np.ones(len(self.item)), column, indptr), shape=shape)
        return sparse.csr_matrix(
            (np.ones(len(self.item)), (self.item, self.labeler * k + self.label)), shape=shape
        )

    @cached_property
    def blocks(self) -> list[tuple[int, int, sparse.csr_matrix]]:
        """The incidence matrix cut into row blocks of :data:`BLOCK_ITEMS` items.

        EM works block by block: a block's U x K arrays stay in the processor's
        cache, and blocks run on several cores at once.
        """
        a = self.incidence
        n = a.shape[0]
        return [
            (i, min(i + BLOCK_ITEMS, n), a[i : i + BLOCK_ITEMS]) for i in range(0, n, BLOCK_ITEMS)
        ]

    @cached_property
    def used(self) -> np.ndarray:
        """Labeler x observed label: whether the labeler ever gave that label."""
        k = len(self.classes)
        key = self.labeler * k + self.label
        return (np.bincount(key, minlength=len(self.labelers) * k) > 0).reshape(-1, 1, k)


def _code_annotations(ann: ir.Table) -> _Coded:
    """The annotations as three integer arrays, coded in the engine.

    One small query gives the labels and labelers (their codes are their
    positions in canonical label order and in sorted labeler order); the
    distinct items, numbered in sorted order (code point order, as Python
    sorts str), are kept in the engine for the time of the call; a join then
    fetches one row of three integers per annotation. Nothing per annotation
    is hashed in Python.
    """
    t = ann.select(
        item_id=ann.item_id.cast("string"),
        labeler_id=ann.labeler_id.cast("string"),
        label=ann.label.cast("string"),
    )
    ll = label_labeler_counts(t)
    if ll.empty:
        empty = np.zeros(0, dtype=np.int64)
        return _Coded(empty, empty, empty, np.zeros(0, object), np.zeros(0, object), ())
    classes = tuple(label_table(ll["label"], ll["n"])["label"].tolist())
    labelers = sorted(ll["labeler_id"].astype(str).unique().tolist())
    codes = ibis.memtable(
        pd.DataFrame({"dc_label": list(classes), "dc_y": np.arange(len(classes))})
    )
    who = ibis.memtable(pd.DataFrame({"dc_labeler": labelers, "dc_l": np.arange(len(labelers))}))
    distinct = t.select("item_id").distinct()
    with kept(distinct.mutate(dc_i=ibis.row_number().over(order_by=distinct.item_id))) as items:
        j = t.join(items, t.item_id == items.item_id)
        j = j.join(codes, j.label == codes.dc_label)
        j = j.join(who, j.labeler_id == who.dc_labeler)
        rows = j.select(i=j.dc_i.cast("int64"), l=j.dc_l.cast("int64"), y=j.dc_y.cast("int64"))
        rows = rows.order_by("i")  # item order: the incidence matrix is then built directly
        arrays = rows.to_pyarrow()
        names = items.order_by("dc_i").select("item_id").to_pyarrow().column("item_id")
    return _Coded(
        *(np.asarray(arrays.column(c), dtype=np.int64) for c in ("i", "l", "y")),
        np.asarray(names.to_numpy(zero_copy_only=False), dtype=object),
        np.asarray(labelers, dtype=object),
        classes,
    )


def _initial_posteriors(d: _Coded, init: Init, pool: Executor | None = None) -> np.ndarray:
    """Vote shares per item (``majority``) or the one-hot vote winner, ties split (``majority_hard``).

    The votes n_uc are one sparse product: A @ S, where S sums the K label
    columns of every labeler's block.
    """
    k = len(d.classes)
    ones = np.ones(k)
    total = np.tile(np.eye(k), (len(d.labelers), 1))
    post = np.empty((len(d.items), k))

    def block(b: tuple[int, int, sparse.csr_matrix]) -> None:
        votes = np.asarray(b[2] @ total)
        if init == "majority_hard":
            votes = (votes == votes.max(axis=1, keepdims=True)).astype(float)
        post[b[0] : b[1]] = votes / (votes @ ones)[:, None]

    _blockwise(pool, block, d.blocks)
    return post


def _blockwise(pool: Executor | None, fn: Callable[..., T], blocks: list) -> list[T]:
    """``fn`` on every block, on the pool's threads when there is one; results in block order."""
    return list(pool.map(fn, blocks)) if pool is not None else [fn(b) for b in blocks]


def _m_step(
    d: _Coded, post: np.ndarray, smoothing: float, pool: Executor | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Priors p_k = mean_u T_uk; confusions pi_l[k, c] proportional to s + sum T_uk over l's labels c.

    The sums over annotations are one sparse product: (A^T T)[l * K + c, k] =
    sum over l's annotations with label c of T_uk (summed block by block).
    """
    k = len(d.classes)
    n_lab = len(d.labelers)
    parts = _blockwise(pool, lambda b: np.asarray(b[2].T @ post[b[0] : b[1]]), d.blocks)
    counts = np.sum(parts, axis=0) if parts else np.zeros((n_lab * k, k))
    counts = counts.reshape(n_lab, k, k).transpose(0, 2, 1) + smoothing
    counts = np.where(d.used, np.maximum(counts, EPS), counts)
    return post.mean(axis=0), counts / counts.sum(axis=2, keepdims=True)


def _e_step(
    d: _Coded, priors: np.ndarray, conf: np.ndarray, pool: Executor | None = None
) -> tuple[np.ndarray, float]:
    """Posteriors T_uk proportional to p_k prod_{(u,l,c)} pi_l[k, c], and the log-likelihood.

    The sum of log pi_l[k, c] over an item's annotations is one sparse product,
    A @ log pi (rows l * K + c, columns k); only used cells are read.
    """
    k = len(d.classes)
    with np.errstate(divide="ignore"):
        log_conf = np.log(conf)
    per_pair = np.where(d.used, log_conf, 0.0).transpose(0, 2, 1).reshape(-1, k)
    log_prior = np.log(np.maximum(priors, EPS))
    post = np.empty((len(d.items), k))

    def block(b: tuple[int, int, sparse.csr_matrix]) -> float:
        start, stop, a = b
        out = post[start:stop]
        out[:] = a @ per_pair
        return _softmax_rows(out, log_prior, lambda rows: np.asarray(a[rows] @ per_pair))

    log_likelihood = float(sum(_blockwise(pool, block, d.blocks)))
    return post, log_likelihood


def _softmax_rows(
    score: np.ndarray, log_prior: np.ndarray, again: Callable[[np.ndarray], np.ndarray]
) -> float:
    """Rows of log-scores (without the log prior) to posteriors, in place; returns sum_u log Z_u.

    Each row is shifted for range by its mean (a cheap product), or by its
    maximum where the mean leaves the sum out of a safe range; those rows are
    computed again (``again(mask)`` gives their scores).
    """
    k = score.shape[1]
    ones = np.ones(k)
    score += log_prior
    shift = score @ (ones / k)
    score -= shift[:, None]
    with np.errstate(over="ignore", under="ignore"):
        np.exp(score, out=score)
    total = score @ ones
    wild = ~((total > 1e-250) & (total < 1e250))
    if wild.any():
        rows = again(wild) + log_prior
        shift[wild] = rows.max(axis=1)
        score[wild] = np.exp(rows - shift[wild, None])
        total[wild] = score[wild] @ ones
    score /= total[:, None]
    return float((shift + np.log(total)).sum())


def _check_ds_arguments(max_iter: int, tol: float, init: str, smoothing: float) -> None:
    if isinstance(max_iter, bool) or not isinstance(max_iter, int | np.integer) or max_iter < 1:
        raise InvalidArgument(f"max_iter must be a whole number of at least 1; found {max_iter!r}")
    if not tol >= 0:
        raise InvalidArgument(f"tol must be 0 or more; found {tol!r}")
    if init not in INITS:
        raise InvalidArgument(
            f"unknown initialisation '{init}'. Initialisations: {', '.join(INITS)}"
        )
    if not smoothing >= 0:
        raise InvalidArgument(f"smoothing must be 0 or more; found {smoothing!r}")


def dawid_skene(
    ann: ir.Table,
    max_iter: int = 100,
    tol: float = 1e-7,
    init: Init = "majority",
    smoothing: float = 0.01,
) -> DawidSkeneResult:
    """Dawid & Skene (1979) consensus: per-labeler confusion matrices fitted by EM.

    Model: item u has an unknown true class z_u with P(z_u = k) = p_k; a
    labeler l who labels an item of class k answers c with probability
    pi_l[k, c], independently of the other answers. With T_uk = P(z_u = k |
    labels), EM alternates

    * E-step: T_uk proportional to p_k prod_{annotations (u, l, c)} pi_l[k, c];
    * M-step: p_k = sum_u T_uk / U and
      pi_l[k, c] = (s + sum_{annotations (u, l, c)} T_uk) / sum_c' (...),

    where s is ``smoothing``, a pseudo-count added to every cell (s = 0 gives
    the maximum-likelihood update of the paper). Cells of a label the labeler
    used are floored at 1e-10 and priors too, as crowd-kit's ``DawidSkene``
    does, so a log of 0 never occurs. EM starts from the vote shares of each
    item (``init="majority"``, the paper's start and crowd-kit's) or from the
    one-hot majority winner, ties split evenly (``"majority_hard"``); an
    M-step turns that start into parameters. It stops when the observed-data
    log-likelihood, sum_u log sum_k p_k prod pi_l[k, c], changes by less than
    ``tol`` per annotation between two E-steps, or after ``max_iter`` E-steps.
    The returned posteriors, priors, confusions and log-likelihood all belong
    to the same (last) parameters.

    Reference: A. P. Dawid and A. M. Skene (1979), "Maximum likelihood
    estimation of observer error-rates using the EM algorithm", Journal of the
    Royal Statistical Society C (Applied Statistics) 28(1):20-28.

    Args:
        ann: annotations with ``item_id``, ``labeler_id``, ``label``.
        max_iter: most E-steps to run.
        tol: stop when the log-likelihood per annotation changes by less.
        init: ``"majority"`` (vote shares) or ``"majority_hard"``.
        smoothing: pseudo-count added to each confusion cell (0 for none).

    Returns:
        A :class:`DawidSkeneResult`; empty frames when there are no annotations.

    >>> rows = [(u, w, "ab"[u % 2] if w != "w3" else "a") for u in range(6) for w in ("w1", "w2", "w3")]
    >>> t = ibis.memtable(pd.DataFrame(rows, columns=["item_id", "labeler_id", "label"]))
    >>> res = dawid_skene(t)
    >>> res.labels["label"].tolist(), res.converged
    (['a', 'b', 'a', 'b', 'a', 'b'], True)
    """
    require_columns(ann, ("item_id", "labeler_id", "label"), "annotations")
    _check_ds_arguments(max_iter, tol, init, smoothing)
    d = _code_annotations(ann)
    if len(d.item) == 0:
        return _empty_ds(d.classes)
    previous = None
    converged = False
    iterations = 0
    log_likelihood = float("nan")
    threads = min(os.cpu_count() or 1, len(d.blocks))
    with ThreadPoolExecutor(threads) if threads > 1 else nullcontext() as pool:
        post = _initial_posteriors(d, init, pool)
        priors, conf = _m_step(d, post, smoothing, pool)
        for iterations in range(1, max_iter + 1):  # noqa: B007 (reported after the loop)
            post, log_likelihood = _e_step(d, priors, conf, pool)
            if previous is not None and abs(log_likelihood - previous) / len(d.item) < tol:
                converged = True
                break
            previous = log_likelihood
            if iterations < max_iter:
                priors, conf = _m_step(d, post, smoothing, pool)
    return _ds_result(d, post, priors, conf, iterations, converged, log_likelihood)


def _ds_result(
    d: _Coded,
    post: np.ndarray,
    priors: np.ndarray,
    conf: np.ndarray,
    iterations: int,
    converged: bool,
    log_likelihood: float,
) -> DawidSkeneResult:
    classes = pd.Index(list(d.classes), name="label", dtype=object)
    items = pd.Index(d.items, name="item_id", dtype=object)
    posteriors = pd.DataFrame(post, index=items, columns=classes)
    best = post.argmax(axis=1) if post.size else np.zeros(len(post), dtype=np.int64)
    labels = pd.DataFrame(
        {
            "item_id": d.items,
            "label": np.asarray(d.classes, dtype=object)[best],
            "confidence": post[np.arange(len(post)), best],
        }
    )
    true = pd.Index(list(d.classes), name="true", dtype=object)
    observed = pd.Index(list(d.classes), name="observed", dtype=object)
    confusions = {
        str(lab): pd.DataFrame(conf[i], index=true, columns=observed)
        for i, lab in enumerate(d.labelers)
    }
    k = len(d.classes)
    # (A^T T)[l * K + c, k] summed over the labels c: each labeler's expected labels per true class
    per_label = sum(
        (np.asarray(b[2].T @ post[b[0] : b[1]]) for b in d.blocks),
        np.zeros((len(d.labelers) * k, k)),
    )
    per_labeler = per_label.reshape(len(d.labelers), k, k).sum(axis=1)
    support = {
        str(lab): pd.Series(per_labeler[i], index=classes, name="support")
        for i, lab in enumerate(d.labelers)
    }
    return DawidSkeneResult(
        labels,
        posteriors,
        pd.Series(priors, index=classes, name="prior"),
        confusions,
        iterations,
        converged,
        log_likelihood,
        support,
    )


def _empty_ds(classes: tuple[str, ...]) -> DawidSkeneResult:
    d = _Coded(
        np.zeros(0, np.int64),
        np.zeros(0, np.int64),
        np.zeros(0, np.int64),
        np.zeros(0, dtype=object),
        np.zeros(0, dtype=object),
        classes,
    )
    k = len(classes)
    return _ds_result(d, np.zeros((0, k)), np.zeros(k), np.zeros((0, k, k)), 0, False, float("nan"))


@dataclass(frozen=True)
class GoldAccuracy:
    """Accuracy of a consensus against gold labels, with a Wilson interval.

    Attributes:
        n: items with both a gold label and a consensus label.
        correct: items whose consensus matches gold (ties earn partial credit).
        accuracy: correct / n (NaN when n = 0).
        ci_low, ci_high: Wilson interval of the accuracy.
        ties: of the n items, how many have a tied consensus.
        confidence: level of the interval.
        reason: why the accuracy is undefined, else None.
    """

    n: int
    correct: float
    accuracy: float
    ci_low: float
    ci_high: float
    ties: int
    confidence: float
    reason: str | None = None


def gold_table(items: ir.Table | pd.DataFrame) -> ir.Table:
    """Engine expression of the items that have a gold label: ``item_id, gold_label`` (strings)."""
    require_columns(items, ("item_id", "gold_label"), "items")
    t = as_table(items)
    t = t.filter(t.gold_label.notnull())
    return t.select(item_id=t.item_id.cast("string"), gold_label=t.gold_label.cast("string"))


def gold_labels(items: ir.Table | pd.DataFrame) -> pd.DataFrame:
    """The items that have a gold label: ``item_id, gold_label`` (strings), from the engine."""
    return gold_table(items).execute().astype({"item_id": str, "gold_label": str})


def gold_accuracy(
    consensus_labels: pd.DataFrame,
    items: ir.Table | pd.DataFrame,
    confidence: float = 0.95,
) -> GoldAccuracy:
    """Accuracy of consensus labels on the items that have a gold label.

    accuracy = (1/n) sum_u credit_u over the n items with both a gold label and
    a consensus, where credit_u = [label_u = gold_u], or, for a tied consensus
    (non-empty ``tied_labels``) among t labels, [gold_u in tied] / t: the
    expected accuracy of breaking the tie at random, so the figure does not
    depend on how labels are named. The interval is Wilson's (1927) score
    interval (statsmodels ``proportion_confint(method="wilson")``).

    Args:
        consensus_labels: ``item_id, label`` (optionally ``tied_labels``), as
            returned by :func:`majority_vote` or ``dawid_skene(...).labels``.
        items: items table with ``item_id, gold_label`` (gold may be missing).
        confidence: level of the interval.

    >>> cons = pd.DataFrame({"item_id": ["a", "b", "c"], "label": ["x", "y", "x"],
    ...                      "tied_labels": [(), ("x", "y"), ()]})
    >>> gold = pd.DataFrame({"item_id": ["a", "b", "c", "d"], "gold_label": ["x", "x", "y", None]})
    >>> g = gold_accuracy(cons, gold)
    >>> g.n, g.correct, g.ties
    (3, 1.5, 1)
    """
    require_columns(consensus_labels, ("item_id", "label"), "consensus")
    gold = gold_labels(items)
    cons = consensus_labels.astype({"item_id": str}).merge(gold, on="item_id", how="inner")
    tied = (
        [tied_set(x) for x in cons["tied_labels"]]
        if "tied_labels" in cons.columns
        else [()] * len(cons)
    )
    credit = np.array(
        [
            (g in t) / len(t) if t else float(str(lab) == g)
            for lab, g, t in zip(cons["label"], cons["gold_label"], tied, strict=True)
        ],
        dtype=float,
    )
    n = len(credit)
    correct = float(credit.sum())
    low, high = wilson_interval(correct, n, confidence)
    reason = None if n else "no item has both a gold label and a consensus label"
    return GoldAccuracy(
        n=n,
        correct=correct,
        accuracy=correct / n if n else float("nan"),
        ci_low=float(low),
        ci_high=float(high),
        ties=int(sum(1 for t in tied if t)),
        confidence=confidence,
        reason=reason,
    )
