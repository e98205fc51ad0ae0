"""Recommendations: planted problems come out first, alpha_after is exact where promised.

Each planted dataset (see ``recommend_data.py``) carries one problem whose
right recommendation is known; the clean one carries none. Exact figures are
checked against the ``krippendorff`` package on the transformed data (merged
classes, items set aside, a labeler's rows removed), and the example items
against a plain pandas ranking of the most disputed items.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import krippendorff
import numpy as np
import pandas as pd
import pytest
import recommend_data as rd

from consistency.analysis import (
    AnalysisOptions,
    analyze,
    class_table,
    recommend_context,
    recommendations_table,
)
from consistency.cli import main
from consistency.engine import profile, profile_from_rows
from consistency.metrics.alpha import alpha
from consistency.metrics.classes import per_class
from consistency.recommend import (
    ACTIONS,
    COLUMNS,
    RULES,
    Context,
    Thresholds,
    clarify_alpha_after,
    fix_slice_input,
    merge_classes,
    model_work,
    recommend,
)
from consistency.sample import import_sample
from consistency.store import Store, ViewFilter

OPTIONS = AnalysisOptions(n_boot=200)
DOCS = Path(__file__).resolve().parents[1] / "docs" / "recommendations.md"
CLEAN_SEEDS = (1, 2)


# ---- fixtures ----------------------------------------------------------------
@pytest.fixture(scope="module")
def planted(tmp_path_factory) -> tuple[Store, dict[str, rd.Planted]]:
    """One store holding every planted dataset and the clean ones."""
    store = Store(tmp_path_factory.mktemp("planted") / "planted.duckdb")
    data = {name: make() for name, make in rd.PLANTED.items()}
    data.update({f"clean{seed}": rd.clean(seed) for seed in CLEAN_SEEDS})
    for name, p in data.items():
        p.import_into(store, name)
    return store, data


@pytest.fixture(scope="module")
def contexts(planted) -> dict[str, Context]:
    """The figures the rules read, for every planted dataset, computed once."""
    store, data = planted
    return {name: recommend_context(store, name, None, OPTIONS) for name in data}


@pytest.fixture(scope="module")
def recs(contexts) -> dict[str, pd.DataFrame]:
    """Every row of every planted dataset, even those below the threshold (min_score 0)."""
    return {name: recommend(ctx, Thresholds(min_score=0.0)) for name, ctx in contexts.items()}


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Store:
    store = Store(tmp_path_factory.mktemp("sample") / "sample.duckdb")
    import_sample(store)
    return store


@pytest.fixture(scope="module")
def sample_recs(sample) -> dict[str, pd.DataFrame]:
    return {
        "latest": recommendations_table(sample, "inspection", None, OPTIONS),
        "round 1": recommendations_table(sample, "inspection", ViewFilter(rounds=("1",)), OPTIONS),
    }


# ---- oracles -------------------------------------------------------------------
def kripp(long: pd.DataFrame) -> float:
    """Nominal alpha of a long table by the krippendorff package (per-item value counts)."""
    counts = pd.crosstab(long["item_id"], long["label"]).to_numpy()
    return float(krippendorff.alpha(value_counts=counts, level_of_measurement="nominal"))


def no_winner_items(long: pd.DataFrame, top_share: float) -> pd.Series:
    """Items with two labels or more whose most frequent label holds at most ``top_share``."""
    counts = pd.crosstab(long["item_id"], long["label"])
    m = counts.sum(axis=1)
    return pd.Series(((m >= 2) & (counts.max(axis=1) <= top_share * m)), index=counts.index)


def most_disputed(long: pd.DataFrame, n: int = 20) -> list[str]:
    """Item ids by disagreement (share of differing label pairs) desc, top share asc, id."""
    counts = pd.crosstab(long["item_id"], long["label"])
    m = counts.sum(axis=1)
    same = (counts * (counts - 1)).sum(axis=1)
    t = pd.DataFrame(
        {
            "item_id": counts.index.to_numpy(),
            "dis": (1 - same / (m * (m - 1))).to_numpy(),
            "top": (counts.max(axis=1) / m).to_numpy(),
        }
    )
    t = t[m.to_numpy() >= 2].sort_values(["dis", "top", "item_id"], ascending=[False, True, True])
    return t["item_id"].head(n).tolist()


def row(df: pd.DataFrame, action: str, target: str) -> pd.Series:
    hit = df[(df["action"] == action) & (df["target"] == target)]
    assert len(hit) == 1, f"no single row {action}: {target} in\n{df[['action', 'target']]}"
    return hit.iloc[0]


def shown(df: pd.DataFrame) -> pd.DataFrame:
    """The rows the default threshold shows."""
    return df[df["score"] >= Thresholds().min_score]


# ---- planted problems ----------------------------------------------------------
@pytest.mark.parametrize("name", list(rd.PLANTED))
def test_the_planted_problem_ranks_first(recs, planted, name):
    expected = planted[1][name].expected
    top = recs[name].iloc[0]
    assert (top["action"], top["target"]) == expected
    assert top["rank"] == 1 and top["score"] >= Thresholds().min_score


@pytest.mark.parametrize("name", list(rd.PLANTED))
def test_the_planted_action_has_no_false_targets(recs, planted, name):
    action, target = planted[1][name].expected
    targets = set(recs[name].loc[recs[name]["action"] == action, "target"])
    allowed = {target, "for class scratch"} if name == "uncertain" else {target}
    assert targets <= allowed and target in targets


def test_swapped_classes_are_not_an_uncertain_tag_nor_a_clarification(recs):
    actions = set(recs["merge"]["action"])
    assert "add an uncertain tag" not in actions
    assert "clarify instructions" not in actions


def test_a_class_split_over_every_class_gets_the_uncertain_tag_not_a_clarification(recs):
    df = recs["uncertain"]
    assert "clarify instructions" not in set(df["action"])
    assert "merge classes" not in set(df["action"])
    row(df, "add an uncertain tag", "for class scratch")


def test_a_class_labeled_at_random_is_no_merge(recs):
    assert "merge classes" not in set(recs["clarify"]["action"])


@pytest.mark.parametrize("seed", CLEAN_SEEDS)
def test_clean_data_gives_no_row_above_the_threshold(recs, seed):
    df = recs[f"clean{seed}"]
    assert (df["score"] < Thresholds().min_score).all(), df[["action", "target", "score"]]


def test_the_default_table_leaves_out_rows_below_the_threshold(contexts, recs):
    for name, ctx in contexts.items():
        df = recommend(ctx)
        assert list(df.columns) == COLUMNS
        assert df["target"].tolist() == shown(recs[name])["target"].tolist()
    assert recommend(contexts["clean1"]).empty


# ---- exact figures ---------------------------------------------------------------
def test_merge_alpha_after_is_alpha_of_the_merged_labels(recs, planted):
    long = planted[1]["merge"].annotations
    r = row(recs["merge"], "merge classes", "dent + scratch")
    merged = long.assign(label=long["label"].replace({"scratch": "dent"}))
    assert r["alpha_before"] == pytest.approx(kripp(long), abs=1e-9)
    assert r["alpha_after"] == pytest.approx(kripp(merged), abs=1e-9)
    assert r["classes"] == ["dent", "scratch"]


def test_merge_share_is_the_two_classes_share_of_pairable_values(recs, planted):
    long = planted[1]["merge"].annotations
    m = long.groupby("item_id")["label"].transform("size")
    pairable = long[m >= 2]
    share = pairable["label"].isin(["dent", "scratch"]).mean()
    r = row(recs["merge"], "merge classes", "dent + scratch")
    assert r["share"] == pytest.approx(share, abs=1e-12)
    assert r["score"] == pytest.approx((r["alpha_after"] - r["alpha_before"]) * share)


@pytest.mark.parametrize("target", ["globally", "for class scratch"])
def test_uncertain_alpha_after_is_alpha_with_the_items_set_aside(recs, planted, target):
    long = planted[1]["uncertain"].annotations
    aside = no_winner_items(long, Thresholds().uncertain_max_top_share)
    if target != "globally":
        has = long[long["label"] == "scratch"]["item_id"].unique()
        aside &= aside.index.isin(has)
    r = row(recs["uncertain"], "add an uncertain tag", target)
    kept = long[~long["item_id"].isin(aside[aside].index)]
    assert r["alpha_after"] == pytest.approx(kripp(kept), abs=1e-9)
    m = long.groupby("item_id").size()
    assert r["share"] == pytest.approx(aside.sum() / (m >= 2).sum(), abs=1e-12)


def test_review_alpha_after_is_alpha_without_the_labelers_rows(recs, planted):
    long = planted[1]["labeler"].annotations
    r = row(recs["labeler"], "review labeler", "labeler lab_3")
    assert r["alpha_after"] == pytest.approx(kripp(long[long["labeler_id"] != "lab_3"]), abs=1e-9)
    assert r["share"] == pytest.approx((long["labeler_id"] == "lab_3").mean(), abs=1e-12)
    assert r["labeler_id"] == "lab_3"
    assert "agreement with others" in r["evidence"] and "gold accuracy" in r["evidence"]


def test_fix_input_estimates_alpha_after_as_the_rests_alpha(recs, planted):
    p = planted[1]["slice"]
    long = p.long_table()
    r = row(recs["slice"], "fix the input", "camera = cam_C")
    assert r["alpha_after"] == pytest.approx(kripp(long[long["camera"] != "cam_C"]), abs=1e-9)
    assert r["alpha_before"] == pytest.approx(kripp(long), abs=1e-9)
    assert r["share"] == pytest.approx((p.items["camera"] == "cam_C").mean(), abs=1e-12)
    assert r["slice"] == "camera=cam_C"


def test_model_work_scores_the_hlp_gap_and_leaves_alpha(recs, planted):
    store, _ = planted
    r = row(recs["model"], "model work", "class crack")
    c = class_table(store, "model", None, OPTIONS).set_index("class").loc["crack"]
    assert r["alpha_after"] == r["alpha_before"]
    assert r["share"] == pytest.approx(c["label_share"])
    assert r["score"] == pytest.approx((c["hlp"] - c["model_accuracy"]) * c["label_share"])
    assert f"right {c['model_accuracy_agreed']:.0%}" in r["evidence"]


def test_clarify_estimate_resolves_half_the_disagreement_involving_the_class(recs, planted):
    r = row(recs["clarify"], "clarify instructions", "class scratch")
    long = planted[1]["clarify"].annotations
    # independent: D_o and D_o(scratch) as counts of differing ordered label pairs per item
    d_o = d_c = 0.0
    for _, g in long.groupby("item_id")["label"]:
        labels = g.tolist()
        m = len(labels)
        if m < 2:
            continue
        for i, a in enumerate(labels):
            for j, b in enumerate(labels):
                if i != j and a != b:
                    d_o += 1 / (m - 1)
                    d_c += (a == "scratch" or b == "scratch") / (m - 1)
    before = kripp(long)
    # alpha = 1 - D_o / D_e', so resolving half of D_o(c) gives 1 - (D_o - D_c / 2) / D_e'
    expected = 1 - (1 - before) * (d_o - 0.5 * d_c) / d_o
    assert r["alpha_after"] == pytest.approx(expected, abs=1e-9)


def test_clarify_estimate_bounds():
    p = profile_from_rows(
        [("a", "x"), ("a", "y"), ("b", "x"), ("b", "x"), ("c", "y"), ("c", "z"), ("d", "z")]
        + [("d", "z"), ("e", "y"), ("e", "y")]
    )
    ctx = Context(p, "nominal", alpha(p), per_class(p), pd.DataFrame())
    assert clarify_alpha_after(ctx, "x", 0.0) == pytest.approx(alpha(p), abs=1e-12)
    # every disagreement involves y: resolving all of it gives perfect agreement
    assert clarify_alpha_after(ctx, "y", 1.0) == pytest.approx(1.0, abs=1e-12)


# ---- example items and ranking ----------------------------------------------------
@pytest.mark.parametrize(
    ("name", "action", "target"),
    [
        ("clarify", "clarify instructions", "class scratch"),
        ("merge", "merge classes", "dent + scratch"),
        ("labeler", "review labeler", "labeler lab_3"),
        ("slice", "fix the input", "camera = cam_C"),
    ],
)
def test_example_items_are_the_most_disputed_of_the_target(recs, planted, name, action, target):
    p = planted[1][name]
    long = p.long_table()
    if action == "review labeler":
        mine = long.loc[long["labeler_id"] == "lab_3", "item_id"]
        scope = long[long["item_id"].isin(mine)]
    elif action == "fix the input":
        scope = long[long["camera"] == "cam_C"]
    else:
        classes = target.removeprefix("class ").split(" + ")
        scope = long[long["item_id"].isin(long.loc[long["label"].isin(classes), "item_id"])]
    r = row(recs[name], action, target)
    assert r["example_items"] == most_disputed(scope)
    assert len(r["example_items"]) == 20


def test_rows_are_ranked_by_score(recs):
    assert sum(len(df) for df in recs.values()) > len(recs)
    for df in recs.values():
        assert df["rank"].tolist() == list(range(1, len(df) + 1))
        assert df["score"].is_monotonic_decreasing
        labels = df[df["action"] != "model work"]
        if len(labels):
            gain = (labels["alpha_after"] - labels["alpha_before"]).clip(lower=0)
            np.testing.assert_allclose(labels["score"], gain * labels["share"], atol=1e-12)


def test_every_row_has_the_documented_columns_and_values(recs):
    for df in recs.values():
        assert list(df.columns) == COLUMNS
        assert set(df["action"]) <= set(ACTIONS)
        assert ((df["share"] > 0) & (df["share"] <= 1)).all()
        assert df["example_items"].map(len).le(20).all()


def test_rules_can_be_chosen_and_the_threshold_raised(contexts):
    ctx = contexts["merge"]
    only = recommend(ctx, rules=(merge_classes,))
    assert set(only["action"]) == {"merge classes"}
    assert recommend(ctx, Thresholds(min_score=1.0)).empty
    assert len(RULES) == len(ACTIONS)


# ---- the rules alone, on hand-made figures --------------------------------------------
def _ctx(**tables: pd.DataFrame) -> Context:
    p = profile_from_rows([("a", "x"), ("a", "x"), ("b", "x"), ("b", "y")])
    return Context(p, "nominal", 0.5, per_class(p), pd.DataFrame(), **tables)


def _hlp(agreed: float, hlp: float = 0.9, others: float = 0.9) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "class": ["x", "y", "z"],
            "hlp": [hlp, others, others],
            "hlp_ci_low": [hlp - 0.02, others - 0.02, others - 0.02],
            "hlp_ci_high": [hlp + 0.02, others + 0.02, others + 0.02],
            "model_accuracy": [0.6, 0.9, 0.9],
            "model_accuracy_ci_low": [0.55, 0.85, 0.85],
            "model_accuracy_ci_high": [0.65, 0.95, 0.95],
            "model_accuracy_agreed": [agreed, 0.95, 0.95],
            "share": [0.2, 0.4, 0.4],
        }
    )


@pytest.mark.parametrize(
    ("agreed", "hlp", "rows"),
    [
        (0.62, 0.9, 1),  # weak where people agree too: model work
        (0.88, 0.9, 0),  # fine where people agree: noisy labels pull its figure down
        (float("nan"), 0.9, 0),  # unknown: no row
        (0.30, 0.7, 0),  # people disagree on x far more than on the others: labels first
    ],
)
def test_model_work_needs_weakness_where_people_agree(agreed, hlp, rows):
    out = model_work(_ctx(hlp=_hlp(agreed, hlp)), Thresholds())
    assert len(out) == rows
    if rows:
        assert out[0].target == "class x"
        assert out[0].score == pytest.approx((0.9 - 0.6) * 0.2)


def _slices(alpha_: float, ci_high: float, rest: float, rest_low: float) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "field": "camera",
                "value": "cam_C",
                "pairable_items": 100,
                "items_share": 0.25,
                "alpha": alpha_,
                "ci_low": alpha_ - 0.05,
                "ci_high": ci_high,
                "rest_alpha": rest,
                "rest_ci_low": rest_low,
                "rest_ci_high": rest + 0.05,
            }
        ]
    )


@pytest.mark.parametrize(
    ("values", "rows"),
    [
        ((0.30, 0.35, 0.60, 0.55), 1),
        ((0.30, 0.56, 0.60, 0.55), 0),  # the intervals overlap
        ((0.50, 0.53, 0.60, 0.55), 0),  # apart, but less than slice_min_gap below
    ],
)
def test_fix_input_needs_separate_intervals_and_a_clear_gap(values, rows):
    out = fix_slice_input(_ctx(slices=_slices(*values)), Thresholds())
    assert len(out) == rows
    if rows:
        assert (out[0].alpha_after, out[0].share) == (0.60, 0.25)
        assert out[0].score == pytest.approx((0.60 - 0.5) * 0.25)


def test_no_figures_no_rows():
    p = profile_from_rows([("a", "x"), ("a", "x")])
    ctx = Context(p, "nominal", float("nan"), per_class(p), pd.DataFrame())
    df = recommend(ctx)
    assert list(df.columns) == COLUMNS and df.empty


# ---- the sample data ------------------------------------------------------------------
def _targets(df: pd.DataFrame) -> set[tuple[str, str]]:
    return set(zip(df["action"], df["target"], strict=True))


def test_sample_planted_problems_come_out(sample_recs):
    got = _targets(sample_recs["latest"])
    assert {
        ("fix the input", "camera = cam_C"),
        ("model work", "class crack"),
        ("review labeler", "labeler insp_07"),
        ("merge classes", "scratch_deep + scratch_light"),
    } <= got
    # nothing about what the README calls healthy
    assert not [t for t in got if t[0] == "fix the input" and t[1] != "camera = cam_C"]
    assert not [t for t in got if t[0] == "review labeler" and t[1] != "labeler insp_07"]
    assert not [t for t in got if t[0] == "model work" and t[1] != "class crack"]


def test_sample_round_1_asks_to_clarify_discoloration_and_round_2_fixed_it(sample_recs):
    first = _targets(sample_recs["round 1"])
    assert {
        ("clarify instructions", "class discoloration"),
        ("clarify instructions", "class stain"),
    } <= first
    latest = _targets(sample_recs["latest"])
    assert ("clarify instructions", "class discoloration") not in latest
    r = row(sample_recs["round 1"], "clarify instructions", "class discoloration")
    assert r["alpha_after"] > r["alpha_before"]
    assert re.search(r"main partners: ok \(\d+%\), stain", r["evidence"])


def test_sample_round_2_shows_the_discoloration_gain(sample):
    """On the relabeled images, discoloration's specific agreement rises in round 2."""
    second = sample.annotations("inspection", ViewFilter(rounds=("2",)))
    first = sample.annotations("inspection", ViewFilter(rounds=("1",)))
    first = first.semi_join(second.select("item_id").distinct(), "item_id")

    def agreement(t) -> float:
        pc = per_class(profile(t)).set_index("class")
        return float(pc.loc["discoloration", "specific_agreement"])

    before, after = agreement(first), agreement(second)
    assert after - before > 0.2, (before, after)


# ---- the command line and the JSON ---------------------------------------------------------
def test_cli_recommend_prints_the_ranked_rows(tmp_path, planted, capsys):
    path = tmp_path / "labels.csv"
    planted[1]["labeler"].long_table().to_csv(path, index=False)
    assert main(["recommend", str(path), "--bootstrap", "200", "--top", "1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert re.fullmatch(
        r"1\. review labeler: labeler lab_3  \(alpha 0\.\d{3} -> 0\.\d{3}, \d+% of data, "
        r"score 0\.\d{4}\)",
        out[0],
    )
    assert out[1].startswith("   agreement with others")
    assert len(out) == 2


def test_cli_recommend_writes_the_table_as_csv(tmp_path, planted, capsys):
    path = tmp_path / "labels.csv"
    planted[1]["slice"].long_table().to_csv(path, index=False)
    out = tmp_path / "recs.csv"
    assert main(["recommend", str(path), "--bootstrap", "200", "--out", str(out)]) == 0
    df = pd.read_csv(out)
    assert list(df.columns) == COLUMNS
    assert (df.iloc[0]["action"], df.iloc[0]["target"]) == ("fix the input", "camera = cam_C")
    assert capsys.readouterr().out.strip() == f"wrote {len(df)} recommendations to {out}"


def test_analyze_json_carries_the_recommendations(planted):
    store, _ = planted
    result = analyze(store, "model", None, OPTIONS)
    recs = result["recommendations"]
    assert recs and set(recs[0]) == set(COLUMNS)
    assert (recs[0]["rank"], recs[0]["action"], recs[0]["target"]) == (
        1,
        "model work",
        "class crack",
    )


# ---- docs ------------------------------------------------------------------------------------
def test_every_threshold_and_action_is_documented():
    text = DOCS.read_text(encoding="utf-8")
    for f in dataclasses.fields(Thresholds):
        assert re.search(rf"`{f.name}`\s*\|\s*{re.escape(str(f.default))}\s*\|", text), f.name
    for action in ACTIONS:
        assert f"**{action}**" in text, action
