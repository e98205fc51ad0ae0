"""The Streamlit-free side of the Overview, Classes, Confusion and Recommendations pages."""

from __future__ import annotations

import html
import json
import math
import string

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from consistency.analysis import dataset_profile
from consistency.engine import profile_from_rows
from consistency.metrics.alpha import alpha
from consistency.metrics.classes import per_class
from consistency.planner import OVERLAP_COLUMNS, PER_CLASS_COLUMNS, OverlapPlan
from consistency.relabel import TaskShape
from consistency.store import Store, ViewFilter
from consistency.ui import classes, confusion, fmt, overview, recommendations
from consistency.ui.state import View

ALL = ViewFilter(rounds=("*",))


def hlp_row(cls: str, hlp: float | None, model: float | None, share: float, **more: object) -> dict:
    gap = None if hlp is None or model is None else hlp - model
    return {
        "class": cls,
        "hlp": hlp,
        "hlp_ci_low": None if hlp is None else hlp - 0.05,
        "hlp_ci_high": None if hlp is None else hlp + 0.05,
        "model_accuracy": model,
        "model_accuracy_ci_low": None if model is None else model - 0.04,
        "model_accuracy_ci_high": None if model is None else model + 0.04,
        "gap": gap,
        "priority": None if gap is None else max(gap, 0) * share,
        "label_share": share,
        "share": share,
        **more,
    }


# ---- overview -----------------------------------------------------------------------------
#: CommonMark, as Streamlit renders it (tables and strikethrough as in GitHub's flavour).
COMMONMARK = MarkdownIt("commonmark").enable(["table", "strikethrough"])


def test_md_escapes_streamlit_directives_and_keeps_ids_readable() -> None:
    assert fmt.md("cam_C: 0.52 [a](b) $x$ :smile: :red[y]") == (
        "cam_C: 0.52 \\[a\\](b) \\$x\\$ \\:smile: \\:red\\[y\\]"
    )


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet=string.ascii_letters + string.digits + string.punctuation + " ", max_size=30)
    .map(str.strip)
    .filter(bool)
)
def test_md_renders_any_text_as_typed(text: str) -> None:
    rendered = COMMONMARK.render(fmt.md(text))
    assert rendered.startswith("<p>") and rendered.endswith("</p>\n")
    inner = rendered[3:-5]
    assert "<" not in inner  # no tag: no emphasis, link, code, heading or list
    assert html.unescape(inner) == text


@pytest.mark.parametrize(
    ("message", "expected"),
    [("class 'x' not found", "Class 'x' not found."), ("Done.", "Done."), ("", "")],
)
def test_sentence_case(message: str, expected: str) -> None:
    assert overview.sentence_case(message) == expected


def test_agreement_figures_with_fleiss_defined() -> None:
    result = {
        "alpha": {"level": "ordinal", "value": 0.5, "ci_low": None, "ci_high": None},
        "fleiss_kappa": 0.4567,
        "gwet_ac1": None,
        "percent_agreement": 0.9,
    }
    figures = overview.agreement_figures(result)
    assert [(f.label, f.value) for f in figures] == [
        ("Krippendorff's alpha (ordinal)", "0.50"),
        ("Fleiss' kappa", "0.46"),
        ("Gwet's AC1", "—"),
        ("Percent agreement", "90%"),
    ]
    assert figures[0].help is not None and "at the ordinal level" in figures[0].help


def test_labels_per_item_and_rounds_figures() -> None:
    assert overview.labels_per_item_figure({}).value == "—"
    assert overview.labels_per_item_figure({2: 1, 4: 3}).help == (
        "3.5 on average: 1 item with 2, 3 items with 4."
    )
    view = View(dataset="d", round="all")
    assert overview.rounds_figure(["1", "2", "3"], view).help == (
        "Rounds 1, 2, 3. This view: all rounds pooled."
    )
    assert overview.rounds_figure([], view).value == "0"


def test_top_recommendations_takes_the_first_three() -> None:
    recs = [{"rank": i} for i in range(1, 6)]
    assert [r["rank"] for r in overview.top_recommendations({"recommendations": recs})] == [1, 2, 3]
    assert overview.top_recommendations({"recommendations": None}) == []


def test_item_votes_in_the_order_asked(store: Store) -> None:
    votes = overview.item_votes(store, "defects", ALL, ("c", "zz", "a"))
    assert votes.to_dict("records") == [
        {"item_id": "c", "votes": "crack: 4, dent: 1", "labels": 5},
        {"item_id": "zz", "votes": "", "labels": 0},
        {"item_id": "a", "votes": "dent: 2, crack: 1", "labels": 3},
    ]


def test_item_link_keeps_dataset_and_filters() -> None:
    view = View(dataset="d", page="classes", cls="x", round="2")
    assert overview.item_link(view, "img 1") == "/Items?dataset=d&item=img+1&round=2"


@pytest.mark.parametrize(
    ("state", "values", "expected"),
    [
        ({"selection": {"rows": [0]}}, ("a", "b"), (True, "a")),
        ({"selection": {"rows": []}}, ("a", "b"), (False, None)),
        ({"selection": {"rows": [5]}}, ("a", "b"), (False, None)),
        ({"selection": {"points": [{"customdata": "x"}]}}, None, (True, "x")),
        ({"selection": {"points": []}}, None, (False, None)),
        (None, None, (False, None)),
    ],
)
def test_selected_value(state: dict | None, values: tuple | None, expected: tuple) -> None:
    assert overview.selected_value(state, values) == expected


# ---- classes: agreement ---------------------------------------------------------------------
def test_specific_agreement_intervals_bracket_the_estimate() -> None:
    rows = [(f"u{i}", lab) for i in range(30) for lab in ("x", "x", "y" if i % 3 else "x")]
    rows += [("solo", "z")]
    p = profile_from_rows(rows)
    got = classes.specific_agreement_intervals(p, n_boot=300, seed=1)
    assert got["class"].tolist() == ["x", "y", "z"]
    estimates = per_class(p).set_index("class")["specific_agreement"]
    for r in got.itertuples():
        if r[1] == "z":  # never paired: undefined in every draw
            assert math.isnan(r.ci_low) and math.isnan(r.ci_high)
        else:
            assert r.ci_low <= estimates[r[1]] <= r.ci_high
    again = classes.specific_agreement_intervals(p, n_boot=300, seed=1)
    pd.testing.assert_frame_equal(got, again)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 8), st.sampled_from("abc")), min_size=1, max_size=40))
def test_specific_agreement_intervals_are_ordered_shares(rows: list[tuple[int, str]]) -> None:
    p = profile_from_rows([(f"i{u}", lab) for u, lab in rows])
    got = classes.specific_agreement_intervals(p, n_boot=50)
    assert got["class"].tolist() == list(p.labels)
    ok = got.dropna()
    assert ((ok["ci_low"] >= 0) & (ok["ci_low"] <= ok["ci_high"]) & (ok["ci_high"] <= 1)).all()


def test_agreement_frame_lowest_agreement_first() -> None:
    result = {
        "per_class": [
            {"class": "a", "items": 5, "share": 0.5, "specific_agreement": 0.9,
             "alpha_one_vs_rest": 0.8, "main_partners": [["b", 1.0]], "notes": []},
            {"class": "b", "items": 3, "share": 0.3, "specific_agreement": 0.4,
             "alpha_one_vs_rest": 0.3, "main_partners": [["a", 0.75], ["c", 0.25]],
             "notes": [{"code": "few_units", "severity": "warning", "message": "m"}]},
            {"class": "c", "items": 1, "share": 0.2, "specific_agreement": None,
             "alpha_one_vs_rest": None, "main_partners": [], "notes": []},
        ]
    }  # fmt: skip
    intervals = pd.DataFrame({"class": ["b"], "ci_low": [0.3], "ci_high": [0.5]})
    frame = classes.agreement_frame(result, intervals)
    assert tuple(frame.columns) == classes.AGREEMENT_COLUMNS
    records = frame.to_dict("records")
    assert math.isnan(records[2].pop("alpha one-vs-rest"))
    assert records == [
        {"class": "b", "items": 3, "% of labels": 30.0, "specific agreement": "0.40 [0.30, 0.50]",
         "alpha one-vs-rest": 0.3, "most confused with": "a (75%)", "notes": "few units"},
        {"class": "a", "items": 5, "% of labels": 50.0, "specific agreement": "0.90",
         "alpha one-vs-rest": 0.8, "most confused with": "b (100%)", "notes": ""},
        {"class": "c", "items": 1, "% of labels": 20.0, "specific agreement": "—",
         "most confused with": "", "notes": ""},
    ]  # fmt: skip


def test_agreement_frame_of_an_empty_view() -> None:
    assert classes.agreement_frame({"per_class": []}).empty


# ---- classes: people against the model ----------------------------------------------------------
def test_hlp_frame_highest_priority_first() -> None:
    result = {
        "per_class": [
            hlp_row("ok", 0.8, 0.9, 0.6),
            hlp_row("crack", 0.7, 0.5, 0.1),
            hlp_row("dent", 0.6, 0.55, 0.3),
            hlp_row("pit", 0.5, None, 0.0),
        ]
    }
    frame = classes.hlp_frame(result)
    assert tuple(frame.columns) == classes.HLP_COLUMNS
    assert frame["class"].tolist() == ["crack", "dent", "ok", "pit"]
    first = frame.iloc[0]
    assert (first["model accuracy"], first["HLP"], first["gap"]) == (
        "50% [46%, 54%]",
        "70% [65%, 75%]",
        "+20%",
    )
    assert first["% of data"] == pytest.approx(10.0)
    assert first["priority"] == pytest.approx(0.02)
    assert frame.iloc[3]["model accuracy"] == "—"
    assert classes.has_model(result)
    assert not classes.has_model({"per_class": [hlp_row("pit", 0.5, None, 1.0)]})


def test_hlp_chart_diagonal_groups_and_chosen_class() -> None:
    result = {
        "per_class": [
            hlp_row("ok", 0.8, 0.9, 0.6),
            hlp_row("crack", 0.7, 0.5, 0.1),
            hlp_row("pit", 0.5, None, 0.3),
        ]
    }
    spec = json.loads(classes.hlp_chart(result, selected="crack").to_json())
    diagonal, behind, level = spec["data"]
    assert diagonal["x"] == diagonal["y"]
    assert behind["customdata"] == [["crack"]] and behind["marker"]["line"]["width"] == [3]
    assert level["customdata"] == [["ok"]] and level["marker"]["line"]["width"] == [1]
    assert behind["marker"]["size"][0] < level["marker"]["size"][0]  # sized by share of data
    assert spec["layout"]["xaxis"]["tickformat"] == ".0%"
    assert classes.hlp_chart({"per_class": [hlp_row("pit", 0.5, None, 1.0)]}).data == ()


def test_label_positions_alternate_along_the_x_axis() -> None:
    rows = [{"class": c, "model_accuracy": x} for c, x in (("a", 0.3), ("b", 0.1), ("c", 0.2))]
    assert classes.label_positions(rows) == {
        "b": "top center",
        "c": "bottom center",
        "a": "top center",
    }


# ---- classes: one class ------------------------------------------------------------------------
def test_class_row_and_partners() -> None:
    row = {"class": "x", "main_partners": [["y", 0.6], ["z z", 0.4]]}
    assert classes.class_row({"per_class": [row]}, "x") == row
    assert classes.class_row({"per_class": [row]}, "w") is None
    partners = classes.partners_frame(row, View(dataset="d", page="classes", cls="x"))
    assert partners.to_dict("records") == [
        {"class": "y", "% of its disagreement": 60.0, "pair": "/Confusion?dataset=d&pair=x&pair=y"},
        {
            "class": "z z",
            "% of its disagreement": 40.0,
            "pair": "/Confusion?dataset=d&pair=x&pair=z+z",
        },
    ]


def test_disputed_items_of_a_class(store: Store) -> None:
    latest = classes.disputed(store, "defects", ViewFilter(), "dent")
    assert latest["item_id"].tolist() == ["a"]  # in round 2, item c has no dent any more
    assert list(latest.columns) == ["item_id", "disagreement", "top_share"]
    pooled = classes.disputed(store, "defects", ALL, "dent")
    assert sorted(pooled["item_id"]) == ["a", "c"]
    assert classes.disputed(store, "defects", ALL, "ok").empty  # b is unanimous


def test_class_figures_read_the_row() -> None:
    row = hlp_row("crack", 0.7, 0.5, 0.1, items=12, specific_agreement=0.71,
                  alpha_one_vs_rest=0.6, model_accuracy_agreed=None)  # fmt: skip
    intervals = pd.DataFrame({"class": ["crack"], "ci_low": [0.6], "ci_high": [0.8]})
    shown = {f.label: f.value for f in classes.class_figures(row, intervals)}
    assert shown == {
        "Items": "12",
        "Specific agreement": "0.71 [0.60, 0.80]",
        "Alpha one-vs-rest": "0.60",
        "HLP": "70% [65%, 75%]",
        "Model accuracy": "50% [46%, 54%]",
        "Model where people agree": "—",
    }


# ---- classes: the planner ------------------------------------------------------------------------
def test_items_plan_sentence_for_a_class_already_precise() -> None:
    need = {
        "target": "specific_agreement:dent",
        "value": 0.61,
        "ci_low": 0.58,
        "ci_high": 0.64,
        "ci_width_now": 0.06,
        "ci_width_goal": 0.1,
        "items_now": 300,
        "items_to_add": 0,
    }
    assert classes.items_plan_sentence(need) == (
        "The specific agreement of dent is 0.61 [0.58, 0.64], an interval 0.060 wide, on "
        "300 pairable items. It is already narrower than 0.1: no items to add."
    )


def test_items_plan_on_a_view(store: Store) -> None:
    need = classes.items_plan(store, "defects", ALL, 0.05, None, "nominal", 200)
    assert need["target"] == "alpha"
    assert need["items_to_add"] > 0


def overlap() -> OverlapPlan:
    table = pd.DataFrame([(1, 0.7, 0.72), (2, 0.71, 0.8)], columns=list(OVERLAP_COLUMNS))
    per = pd.DataFrame(
        [(1, "a", 0.9, 0.91), (1, "b", 0.5, 0.53), (2, "a", 0.92, 0.95), (2, "b", 0.5, 0.6)],
        columns=list(PER_CLASS_COLUMNS),
    )
    return OverlapPlan(table, per, draws=10, seed=0)


def test_overlap_frame_overall_and_for_a_class() -> None:
    assert classes.overlap_frame(overlap()).round(1).to_dict("list") == {
        "labels per item": [1, 2],
        "majority vote": [70.0, 71.0],
        "Dawid–Skene": [72.0, 80.0],
    }
    frame = classes.overlap_frame(overlap(), "b").round(1)
    assert frame["majority vote (b)"].tolist() == [50.0, 50.0]
    assert frame["Dawid–Skene (b)"].tolist() == [53.0, 60.0]
    assert list(classes.overlap_frame(overlap(), "zz").columns) == [
        "labels per item",
        "majority vote",
        "Dawid–Skene",
    ]


def test_overlap_chart_dashes_the_class() -> None:
    spec = json.loads(classes.overlap_chart(overlap(), "a").to_json())
    assert [(t["name"], t["line"]["dash"]) for t in spec["data"]] == [
        ("majority vote (all classes)", "solid"),
        ("Dawid–Skene (all classes)", "solid"),
        ("majority vote (a)", "dash"),
        ("Dawid–Skene (a)", "dash"),
    ]


def test_overlap_plan_stops_at_the_number_of_labelers(store: Store) -> None:
    plan = classes.overlap_plan(store, "defects", ALL, 200)
    assert plan.table["labels_per_item"].tolist() == [1, 2, 3]


# ---- confusion ------------------------------------------------------------------------------------
def test_confusion_view_and_pairs(store: Store) -> None:
    summary = confusion.confusion_view(store, "defects", ViewFilter())
    assert summary["classes"] == ["crack", "dent", "ok"]
    assert confusion.has_pairs(summary)
    pairs = confusion.pairs_frame(summary)
    assert tuple(pairs.columns) == confusion.PAIR_COLUMNS
    assert (pairs.iloc[0]["class a"], pairs.iloc[0]["class b"]) == ("crack", "dent")
    assert pairs.iloc[0]["a → b"] == pytest.approx(100 * summary["top_pairs"][0]["rate_a_to_b"])


def test_matrix_frame_normalized_rows_and_columns_sum_to_one() -> None:
    summary = {"classes": ["a", "b", "c"], "counts": [[4, 2, 0], [2, 2, 1], [0, 1, 0]]}
    counts = confusion.matrix_frame(summary)
    assert counts.loc["a", "b"] == 2
    rows = confusion.matrix_frame(summary, "row")
    np.testing.assert_allclose(rows.sum(axis=1), 1.0)
    columns = confusion.matrix_frame(summary, "column")
    np.testing.assert_allclose(columns.sum(axis=0), 1.0)


def test_heatmap_greys_the_diagonal_and_outlines_the_pair() -> None:
    summary = {"classes": ["a", "b"], "counts": [[4.0, 2.5], [2.5, 0.0]]}
    fig = confusion.heatmap(confusion.matrix_frame(summary), "count", ("b", "a"))
    spec = json.loads(fig.to_json())
    heat = spec["data"][0]
    assert heat["text"] == [["4", "2.5"], ["2.5", "0"]]
    assert len(spec["layout"]["shapes"]) == 2
    diagonal = np.asarray(fig.data[0].z, dtype=float)
    assert np.isnan(diagonal[0, 0]) and diagonal[0, 1] == 2.5
    assert confusion.heatmap(confusion.matrix_frame(summary), "row").layout.shapes == ()


def test_pair_merge_is_alpha_with_the_two_classes_as_one(store: Store) -> None:
    merge = confusion.pair_merge(store, "defects", ALL, "crack", "dent", "nominal")
    p = dataset_profile(store, "defects", ALL)
    assert merge["alpha_now"] == pytest.approx(alpha(p))
    assert merge["alpha_after"] == pytest.approx(alpha(p.merge("crack", "dent")))
    assert 0 < merge["rate_a_to_b"] < 1 and 0 < merge["rate_b_to_a"] < 1


def test_pair_items_hold_both_labels(store: Store) -> None:
    assert sorted(confusion.pair_items(store, "defects", ALL, "crack", "dent")) == ["a", "c"]
    assert confusion.pair_items(store, "defects", ALL, "ok", "dent") == []


def test_pair_figures_name_both_directions() -> None:
    merge = {"alpha_now": 0.5, "alpha_after": 0.62, "rate_a_to_b": 0.4, "rate_b_to_a": 0.25}
    shown = {f.label: f.value for f in confusion.pair_figures("a", "b", merge, "nominal")}
    assert shown == {
        "Alpha now (nominal)": "0.50",
        "Alpha if merged": "0.62",
        "Change": "+0.120",
        "a meets b": "40%",
        "b meets a": "25%",
    }


def test_pair_figures_show_class_names_as_text() -> None:
    merge = {"alpha_now": 0.5, "alpha_after": 0.62, "rate_a_to_b": 0.4, "rate_b_to_a": 0.25}
    figures = confusion.pair_figures("[a](https://x.example)", "_b_", merge, "nominal")
    assert [f.label for f in figures[3:]] == [
        r"\[a\](https://x.example) meets \_b\_",
        r"\_b\_ meets \[a\](https://x.example)",
    ]
    assert figures[1].help == (
        r"Krippendorff's alpha if \[a\](https://x.example) and \_b\_ were one class (exact)."
    )


# ---- recommendations ------------------------------------------------------------------------------
def test_recommendations_frame_of_no_recommendation() -> None:
    frame = recommendations.recommendations_frame({"recommendations": []})
    assert frame.empty and tuple(frame.columns) == recommendations.TABLE_COLUMNS


def test_relabel_target_of_a_labeler() -> None:
    rec = {"rank": 3, "slice": None, "labeler_id": "insp_07", "classes": []}
    assert recommendations.relabel_target(rec) == recommendations.RelabelTarget(labeler="insp_07")


def test_relabel_batch_and_its_files(store: Store) -> None:
    target = recommendations.RelabelTarget(classes=("dent",))
    out = recommendations.relabel_batch(store, "defects", ViewFilter(), "nominal", target, 10)
    batch = out["batch"]
    assert out["selection"] == "items with a label dent"
    assert set(batch["item_id"]) <= {"a", "c"}
    files = recommendations.batch_files(batch, TaskShape())
    assert files["labelstudio"] == recommendations.NAMES_NEEDED
    assert files["csv"].startswith(b"item_id,data_ref,votes,consensus")
    assert files["toloka"].startswith(b"INPUT:item_id\tINPUT:data_ref\tGOLDEN:result\n")
    named = recommendations.batch_files(batch, TaskShape(from_name="defect", to_name="image"))
    tasks = json.loads(named["labelstudio"])
    assert [t["data"]["item_id"] for t in tasks] == batch["item_id"].tolist()


def test_batch_files_say_why_a_file_cannot_be_written(store: Store) -> None:
    target = recommendations.RelabelTarget(classes=("dent",))
    batch = recommendations.relabel_batch(store, "defects", ViewFilter(), "nominal", target, 1)[
        "batch"
    ].assign(data_ref="a\tb")
    files = recommendations.batch_files(batch, TaskShape())
    item = batch["item_id"].iat[0]
    assert files["toloka"] == (
        f"Cannot write item '{item}' to a Toloka TSV: its data reference contains a tab or a "
        "line break."
    )
    assert isinstance(files["csv"], bytes)
