"""What to do next: small rules over the computed statistics, one ranked table.

Each rule is a pure function ``rule(ctx, th) -> list[Recommendation]`` over a
:class:`Context` (the figures of one dataset view) and the named
:class:`Thresholds`. Adding an action is one function and one entry in
:data:`RULES`. The rules and their thresholds are documented, with a worked
example of the score, in docs/recommendations.md.

Every row says what to do (``action``), to what (classes, slice or labeler),
why (``evidence``, in words with the numbers), what it would do to agreement
(``alpha_before`` / ``alpha_after``), how much of the data it touches
(``share``), its ``score`` and up to 20 example items to look at first (the
most disputed ones).

alpha_after is exact for a merge (alpha of the merged coincidence matrix),
for the uncertain tag (alpha with the tagged items set aside) and for a
labeler review (alpha without that labeler's labels). It is an estimate for
a clarification (half of the disagreement involving the class resolved,
:func:`clarify_alpha_after`) and for fixing an input (the slice agreeing like
the rest: the rest's alpha). Model work leaves the labels, and alpha, as they are.

Score: ``max(alpha_after - alpha_before, 0) * share`` for actions on the
labels, and ``max(HLP_c - model accuracy_c, 0) * share`` for model work.
Rows are ranked by score, highest first; rows scoring below
``Thresholds.min_score`` are left out.

>>> Thresholds().min_score
0.003
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from consistency.engine import Profile
from consistency.errors import InvalidArgument, NotComputable
from consistency.metrics.alpha import alpha as alpha_of
from consistency.metrics.alpha import coincidence, distance
from consistency.metrics.classes import alpha_after_merge

ACTIONS = (
    "clarify instructions",
    "merge classes",
    "add an uncertain tag",
    "fix the input",
    "review labeler",
    "model work",
)


@dataclass(frozen=True)
class Thresholds:
    """The named parameters of the rules (documented in docs/recommendations.md).

    Attributes:
        clarify_max_agreement: a class whose specific agreement o_cc / n_c is
            below this...
        clarify_margin: ... and at least this far below the median class...
        clarify_min_share: ... and holds at least this share of the pairable values...
        clarify_min_partner_share: ... and whose disagreement goes to a few
            classes (its three main partner classes hold at least this share
            of it) is a candidate for clearer instructions.
        clarify_resolved_share: the estimate of a clarification's effect assumes
            it resolves this share of the disagreement that involves the class.
        merge_min_mutual: merge a and b when each sends at least this share of
            its disagreement to the other...
        merge_max_asymmetry: ... and the confusion rates a->b and b->a differ
            by at most this factor.
        uncertain_max_top_share: an item has "no clear winner" when its most
            frequent label holds at most this share of its labels.
        uncertain_min_share: recommend the tag when at least this share of
            pairable items has no clear winner (for the per-class variant: of the
            items with that label, and at least ``uncertain_class_factor`` times
            the median of that share over the classes)...
        uncertain_class_factor: see ``uncertain_min_share``.
        uncertain_min_entropy: ... and the disagreement among them is spread:
            entropy of the class pairs they disagree on, over the log of the
            number of possible pairs K(K-1)/2, at least this...
        uncertain_max_partner_share: ... and has no single partner: the largest
            class pair (for the per-class variant: the class's main partner)
            holds at most this share of that disagreement.
        slice_min_items: slices with fewer pairable items are not judged.
        slice_min_gap: fix the input of a slice when its bootstrap interval lies
            below the rest's and its alpha is at least this much below the rest's
            (a slice that merely holds more of a hard class differs by less).
        labeler_min_labels: labelers with fewer labels are not judged.
        labeler_agreement_margin: review a labeler whose agreement is this far
            below the median labeler's...
        labeler_gold_margin: ... or whose gold accuracy is this far below the median...
        labeler_max_fast_share: ... or with at least this share of suspiciously fast answers.
        model_min_gap: model work when HLP_c exceeds model accuracy_c by this much
            and their Wilson intervals do not overlap...
        model_hlp_margin: ... on a class people agree on: HLP_c at most this far
            below the median HLP of the classes...
        model_agreed_min_gap: ... and the model is weak where people agree too:
            its accuracy on the items people label c unanimously is at least this
            far below HLP_c.
        min_score: rows with a lower score are not shown (0 shows every row).
    """

    clarify_max_agreement: float = 0.75
    clarify_margin: float = 0.05
    clarify_min_share: float = 0.02
    clarify_min_partner_share: float = 0.75
    clarify_resolved_share: float = 0.5
    merge_min_mutual: float = 0.4
    merge_max_asymmetry: float = 2.5
    uncertain_max_top_share: float = 0.5
    uncertain_min_share: float = 0.1
    uncertain_class_factor: float = 1.5
    uncertain_min_entropy: float = 0.6
    uncertain_max_partner_share: float = 0.5
    slice_min_items: int = 30
    slice_min_gap: float = 0.15
    labeler_min_labels: int = 20
    labeler_agreement_margin: float = 0.15
    labeler_gold_margin: float = 0.15
    labeler_max_fast_share: float = 0.3
    model_min_gap: float = 0.05
    model_hlp_margin: float = 0.1
    model_agreed_min_gap: float = 0.05
    min_score: float = 0.003


@dataclass
class Recommendation:
    """One row of the ranked table (see :data:`COLUMNS`)."""

    action: str
    target: str
    evidence: str
    alpha_before: float
    alpha_after: float
    share: float
    score: float
    classes: list[str] = field(default_factory=list)
    slice: str | None = None
    labeler_id: str | None = None
    example_items: list[str] = field(default_factory=list)
    rank: int = 0
    #: what :meth:`Context.examples` needs to find the example items (filled in
    #: by :func:`recommend` for the rows it keeps, so dropped rows cost no query).
    example_target: dict[str, Any] = field(default_factory=dict)


@dataclass
class Context:
    """The figures of one dataset view that the rules read.

    Attributes:
        profile: the view's profile (see :mod:`consistency.engine`).
        level: level of measurement.
        alpha: the view's alpha.
        per_class: :func:`consistency.metrics.classes.per_class` table.
        pairs: confused class pairs (class_a, class_b, coincidences, rate_a_to_b,
            rate_b_to_a, alpha_after_merge).
        labelers: per-labeler table (labeler_id, n, agreement, gold_n,
            gold_accuracy, fast_share).
        slices: per metadata value: field, value, pairable_items, items_share,
            alpha, ci_low, ci_high, rest_alpha, rest_ci_low, rest_ci_high.
        hlp: per-class HLP table (class, share, hlp, hlp_ci_low, hlp_ci_high,
            model_accuracy, model_accuracy_ci_low, model_accuracy_ci_high,
            model_accuracy_agreed); see :mod:`consistency.metrics.hlp`.
        alpha_without_labeler: alpha of the view without one labeler's labels.
        example_items: the most disputed items of a target
            (classes=..., slice=(field, value), labeler=...).
    """

    profile: Profile
    level: str
    alpha: float
    per_class: pd.DataFrame
    pairs: pd.DataFrame
    labelers: pd.DataFrame = field(default_factory=pd.DataFrame)
    slices: pd.DataFrame = field(default_factory=pd.DataFrame)
    hlp: pd.DataFrame = field(default_factory=pd.DataFrame)
    alpha_without_labeler: Callable[[str], float] | None = None
    example_items: Callable[..., list[str]] | None = None

    def examples(self, **target: Any) -> list[str]:
        """Up to 20 most disputed items of a target ([] when unknown)."""
        return list(self.example_items(**target))[:20] if self.example_items else []


Rule = Callable[[Context, Thresholds], list[Recommendation]]


def _pct(x: float) -> str:
    return "n/a" if x is None or not np.isfinite(x) else f"{x:.0%}"


def _num(x: float) -> str:
    return "n/a" if x is None or not np.isfinite(x) else f"{x:.3f}"


def _score(before: float, after: float, share: float) -> float:
    if not (np.isfinite(before) and np.isfinite(after)):
        return 0.0
    return max(after - before, 0.0) * share


def _disagreement_parts(ctx: Context) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Coincidences, distances, n and D_e of the view (for the clarify estimate)."""
    p = ctx.profile
    o = coincidence(p)
    values = p.values if ctx.level != "nominal" else np.zeros(len(p.labels))
    d = distance(ctx.level, values, o.sum(axis=1))  # type: ignore[arg-type]
    n_c = o.sum(axis=1)
    return o, d, float(n_c.sum()), float(n_c @ d @ n_c)


def clarify_alpha_after(ctx: Context, cls: str, resolved: float) -> float:
    """Estimated alpha if a clarification resolved ``resolved`` of the disagreement involving ``cls``.

    With o the coincidences and d the distances, D_o(c) = sum_{k != c}
    (o_ck d_ck + o_kc d_kc) is the observed disagreement that involves c.
    Moving disagreeing pairs to agreement keeps every marginal n_c, so D_e is
    unchanged and alpha_after = 1 - (n - 1)(sum o d - resolved * D_o(c)) / D_e.
    """
    o, d, n, d_e = _disagreement_parts(ctx)
    if d_e <= 0:
        return float("nan")
    c = ctx.profile.labels.index(cls)
    od = o * d
    involve = od[c, :].sum() + od[:, c].sum() - od[c, c]
    return float(1.0 - (n - 1) * (od.sum() - resolved * involve) / d_e)


# ---- the rules ---------------------------------------------------------------
def clarify_class(ctx: Context, th: Thresholds) -> list[Recommendation]:
    """Low agreement on a class with a real share of the data, confused with a few classes.

    Conditions: specific agreement o_cc / n_c (in peer mode, HLP_c) below
    ``clarify_max_agreement`` and at least ``clarify_margin`` below the median
    class; share of the pairable values at least ``clarify_min_share``; its
    three main partner classes hold at least ``clarify_min_partner_share`` of
    its disagreement; its main partner is not a merge candidate (the merge
    row covers that pair). alpha_after is the estimate of
    :func:`clarify_alpha_after`.
    """
    out: list[Recommendation] = []
    merge_pairs = {
        frozenset((r.class_a, r.class_b)) for r in _merge_candidates(ctx, th).itertuples()
    }
    median = float(ctx.per_class["specific_agreement"].median()) if len(ctx.per_class) else 0.0
    for r in ctx.per_class.itertuples():
        sa = float(r.specific_agreement)
        share = float(r.share)
        if not np.isfinite(sa) or sa >= th.clarify_max_agreement or share < th.clarify_min_share:
            continue
        if sa > median - th.clarify_margin:
            continue
        partners = list(r.main_partners or [])
        if partners and frozenset((r[1], partners[0][0])) in merge_pairs:
            continue  # its main partner is a merge candidate: the merge row says it
        if sum(v for _, v in partners[:3]) < th.clarify_min_partner_share:
            continue  # spread over many classes: the uncertain tag's case, not guidelines
        after = clarify_alpha_after(ctx, r[1], th.clarify_resolved_share)
        partner_txt = ", ".join(f"{k} ({_pct(v)})" for k, v in partners[:3]) or "none"
        hlp_txt = ""
        if len(ctx.hlp) and "hlp" in ctx.hlp.columns:
            h = ctx.hlp[ctx.hlp["class"] == r[1]]
            if len(h) and np.isfinite(h["hlp"].iat[0]):
                hlp_txt = f"; HLP {_pct(float(h['hlp'].iat[0]))}"
        evidence = (
            f"specific agreement {_pct(sa)}, one-vs-rest alpha {_num(r.alpha_one_vs_rest)}"
            f"{hlp_txt}; {_pct(r.disagreement_share)} of all disagreement involves it; "
            f"main partners: {partner_txt}; {_pct(share)} of the labels"
        )
        out.append(
            Recommendation(
                "clarify instructions",
                f"class {r[1]}",
                evidence,
                ctx.alpha,
                after,
                share,
                _score(ctx.alpha, after, share),
                classes=[r[1]],
                example_target=dict(classes=[r[1]]),
            )
        )
    return out


def _merge_candidates(ctx: Context, th: Thresholds) -> pd.DataFrame:
    pairs = ctx.pairs
    if pairs is None or not len(pairs):
        return pd.DataFrame(columns=["class_a", "class_b"])
    pc = ctx.per_class.set_index("class")
    rows = []
    o = coincidence(ctx.profile)
    off = o - np.diag(np.diag(o))
    dis = off.sum(axis=1)
    idx = {lab: i for i, lab in enumerate(ctx.profile.labels)}
    for r in pairs.itertuples():
        a, b = idx.get(r.class_a), idx.get(r.class_b)
        if a is None or b is None or dis[a] <= 0 or dis[b] <= 0:
            continue
        mutual_a = off[a, b] / dis[a]
        mutual_b = off[b, a] / dis[b]
        ra, rb = float(r.rate_a_to_b), float(r.rate_b_to_a)
        asym = max(ra, rb) / max(min(ra, rb), 1e-12)
        if min(mutual_a, mutual_b) >= th.merge_min_mutual and asym <= th.merge_max_asymmetry:
            rows.append(
                {
                    **r._asdict(),
                    "mutual_a": mutual_a,
                    "mutual_b": mutual_b,
                    "share": float(pc.loc[r.class_a, "share"] + pc.loc[r.class_b, "share"]),
                }
            )
    return pd.DataFrame(rows, columns=None if rows else ["class_a", "class_b"])


def _alpha_after_merge(ctx: Context, a: str, b: str) -> float:
    """Alpha of the view with a and b as one class, at the view's level (exact).

    NaN where a merge has no meaning at that level (interval and ratio, or
    two classes that are not neighbours on an ordinal scale).
    """
    try:
        return alpha_after_merge(ctx.profile, a, b, ctx.level)  # type: ignore[arg-type]
    except (InvalidArgument, NotComputable):
        return float("nan")


def merge_classes(ctx: Context, th: Thresholds) -> list[Recommendation]:
    """Two classes confused with each other far more than with anything else, both ways.

    alpha_after is exact: the alpha of the coincidence matrix with the two
    classes added together (o' = P^T o P, see
    :func:`consistency.metrics.classes.alpha_after_merge`).
    """
    out: list[Recommendation] = []
    for r in _merge_candidates(ctx, th).itertuples():
        after = _alpha_after_merge(ctx, r.class_a, r.class_b)
        if not np.isfinite(after):
            continue
        evidence = (
            f"{r.class_a} and {r.class_b} coincide {r.coincidences:.1f} times; "
            f"{_pct(r.rate_a_to_b)} of {r.class_a} labels meet {r.class_b} and "
            f"{_pct(r.rate_b_to_a)} the other way; {_pct(r.mutual_a)} of {r.class_a}'s and "
            f"{_pct(r.mutual_b)} of {r.class_b}'s disagreement is with each other; "
            f"alpha after merging {_num(after)} (now {_num(ctx.alpha)}, exact)"
        )
        out.append(
            Recommendation(
                "merge classes",
                f"{r.class_a} + {r.class_b}",
                evidence,
                ctx.alpha,
                after,
                float(r.share),
                _score(ctx.alpha, after, float(r.share)),
                classes=[r.class_a, r.class_b],
                example_target=dict(classes=[r.class_a, r.class_b]),
            )
        )
    return out


def _no_winner_mask(p: Profile, th: Thresholds) -> np.ndarray:
    m = p.m
    top = p.counts.max(axis=1) if p.counts.size else np.zeros(0)
    return (m >= 2) & (top <= th.uncertain_max_top_share * m)


def _spread(p: Profile, mask: np.ndarray, cls: int | None) -> tuple[float, float]:
    """How spread the disagreement of the masked patterns is: (entropy, partner share).

    With o the coincidences of the masked items and q_ck = o_ck / sum_{c'<k'} o_c'k'
    the share of their disagreeing pairs that are (c, k), c < k:

    * entropy = -sum q_ck log q_ck / log(K(K-1)/2), 1 when every possible pair
      is equally common, 0 when one pair holds everything;
    * partner share = max q_ck (with ``cls``: the share of the class's main
      partner in its disagreement, max_k o_ck / sum_{k != c} o_ck).
    """
    o = coincidence(p.select(mask))
    k = len(p.labels)
    v = o[np.triu_indices(k, 1)]
    if k < 3 or v.sum() <= 0:
        return 0.0, 1.0
    q = v[v > 0] / v.sum()
    entropy = float(-(q * np.log(q)).sum() / np.log(len(v)))
    if cls is None:
        return entropy, float(q.max())
    row = np.delete(o[cls], cls)
    return entropy, float(row.max() / row.sum()) if row.sum() > 0 else 1.0


def uncertain_tag(ctx: Context, th: Thresholds) -> list[Recommendation]:
    """Many split votes with no clear winner, spread over many classes: add an "uncertain" tag.

    An item has no clear winner when its most frequent label holds at most
    ``uncertain_max_top_share`` of its labels. Globally: at least
    ``uncertain_min_share`` of the pairable items have none. For class c: at
    least that share of the pairable items with a c label, and at least
    ``uncertain_class_factor`` times the median of that share over the
    classes. In both cases the disagreement of those items must be spread
    (:func:`_spread`: entropy at least ``uncertain_min_entropy``, largest
    pair or main partner at most ``uncertain_max_partner_share``), which a
    pair of classes swapped with each other never is. With two classes there
    is a single pair, so the rule never applies.

    alpha_after is exact: the alpha of the view with those items set aside;
    share is the share of the pairable items set aside.
    """
    p = ctx.profile
    out: list[Recommendation] = []
    if not p.pairable_items:
        return out
    mask = _no_winner_mask(p, th)
    pairable_w = p.weight[p.pairable].sum()
    targets: list[tuple[str | None, np.ndarray]] = [(None, mask)]
    for c, lab in enumerate(p.labels):
        targets.append((lab, mask & (p.counts[:, c] > 0)))
    shares: dict[str | None, tuple[int, float]] = {}
    for lab, msk in targets:
        if lab is None:
            base = pairable_w
        else:
            base = p.weight[p.pairable & (p.counts[:, p.labels.index(lab)] > 0)].sum()
        if base:
            n_items = int(p.weight[msk].sum())
            shares[lab] = (n_items, n_items / base)
    class_shares = [v[1] for k, v in shares.items() if k is not None]
    typical = float(np.median(class_shares)) if class_shares else 0.0
    for lab, msk in targets:
        if lab not in shares:
            continue
        n_items, share_items = shares[lab]
        if share_items < th.uncertain_min_share:
            continue
        if lab is not None and share_items < th.uncertain_class_factor * typical:
            continue
        entropy, partner = _spread(p, msk, None if lab is None else p.labels.index(lab))
        if entropy < th.uncertain_min_entropy or partner > th.uncertain_max_partner_share:
            continue
        after = alpha_of(p.select(~msk), ctx.level)  # type: ignore[arg-type]
        share = n_items / pairable_w
        where = "globally" if lab is None else f"for class {lab}"
        partner_txt = "largest class pair" if lab is None else "main partner class"
        evidence = (
            f"{n_items} items ({_pct(share_items)} of the pairable items"
            f"{'' if lab is None else ' with a ' + lab + ' label'}) have no clear winner "
            f"(top label at most {_pct(th.uncertain_max_top_share)} of the votes); their "
            f"disagreement is spread over many class pairs (normalised entropy {entropy:.2f}; "
            f"{partner_txt} {_pct(partner)} of it); alpha with them set aside "
            f"{_num(after)} (exact), setting aside {_pct(share)} of the items"
        )
        out.append(
            Recommendation(
                "add an uncertain tag",
                where,
                evidence,
                ctx.alpha,
                after,
                float(share),
                _score(ctx.alpha, after, float(share)),
                classes=[] if lab is None else [lab],
                example_target=dict(classes=None if lab is None else [lab]),
            )
        )
    return out


def fix_slice_input(ctx: Context, th: Thresholds) -> list[Recommendation]:
    """A metadata value whose agreement is clearly below the rest: improve that input.

    Conditions: at least ``slice_min_items`` pairable items; the slice's 95%
    bootstrap interval lies entirely below the rest's; its alpha is at least
    ``slice_min_gap`` below the rest's. alpha_after estimates the view's
    alpha if the slice agreed like the rest: the alpha of the rest.
    """
    out: list[Recommendation] = []
    s = ctx.slices
    if s is None or not len(s):
        return out
    for r in s.itertuples():
        if r.pairable_items < th.slice_min_items:
            continue
        if (
            not (np.isfinite(r.ci_high) and np.isfinite(r.rest_ci_low))
            or r.ci_high >= r.rest_ci_low
            or r.rest_alpha - r.alpha < th.slice_min_gap
        ):
            continue
        after = float(r.rest_alpha)
        evidence = (
            f"alpha on {r.field} = {r.value} is {_num(r.alpha)} [{_num(r.ci_low)}, {_num(r.ci_high)}] "
            f"against {_num(r.rest_alpha)} [{_num(r.rest_ci_low)}, {_num(r.rest_ci_high)}] elsewhere "
            f"(95% bootstrap intervals do not overlap), over {r.pairable_items} items: labelers "
            f"cannot agree on this input; improve the input (e.g. image quality), not the instructions"
        )
        out.append(
            Recommendation(
                "fix the input",
                f"{r.field} = {r.value}",
                evidence,
                ctx.alpha,
                after,
                float(r.items_share),
                _score(ctx.alpha, after, float(r.items_share)),
                slice=f"{r.field}={r.value}",
                example_target=dict(slice=(r.field, r.value)),
            )
        )
    return out


def review_labeler(ctx: Context, th: Thresholds) -> list[Recommendation]:
    """A labeler far below the others in agreement or gold accuracy, or with many fast answers.

    Judged among labelers with at least ``labeler_min_labels`` labels (at
    least three of them): agreement with the others more than
    ``labeler_agreement_margin`` below the median labeler's, or gold accuracy
    more than ``labeler_gold_margin`` below the median, or a share of fast
    answers of at least ``labeler_max_fast_share``. alpha_after is exact: the
    view's alpha without that labeler's labels; share is the labeler's share
    of the labels.
    """
    out: list[Recommendation] = []
    lab = ctx.labelers
    if lab is None or not len(lab):
        return out
    judged = lab[lab["n"] >= th.labeler_min_labels]
    if len(judged) < 3:
        return out
    total = float(lab["n"].sum())
    med_agree = float(judged["agreement"].median())
    gold = judged["gold_accuracy"] if "gold_accuracy" in judged else pd.Series(dtype=float)
    med_gold = float(gold.median()) if gold.notna().any() else float("nan")
    for r in judged.itertuples():
        reasons = []
        if np.isfinite(r.agreement) and r.agreement < med_agree - th.labeler_agreement_margin:
            reasons.append(f"agreement with others {_pct(r.agreement)} (median {_pct(med_agree)})")
        g = getattr(r, "gold_accuracy", float("nan"))
        if (
            g is not None
            and np.isfinite(g)
            and np.isfinite(med_gold)
            and g < med_gold - th.labeler_gold_margin
        ):
            reasons.append(
                f"gold accuracy {_pct(g)} on {int(r.gold_n)} control items (median {_pct(med_gold)})"
            )
        fast = getattr(r, "fast_share", float("nan"))
        if fast is not None and np.isfinite(fast) and fast >= th.labeler_max_fast_share:
            reasons.append(f"{_pct(fast)} of answers suspiciously fast")
        if not reasons:
            continue
        after = (
            ctx.alpha_without_labeler(r.labeler_id) if ctx.alpha_without_labeler else float("nan")
        )
        share = float(r.n) / total if total else 0.0
        evidence = "; ".join(reasons) + f"; alpha without this labeler {_num(after)} (exact)"
        out.append(
            Recommendation(
                "review labeler",
                f"labeler {r.labeler_id}",
                evidence,
                ctx.alpha,
                after,
                share,
                _score(ctx.alpha, after, share),
                labeler_id=str(r.labeler_id),
                example_target=dict(labeler=str(r.labeler_id)),
            )
        )
    return out


def model_work(ctx: Context, th: Thresholds) -> list[Recommendation]:
    """Humans agree on a class clearly more than the model matches them: the model is behind.

    Three conditions, all needed:

    * HLP_c - model accuracy_c >= ``model_min_gap`` and their Wilson intervals
      do not overlap (the model agrees with people on c less than people agree
      with each other);
    * HLP_c >= median HLP of the classes - ``model_hlp_margin``: people agree
      on c about as well as on the others, so the labels are not what is
      behind (when people swap c with another class at random, their labels
      are a coin the model cannot match);
    * HLP_c - model_accuracy_agreed_c >= ``model_agreed_min_gap``: on the items
      people label c unanimously, where the answer is clear, the model is
      still weak. Without it, a class whose labels are noisy would send the
      model's figure down with them. No row when that figure is unknown.

    Score: gap x share, with gap = HLP_c - model accuracy_c; alpha_after is
    alpha_before (model work does not change the labels).
    """
    out: list[Recommendation] = []
    h = ctx.hlp
    if h is None or not len(h) or "model_accuracy" not in h.columns:
        return out
    median_hlp = float(h["hlp"].median()) if h["hlp"].notna().any() else float("nan")
    for r in h.itertuples():
        hlp, acc = float(r.hlp), float(r.model_accuracy)
        if not hlp >= median_hlp - th.model_hlp_margin:
            continue
        gap = hlp - acc if np.isfinite(hlp) and np.isfinite(acc) else float("nan")
        if not np.isfinite(gap) or gap < th.model_min_gap:
            continue
        if not (r.hlp_ci_low > r.model_accuracy_ci_high):
            continue
        agreed = float(getattr(r, "model_accuracy_agreed", float("nan")))
        if not np.isfinite(agreed) or hlp - agreed < th.model_agreed_min_gap:
            continue
        evidence = (
            f"HLP {_pct(hlp)} [{_pct(r.hlp_ci_low)}, {_pct(r.hlp_ci_high)}] against model "
            f"accuracy {_pct(acc)} [{_pct(r.model_accuracy_ci_low)}, "
            f"{_pct(r.model_accuracy_ci_high)}]: gap {gap:+.1%}; on items where humans agree "
            f"unanimously the model is right {_pct(agreed)}; {_pct(r.share)} of the labels; "
            f"the labels are fine, the model is behind"
        )
        share = float(r.share)
        out.append(
            Recommendation(
                "model work",
                f"class {r[1]}",
                evidence,
                ctx.alpha,
                ctx.alpha,
                share,
                max(gap, 0.0) * share,
                classes=[r[1]],
                example_target=dict(classes=[r[1]]),
            )
        )
    return out


#: The rules, in the order their rows are produced (ranking is by score).
RULES: tuple[Rule, ...] = (
    clarify_class,
    merge_classes,
    uncertain_tag,
    fix_slice_input,
    review_labeler,
    model_work,
)

COLUMNS = [
    "rank",
    "action",
    "target",
    "classes",
    "slice",
    "labeler_id",
    "alpha_before",
    "alpha_after",
    "share",
    "score",
    "evidence",
    "example_items",
]


def recommend(
    ctx: Context, th: Thresholds | None = None, rules: tuple[Rule, ...] = RULES
) -> pd.DataFrame:
    """Run every rule and rank the rows by score (highest first; ties by action, target).

    Returns a table with :data:`COLUMNS`: rank (1 = do first), action, target,
    classes, slice, labeler_id, alpha_before, alpha_after, share, score,
    evidence, example_items. Rows scoring below ``th.min_score`` are left out.
    """
    th = th or Thresholds()
    rows: list[Recommendation] = []
    for rule in rules:
        rows.extend(r for r in rule(ctx, th) if r.score >= th.min_score)
    rows.sort(key=lambda r: (-r.score, ACTIONS.index(r.action), r.target))
    for i, r in enumerate(rows, start=1):
        r.rank = i
        if r.example_target and not r.example_items:
            r.example_items = ctx.examples(**r.example_target)
    df = pd.DataFrame([asdict(r) for r in rows], columns=COLUMNS)
    return df[COLUMNS]
