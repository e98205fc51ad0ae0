"""The Overview panels and the Classes, Confusion and Recommendations pages under AppTest.

The pages run on dataset ``parts`` (written below): 80 items, three labelers,
scratch and scuff often confused, and a model that takes most dents for ok,
so the pages have a story to tell. One store serves the whole module, so the
view's analysis is computed once and cached, as in the dashboard.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from consistency.io import Source, read_predictions, read_source
from consistency.store import Store
from consistency.ui import recommendations

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 120
CLASSES = "pages/2_Classes.py"
CONFUSION = "pages/3_Confusion.py"
RECOMMENDATIONS = "pages/4_Recommendations.py"


def parts_files() -> tuple[bytes, bytes]:
    """Annotations (item_id, labeler_id, label, camera) and predictions of dataset ``parts``."""
    rng = random.Random(7)
    truth = ["ok", "ok", "dent", "scratch", "scuff"]
    rows = ["item_id,labeler_id,label,camera"]
    preds = ["item_id,predicted_label,model"]
    for i in range(80):
        item, true = f"p{i:02d}", truth[i % 5]
        camera = "cam_A" if i % 2 else "cam_B"
        for who in ("ann", "bob", "cy"):
            label = true
            if true in ("scratch", "scuff") and rng.random() < 0.35:
                label = "scuff" if true == "scratch" else "scratch"
            elif rng.random() < 0.08:
                label = rng.choice(["ok", "dent"])
            rows.append(f"{item},{who},{label},{camera}")
        predicted = "ok" if true == "dent" and rng.random() < 0.6 else true
        preds.append(f"{item},{predicted},net")
    return ("\n".join(rows) + "\n").encode(), ("\n".join(preds) + "\n").encode()


@pytest.fixture(scope="module")
def parts_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store file holding dataset ``parts`` with its predictions."""
    path = tmp_path_factory.mktemp("parts") / "store.duckdb"
    annotations, predictions = parts_files()
    store = Store(path)
    try:
        result = read_source(Source("parts.csv", annotations))
        store.import_result(result, file_name="parts.csv", data=annotations, dataset="parts")
        store.attach(
            "parts",
            "predictions",
            read_predictions(Source("predictions.csv", predictions)),
            file_name="predictions.csv",
            data=predictions,
            format="csv",
        )
    finally:
        store.close()
    return path


@pytest.fixture
def parts(parts_db: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """CONSISTENCY_DB points to the ``parts`` store for this test."""
    monkeypatch.setenv("CONSISTENCY_DB", str(parts_db))
    yield parts_db


def run(script: str = "app.py", **params: str | list[str]) -> AppTest:
    """A page of the dashboard with these query parameters, run once."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    if script == "app.py":
        for name, value in params.items():
            at.query_params[name] = value
        return at.run()
    at.run()
    for name in list(at.query_params):
        del at.query_params[name]
    for name, value in params.items():
        at.query_params[name] = value
    at.switch_page(script)
    return at.run()


def plain(text: str) -> str:
    """Markdown text as the reader sees it (backslash escapes removed)."""
    return re.sub(r"\\(.)", r"\1", text)


def errors(at: AppTest) -> list[str]:
    return [plain(e.value) for e in at.error]


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def captions(at: AppTest) -> list[str]:
    return [plain(c.value) for c in at.main.caption]


def table(at: AppTest, column: str) -> list[dict[str, Any]]:
    """The rows of the first table that has ``column``."""
    for df in at.dataframe:
        if column in df.value.columns:
            return df.value.to_dict("records")
    raise AssertionError(f"no table with column {column!r}")


def plotly_specs(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


# ---- Overview -------------------------------------------------------------------------------
def test_overview_shows_the_agreement_figures_and_what_to_do(parts: Path) -> None:
    at = run(dataset="parts")
    assert not at.exception and not at.error
    shown = metrics(at)
    assert shown["Labels per item"] == "3"
    assert shown["Rounds"] == "1"
    alpha = shown["Krippendorff's alpha (nominal)"]
    assert alpha.startswith("0.66 [") and alpha.endswith("]")
    assert shown["Fleiss' kappa"] not in ("undefined", "—")
    assert shown["Percent agreement"].endswith("%")
    assert [plain(m.value) for m in at.markdown if m.value.startswith("**")][:2] == [
        "**1. Model work:** class dent",
        "**2. Merge classes:** scratch + scuff",
    ]
    link = next(p for p in at.main.get("page_link") if "recommendations" in p.proto.label)
    assert link.proto.label == "All 2 recommendations, with example items"
    assert link.proto.query_string == "dataset=parts"


def test_overview_says_why_fleiss_kappa_is_undefined(db_path: Path) -> None:
    at = run(dataset="defects")
    assert not at.exception
    fleiss = next(m for m in at.metric if m.label == "Fleiss' kappa")
    assert fleiss.value == "undefined"
    assert fleiss.proto.help.startswith(
        "Fleiss' kappa needs the same number of labels on every item; found 2 to 3"
    )
    # three items only: the fragile alpha carries its note
    assert any(
        c.startswith(":material/warning: Alpha rests on 3 pairable items") for c in captions(at)
    )


def test_overview_level_from_the_url_flows_into_the_analysis(parts: Path) -> None:
    at = run(dataset="parts", level="ordinal")
    assert not at.exception
    assert errors(at) == [
        "The ordinal level needs numeric labels (or an explicit order); these labels are not "
        "all numbers. Use --level nominal, or give the order."
    ]
    assert [i.value for i in at.info] == [
        "This view reads the labels at the ordinal level. Choose another level of measurement "
        "in the sidebar (nominal fits any labels)."
    ]
    assert at.selectbox(key="_v_level").value == "ordinal"
    at.selectbox(key="_v_level").select("nominal").run()
    assert not at.error and "level" not in at.query_params


# ---- Classes ------------------------------------------------------------------------------
def test_classes_page_tables_worst_class_first(parts: Path) -> None:
    at = run(CLASSES, dataset="parts")
    assert not at.exception and not at.error
    rows = table(at, "specific agreement")
    assert [r["class"] for r in rows][:2] in (["scratch", "scuff"], ["scuff", "scratch"])
    first = rows[0]
    assert first["most confused with"].startswith("scu" if first["class"] == "scratch" else "scr")
    assert str(first["specific agreement"]).count("[") == 1
    hlp = table(at, "model accuracy")
    assert hlp[0]["class"] == "dent"  # the model is behind people on dents
    assert hlp[0]["gap"].startswith("+")
    assert [i.value for i in at.info] == [
        "Choose a class in a table, on the chart or in the sidebar to see it in detail."
    ]


def test_classes_chart_has_the_diagonal_and_one_bubble_per_class(parts: Path) -> None:
    at = run(CLASSES, dataset="parts", **{"class": "dent"})
    hlp = plotly_specs(at)[0]["data"]
    assert hlp[0]["name"] == "HLP = model accuracy"
    bubbles = [c for trace in hlp[1:] for c in trace["customdata"]]
    assert sorted(b[0] for b in bubbles) == ["dent", "ok", "scratch", "scuff"]
    behind = next(t for t in hlp if t["name"].startswith("Model behind"))
    assert behind["customdata"] == [["dent"]]
    assert behind["marker"]["line"]["width"] == [3]  # the chosen class is outlined


def test_class_from_the_url_opens_its_detail(parts: Path) -> None:
    at = run(CLASSES, dataset="parts", **{"class": "scratch"})
    assert not at.exception and not at.error
    assert at.selectbox(key="_v_class").value == "scratch"
    assert "Class scratch" in [h.value for h in at.subheader]
    shown = metrics(at)
    assert shown["Items"] == "25"
    assert shown["HLP"].endswith("]") and "%" in shown["HLP"]
    partners = table(at, "pair")
    assert partners[0]["class"] == "scuff"
    assert partners[0]["pair"] == "/Confusion?dataset=parts&pair=scratch&pair=scuff"
    items = table(at, "open")
    assert all("scratch" in r["votes"] for r in items)
    assert items[0]["open"].startswith("/Items?dataset=parts&item=p")
    notes = [c for c in captions(at) if c.startswith(":material/warning:")]
    assert notes == [
        ":material/warning: This class's agreement rests on 25 pairable items (fewer than "
        "30): read it as a rough indication; label more items with two labels or more."
    ]


def test_unknown_class_in_the_url_is_a_clear_message(parts: Path) -> None:
    at = run(CLASSES, dataset="parts", **{"class": "scrach"})
    assert not at.exception
    assert errors(at) == [
        "Class 'scrach' not found in dataset 'parts'. Classes: dent, ok, scratch, scuff. "
        "Left out of this view."
    ]
    assert at.query_params == {"dataset": "parts"}


def test_choosing_a_class_writes_the_url(parts: Path) -> None:
    at = run(CLASSES, dataset="parts")
    at.selectbox(key="_v_class").select("scuff").run()
    assert not at.exception
    assert at.query_params["class"] == "scuff"
    assert "Class scuff" in [h.value for h in at.subheader]


def test_planner_reads_its_goal_from_the_url(parts: Path) -> None:
    at = run(CLASSES, dataset="parts", ci="0.05", **{"class": "ok"})
    assert not at.exception
    assert at.number_input(key="ci").value == 0.05
    need = next(m for m in at.metric if m.label == "Items to add (class ok)")
    assert int(need.value.replace(",", "")) > 0
    sentence = next(c for c in captions(at) if "specific agreement of ok" in c)
    assert "To narrow it under 0.05, label about" in sentence
    curve = plotly_specs(at)[1]["data"]
    assert [t["name"] for t in curve] == [
        "majority vote (all classes)",
        "Dawid–Skene (all classes)",
        "majority vote (ok)",
        "Dawid–Skene (ok)",
    ]
    assert len(curve[0]["y"]["bdata"]) > 0
    accuracy = table(at, "labels per item")
    assert [r["labels per item"] for r in accuracy] == [1, 2, 3]  # three labelers
    assert list(accuracy[0]) == [
        "labels per item",
        "majority vote",
        "Dawid–Skene",
        "majority vote (ok)",
        "Dawid–Skene (ok)",
    ]


def test_classes_page_without_predictions_says_how_to_add_them(db_path: Path) -> None:
    at = run(CLASSES, dataset="defects")
    assert not at.exception
    assert (
        "No model predictions in this dataset: attach a predictions file on the Data "
        "page to compare the model with people class by class."
    ) in [i.value for i in at.info]


def test_relabel_a_class(parts: Path) -> None:
    at = run(CLASSES, dataset="parts", **{"class": "scuff"})
    at.toggle(key="relabel_class_scuff").set_value(True).run()
    assert not at.exception
    batch = table(at, "consensus")
    assert 0 < len(batch) <= 50
    assert all("scuff" in r["votes"] for r in batch)
    assert [b.label for b in at.get("download_button")] == [
        "Label Studio tasks (JSON)",
        "Toloka tasks (TSV)",
        "Batch as CSV",
    ]


# ---- Confusion ----------------------------------------------------------------------------
def test_confusion_heatmap_counts_or_shares(parts: Path) -> None:
    at = run(CONFUSION, dataset="parts", normalize="row")
    assert not at.exception and not at.error
    heat = plotly_specs(at)[0]["data"][0]
    assert heat["type"] == "heatmap" and heat["x"] == ["dent", "ok", "scratch", "scuff"]
    assert all(t.endswith("%") for row in heat["text"] for t in row if t)
    assert at.radio(key="_v_normalize").value == "row"
    at.radio(key="_v_normalize").set_value("count").run()
    assert "normalize" not in at.query_params
    heat = plotly_specs(at)[0]["data"][0]
    assert not any(t.endswith("%") for row in heat["text"] for t in row)


def test_confusion_pair_from_the_url_shows_the_merge(parts: Path) -> None:
    at = run(CONFUSION, dataset="parts", pair=["scratch", "scuff"])
    assert not at.exception and not at.error
    pairs = table(at, "class a")
    assert (pairs[0]["class a"], pairs[0]["class b"]) == ("scratch", "scuff")
    shown = metrics(at)
    assert shown["Alpha now (nominal)"] == "0.66"
    assert shown["Alpha if merged"] == f"{pairs[0]['alpha after merge']:.2f}"
    assert shown["Change"].startswith("+0.")
    assert [at.selectbox(key=k).value for k in ("_v_pair_a", "_v_pair_b")] == ["scratch", "scuff"]
    shapes = plotly_specs(at)[0]["layout"]["shapes"]
    assert len(shapes) == 2  # both cells of the pair are outlined
    items = table(at, "open")
    assert all("scratch" in r["votes"] and "scuff" in r["votes"] for r in items)


def test_confusion_unknown_class_in_the_pair(parts: Path) -> None:
    at = run(CONFUSION, dataset="parts", pair=["scratch", "scruff"])
    assert not at.exception
    assert errors(at) == [
        "Class 'scruff' not found in dataset 'parts'. Classes: dent, ok, scratch, scuff. "
        "Left out of this view."
    ]
    assert "Choose a pair in the table or in the sidebar to see it in detail." in [
        i.value for i in at.info
    ]


def test_confusion_pair_at_a_level_without_merges_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "scores.duckdb"
    data = b"item_id,labeler_id,label\n" + b"".join(
        f"s{i},{w},{(i + k) % 3 + 1}\n".encode() for i in range(12) for k, w in enumerate("ab")
    )
    store = Store(path)
    result = read_source(Source("scores.csv", data))
    store.import_result(result, file_name="scores.csv", data=data, dataset="scores")
    store.close()
    monkeypatch.setenv("CONSISTENCY_DB", str(path))
    at = run(CONFUSION, dataset="scores", pair=["1", "2"], level="interval")
    assert not at.exception
    assert [plain(w.value) for w in at.warning] == [
        "Alpha after merging classes is computed at the nominal or ordinal level; found "
        "'interval': at that level the merged class has no single value."
    ]


# ---- Recommendations ------------------------------------------------------------------------
def test_recommendations_page_ranks_and_opens_each_row(parts: Path) -> None:
    at = run(RECOMMENDATIONS, dataset="parts")
    assert not at.exception and not at.error
    ranked = table(at, "score")
    assert [(r["rank"], r["action"], r["target"]) for r in ranked] == [
        (1, "model work", "class dent"),
        (2, "merge classes", "scratch + scuff"),
    ]
    assert ranked[0]["change"] == ""  # model work leaves the labels as they are
    assert ranked[1]["change"].startswith("+0.")
    labels = [plain(e.label) for e in at.main.expander]
    assert labels[0] == "1. Model work: class dent (alpha 0.66 → 0.66)"
    examples = [df.value for df in at.dataframe if "open" in df.value.columns]
    assert len(examples) == 2 and all(len(e) > 0 for e in examples)
    assert (
        examples[1]["open"].iloc[0] == f"/Items?dataset=parts&item={examples[1]['item_id'].iloc[0]}"
    )


def test_recommendation_relabel_batch_and_its_files(parts: Path) -> None:
    at = run(RECOMMENDATIONS, dataset="parts")
    at.toggle(key="relabel_rec_2").set_value(True).run()
    assert not at.exception
    buttons = {b.label: b for b in at.get("download_button")}
    assert buttons["Label Studio tasks (JSON)"].proto.disabled
    assert not buttons["Batch as CSV"].proto.disabled
    assert recommendations.NAMES_NEEDED in captions(at)
    at.text_input(key="from_name_rec_2").input("defect").run()
    at.text_input(key="to_name_rec_2").input("image").run()
    buttons = {b.label: b for b in at.get("download_button")}
    assert not buttons["Label Studio tasks (JSON)"].proto.disabled
    assert len(table(at, "consensus")) > 5
    at.number_input(key="budget_rec_2").set_value(5).run()
    assert [r["rank"] for r in table(at, "consensus")] == [1, 2, 3, 4, 5]


def test_recommendations_empty_view(db_path: Path) -> None:
    at = run(RECOMMENDATIONS, dataset="defects", round="2")  # one item, two equal labels
    assert not at.exception
    assert [i.value for i in at.info] == [
        "No recommendation for this view: no rule found anything worth doing. Widen the "
        "filters in the sidebar, or see the Classes and Labelers pages."
    ]


def test_confusion_view_without_pairs(db_path: Path) -> None:
    at = run(CONFUSION, dataset="defects", labelers="ann")
    assert not at.exception
    assert not at.get("plotly_chart")
    assert at.info[0].value.startswith("No item of this view has two labels")
