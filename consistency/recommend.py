"""What to do next: small rules over the computed statistics, one ranked table.

Each rule is a pure function ``rule(ctx, th) -> list[Recommendation]`` over a
:class:`Context` (the figures of one dataset view) and the named
:class:`Thresholds`. Adding an action is one function and one entry in
:data:`RULES`.

Every row says what to do (``action``), to what (classes, slice or labeler),
why (``evidence``, in words with the numbers), what it would do to agreement
(``alpha_before`` / ``alpha_after``), how much of the data it touches
(``share``), its ``score`` and up to 20 example items to look at first.

Score: ``max(alpha_after - alpha_before, 0) * share`` for actions on the
labels, and ``max(gap, 0) * share`` (the HLP gap of the class) for model
work. Rows are ranked by score, highest first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from consistency.engine import Profile
from consistency.metrics.alpha import alpha as alpha_of
from consistency.metrics.alpha import coincidence, distance

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
        clarify_margin: ... and at least this far below the median class is a
            candidate for clearer instructions.
        clarify_min_share: ... if it holds at least this share of the pairable values.
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
        uncertain_min_entropy: ... and the disagreement among them is spread:
            normalised entropy of the class pairs they disagree on at least this.
        slice_max_values: metadata fields with more distinct values are not sliced.
        slice_min_items: slices with fewer pairable items are not judged.
        labeler_min_labels: labelers with fewer labels are not judged.
        labeler_agreement_margin: review a labeler whose agreement is this far
            below the median labeler's...
        labeler_gold_margin: ... or whose gold accuracy is this far below the median...
        labeler_max_fast_share: ... or with at least this share of suspiciously fast answers.
        model_min_gap: model work when HLP_c exceeds model accuracy_c by this much
            and their Wilson intervals do not overlap.
        min_score: rows with a lower score are not shown.
    """

    clarify_max_agreement: float = 0.75
    clarify_margin: float = 0.05
    clarify_min_share: float = 0.02
    clarify_resolved_share: float = 0.5
    merge_min_mutual: float = 0.4
    merge_max_asymmetry: float = 2.5
    uncertain_max_top_share: float = 0.5
    uncertain_min_share: float = 0.1
    uncertain_min_entropy: float = 0.6
    uncertain_class_factor: float = 1.5
    slice_max_values: int = 50
    slice_min_items: int = 30
    labeler_min_labels: int = 20
    labeler_agreement_margin: float = 0.15
    labeler_gold_margin: float = 0.15
    labeler_max_fast_share: float = 0.3
    model_min_gap: float = 0.05
    min_score: float = 1e-4


@dataclass
class Recommendation:
    """One row of the ranked table."""

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
        hlp: per-class HLP table (class, share, hlp, hlp_ci_low, model_accuracy,
            model_accuracy_ci_high, gap, model_accuracy_agreed).
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
    """Low specific agreement on a class that holds a real share of the data."""
    out = []
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
                example_items=ctx.examples(classes=[r[1]]),
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


def merge_classes(ctx: Context, th: Thresholds) -> list[Recommendation]:
    """Two classes confused with each other far more than with anything else, both ways."""
    out = []
    for r in _merge_candidates(ctx, th).itertuples():
        after = float(r.alpha_after_merge)
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
                example_items=ctx.examples(classes=[r.class_a, r.class_b]),
            )
        )
    return out


def _no_winner_mask(p: Profile, th: Thresholds) -> np.ndarray:
    m = p.m
    top = p.counts.max(axis=1) if p.counts.size else np.zeros(0)
    return (m >= 2) & (top <= th.uncertain_max_top_share * m)


def _pair_entropy(p: Profile, mask: np.ndarray) -> float:
    """Normalised entropy of the disagreeing class pairs among the masked patterns."""
    sub = p.select(mask)
    o = coincidence(sub)
    iu = np.triu_indices(len(p.labels), 1)
    v = (o + o.T)[iu]
    v = v[v > 0]
    if len(v) <= 1:
        return 0.0
    q = v / v.sum()
    return float(-(q * np.log(q)).sum() / np.log(len(q)))


def uncertain_tag(ctx: Context, th: Thresholds) -> list[Recommendation]:
    """Many split votes with no clear winner, spread over many classes: add an "uncertain" tag.

    alpha_after is exact: the alpha of the view with those items set aside.
    """
    p = ctx.profile
    out = []
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
        entropy = _pair_entropy(p, msk)
        if entropy < th.uncertain_min_entropy:
            continue
        after = alpha_of(p.select(~msk), ctx.level)  # type: ignore[arg-type]
        share = n_items / pairable_w
        where = "globally" if lab is None else f"for class {lab}"
        evidence = (
            f"{n_items} items ({_pct(share_items)} of the pairable items"
            f"{'' if lab is None else ' with a ' + lab + ' label'}) have no clear winner "
            f"(top label at most {_pct(th.uncertain_max_top_share)} of the votes); their "
            f"disagreement is spread over many class pairs (normalised entropy {entropy:.2f}); "
            f"alpha with them set aside {_num(after)} (exact), setting aside {_pct(share)} of the items"
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
                example_items=ctx.examples(classes=None if lab is None else [lab]),
            )
        )
    return out


def fix_slice_input(ctx: Context, th: Thresholds) -> list[Recommendation]:
    """A metadata value whose agreement is clearly below the rest (intervals do not overlap).

    alpha_after estimates the view's alpha if the slice agreed like the rest:
    the alpha of the rest.
    """
    out = []
    s = ctx.slices
    if s is None or not len(s):
        return out
    for r in s.itertuples():
        if r.pairable_items < th.slice_min_items:
            continue
        if (
            not (np.isfinite(r.ci_high) and np.isfinite(r.rest_ci_low))
            or r.ci_high >= r.rest_ci_low
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
                example_items=ctx.examples(slice=(r.field, r.value)),
            )
        )
    return out


def review_labeler(ctx: Context, th: Thresholds) -> list[Recommendation]:
    """A labeler far below the others in agreement or gold accuracy, or with many fast answers.

    alpha_after is exact: the view's alpha without that labeler's labels.
    """
    out = []
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
                example_items=ctx.examples(labeler=str(r.labeler_id)),
            )
        )
    return out


def model_work(ctx: Context, th: Thresholds) -> list[Recommendation]:
    """Humans agree on a class clearly more than the model matches them: the model is behind.

    Score: gap x share, with gap = HLP_c - model accuracy_c.
    """
    out = []
    h = ctx.hlp
    if h is None or not len(h) or "model_accuracy" not in h.columns:
        return out
    for r in h.itertuples():
        gap = (
            float(r.hlp - r.model_accuracy)
            if np.isfinite(r.hlp) and np.isfinite(r.model_accuracy)
            else float("nan")
        )
        if not np.isfinite(gap) or gap < th.model_min_gap:
            continue
        if not (r.hlp_ci_low > r.model_accuracy_ci_high):
            continue
        agreed = getattr(r, "model_accuracy_agreed", float("nan"))
        agreed_txt = (
            f"; on items where humans agree unanimously the model is right {_pct(agreed)}"
            if agreed is not None and np.isfinite(agreed)
            else ""
        )
        evidence = (
            f"HLP {_pct(r.hlp)} [{_pct(r.hlp_ci_low)}, {_pct(r.hlp_ci_high)}] against model "
            f"accuracy {_pct(r.model_accuracy)} [{_pct(r.model_accuracy_ci_low)}, "
            f"{_pct(r.model_accuracy_ci_high)}]: gap {gap:+.1%}{agreed_txt}; "
            f"{_pct(r.share)} of the labels; the labels are fine, the model is behind"
        )
        out.append(
            Recommendation(
                "model work",
                f"class {r[1]}",
                evidence,
                ctx.alpha,
                ctx.alpha,
                float(r.share),
                max(gap, 0.0) * float(r.share),
                classes=[r[1]],
                example_items=ctx.examples(classes=[r[1]]),
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
    df = pd.DataFrame([asdict(r) for r in rows], columns=COLUMNS)
    return df[COLUMNS]
