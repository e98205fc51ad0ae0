"""The relabel queue: exact gains, selection and order, task files, and the whole loop.

The loop runs on the sample data twice: through Label Studio (queue the
discoloration items as a tasks file, answer them as a Label Studio instance
would export them, re-import as round 2, compare) and through Toloka (the same
with a task TSV and a results TSV, all from the command line).

Regenerate the golden task files of ``tests/golden/queue/`` with
``python tests/test_relabel.py`` and review the diff.
"""

from __future__ import annotations

import csv
import io
import json
import random
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consistency import relabel
from consistency.cli import main
from consistency.compare import compare_rounds
from consistency.engine import profile_from_rows
from consistency.errors import ImportFailed, InvalidArgument, NotComputable
from consistency.io import Source, read_path, read_source
from consistency.metrics.alpha import LEVELS, alpha
from consistency.store import Store

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"
GOLDEN = ROOT / "tests" / "golden" / "queue" / "defects"
GOLDEN_OUTPUTS = {
    "labelstudio": "tasks.labelstudio.json",
    "toloka": "tasks.toloka.tsv",
    "csv": "tasks.csv",
}
CLASSES = ("crack", "dent", "discoloration", "ok", "pit", "scratch_deep", "scratch_light", "stain")


# ---- helpers ---------------------------------------------------------------------------
def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the ``consistency`` command; return its exit code, stdout and stderr."""
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def import_file(db: Path, path: Path, dataset: str, round_: str | None = None) -> Store:
    store = Store(db)
    source = Source.from_path(path)
    store.import_result(
        read_source(source), file_name=source.name, data=source.data, dataset=dataset, round=round_
    )
    return store


def alpha_after(
    rows: list[tuple[str, str]], item: str, label: str, level: str = "nominal"
) -> float:
    """Alpha of ``rows`` (item, label) after every label of ``item`` became ``label``."""
    changed = [(i, label if i == item else lab) for i, lab in rows]
    return alpha(profile_from_rows(changed), level)  # type: ignore[arg-type]


def votes_of(text: str) -> list[str]:
    """The labels behind a votes text such as ``stain: 2, ok: 1``."""
    labels = []
    for part in text.split(", "):
        label, n = part.rsplit(": ", 1)
        labels += [label] * int(n)
    return labels


def clearer(labels: list[str], consensus: str, rng: random.Random) -> list[str]:
    """Round-2 labels under clearer discoloration instructions.

    On items whose consensus is discoloration or stain, a discoloration, stain or
    ok label becomes the consensus nine times in ten; every other label stays.
    """
    if consensus not in ("discoloration", "stain"):
        return list(labels)
    return [
        consensus if lab in ("discoloration", "stain", "ok") and rng.random() < 0.9 else lab
        for lab in labels
    ]


def assert_labelstudio_tasks(tasks: Any, from_name: str, to_name: str) -> None:
    """What Label Studio's task import accepts: a list of tasks, data of plain values, predictions."""
    assert isinstance(tasks, list) and tasks
    for task in tasks:
        assert set(task) == {"data", "predictions"}
        data = task["data"]
        assert isinstance(data, dict) and isinstance(data["item_id"], str)
        assert all(isinstance(v, str | int | float | bool) for v in data.values())
        assert all(k.startswith("relabel_") for k in data if k.startswith("relabel"))
        assert isinstance(data["relabel_gain"], float) and isinstance(data["relabel_votes"], str)
        (pred,) = task["predictions"]
        assert pred["model_version"] == "consensus"
        assert 0 < pred["score"] <= 1
        (result,) = pred["result"]
        assert result == {
            "from_name": from_name,
            "to_name": to_name,
            "type": "choices",
            "value": {"choices": [data["relabel_consensus"]]},
        }


# ---- the gain is exact -----------------------------------------------------------------
@st.composite
def small_tables(draw: st.DrawFn) -> tuple[list[tuple[str, str]], str]:
    """(item, label) rows with numeric labels, and a level of measurement."""
    labels = draw(
        st.lists(st.sampled_from(["1", "2", "3", "5", "8"]), min_size=2, max_size=4, unique=True)
    )
    n_items = draw(st.integers(2, 8))
    rows = []
    for i in range(n_items):
        m = draw(st.integers(1, 5))
        rows += [(f"i{i}", draw(st.sampled_from(labels))) for _ in range(m)]
    return rows, draw(st.sampled_from(LEVELS))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_tables(), st.randoms(use_true_random=False))
def test_gain_is_the_exact_change_of_alpha(
    table: tuple[list[tuple[str, str]], str], rnd: random.Random
) -> None:
    rows, level = table
    p = profile_from_rows(rows)
    before = alpha(p, level)  # type: ignore[arg-type]
    ids = sorted({i for i, _ in rows})
    counts = np.array(
        [[sum(1 for i, lab in rows if i == item and lab == c) for c in p.labels] for item in ids]
    )
    target = np.array([rnd.randrange(len(p.labels)) for _ in ids])
    if not np.isfinite(before):
        with pytest.raises(NotComputable, match="alpha is undefined on this view"):
            relabel.unanimity_gains(p, counts, target, level)  # type: ignore[arg-type]
        return
    gains = relabel.unanimity_gains(p, counts, target, level)  # type: ignore[arg-type]
    for item, t, gain in zip(ids, target, gains, strict=True):
        after = alpha_after(rows, item, p.labels[t], level)
        if np.isnan(after):
            assert np.isnan(gain)
        else:
            assert gain == pytest.approx(after - before, abs=1e-9)


def generated_long_csv(path: Path, seed: int, n_items: int = 80) -> list[tuple[str, str]]:
    """A long CSV of noisy labels (4 classes, 3 to 5 labelers per item); returns (item, label) rows."""
    rng = np.random.default_rng(seed)
    classes = ["a", "b", "c", "d"]
    lines = ["item_id,labeler_id,label"]
    rows = []
    for i in range(n_items):
        truth = rng.integers(4)
        for w in rng.choice(6, size=rng.integers(3, 6), replace=False):
            label = classes[truth] if rng.random() < 0.7 else classes[rng.integers(4)]
            lines.append(f"it{i:03d},w{w},{label}")
            rows.append((f"it{i:03d}", label))
    path.write_text("\n".join(lines) + "\n")
    return rows


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_relabeling_the_first_item_raises_alpha_by_the_printed_gain(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], seed: int
) -> None:
    rows = generated_long_csv(tmp_path / "gen.csv", seed)
    db = tmp_path / "db.duckdb"
    assert run(capsys, "import", tmp_path / "gen.csv", "--dataset", "gen", "--db", db)[0] == 0
    out = tmp_path / "q.csv"
    code, printed, _ = run(
        capsys,
        "queue",
        "gen",
        "--class",
        "a",
        "--class",
        "b",
        "--format",
        "csv",
        "--out",
        out,
        "--db",
        db,
    )
    assert code == 0
    table = list(csv.DictReader(io.StringIO(out.read_text())))
    first = table[0]
    gain = float(first["gain"])
    assert f"{first['item_id']:<16} {gain!r:<24}" in printed  # printed at full precision
    before = alpha(profile_from_rows(rows))
    assert alpha_after(rows, first["item_id"], first["consensus"]) - before == pytest.approx(
        gain, abs=1e-9
    )
    # best first, equal gains by item id
    keys = [(-round(float(r["gain"]), 12), r["item_id"]) for r in table]
    assert keys == sorted(keys)
    assert all({"a", "b"} & set(votes_of(r["votes"])) for r in table)


def test_worked_example_of_the_docs() -> None:
    doc = (ROOT / "docs" / "relabel-loop.md").read_text(encoding="utf-8")
    rows = [
        (i, lab)
        for i, labs in {"i1": "xxx", "i2": "xxy", "i3": "xyy", "i4": "yy"}.items()
        for lab in labs
    ]
    p = profile_from_rows(rows)
    assert alpha(p) == pytest.approx(1 / 3)
    counts = np.array([[3, 0], [2, 1], [1, 2], [0, 2]])
    gains = relabel.unanimity_gains(p, counts, np.array([0, 0, 1, 1]))
    assert gains.tolist() == pytest.approx([0.0, 13 / 42, 1 / 3, 0.0])
    for text in ("13/42", "9/14", "2/3", "D_e' = 56", "i3, i2, i1, i4"):
        assert text in doc


# ---- selection, order, consensus --------------------------------------------------------
@pytest.fixture(scope="module")
def ls_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """The sample's Label Studio export (round 1) in a store, read-only for the tests using it."""
    db = tmp_path_factory.mktemp("ls") / "ls.duckdb"
    return import_file(db, SAMPLE / "inspection_labelstudio.json", "ls")


def test_class_queue_rows(ls_store: Store) -> None:
    q = relabel.queue(ls_store, "ls", classes=["discoloration"])
    assert list(q.columns) == list(relabel.QUEUE_COLUMNS)
    assert q["rank"].tolist() == list(range(1, len(q) + 1))
    assert all("discoloration" in votes_of(v) for v in q["votes"])
    assert q.attrs["selection"] == "items with a label discoloration"
    plain = q[~q["tie"]]
    assert (plain["reason"] == "has a label discoloration").all()
    for r in q.itertuples():
        votes = Counter(votes_of(r.votes))
        top = max(votes.values())
        assert votes[r.consensus] == top and r.confidence == top / r.n_labels == top / sum(
            votes.values()
        )
        assert r.tie == (sum(v == top for v in votes.values()) > 1)
    assert q["data_ref"].str.match(r"images/img_\d{5}\.png").all()
    assert q["metadata"].iat[0].keys() == {"camera", "factory", "line", "shift"}
    budget = relabel.queue(ls_store, "ls", classes=["discoloration"], budget=25)
    assert budget.drop(columns="metadata").equals(q.head(25).drop(columns="metadata"))


def test_ties_are_broken_by_dawid_skene_and_marked(ls_store: Store) -> None:
    from consistency.metrics.consensus import dawid_skene

    q = relabel.queue(ls_store, "ls", classes=["stain"])
    ties = q[q["tie"]]
    assert len(ties) > 5
    post = dawid_skene(ls_store.annotations("ls"), max_iter=500).posteriors
    for r in ties.itertuples():
        votes = Counter(votes_of(r.votes))
        tied = sorted(lab for lab, n in votes.items() if n == max(votes.values()))
        assert r.consensus == max(tied, key=lambda lab: post.loc[r.item_id, lab])
        assert r.reason.endswith(
            f"; votes tied between {' and '.join(sorted(tied, key=CLASSES.index))}, Dawid-Skene picks {r.consensus}"
        )


def test_slice_labeler_min_labels_and_controls(ls_store: Store) -> None:
    by_slice = relabel.queue(ls_store, "ls", slice=("camera", "cam_C"), budget=40)
    meta = ls_store.item_metadata_wide("ls", by_slice["item_id"].tolist()).set_index("item_id")
    assert (meta.loc[by_slice["item_id"], "camera"] == "cam_C").all()
    assert set(by_slice["reason"].str.split(";").str[0]) == {"camera = cam_C"}
    by_labeler = relabel.queue(ls_store, "ls", labeler="insp_07@example.com", min_labels=5)
    ann = ls_store.annotations("ls").execute()
    mine = set(ann.loc[ann["labeler_id"] == "insp_07@example.com", "item_id"])
    assert set(by_labeler["item_id"]) <= mine and (by_labeler["n_labels"] >= 5).all()
    with_controls = relabel.queue(ls_store, "ls", classes=["pit"], budget=3, controls=4)
    head, tail = with_controls.iloc[:3], with_controls.iloc[3:]
    assert head["reason"].str.startswith("has a label pit").all()
    assert len(tail) == 4 and tail["gold_label"].notna().all()
    assert tail["reason"].tolist() == [f"control item (gold label {g})" for g in tail["gold_label"]]
    assert tail["item_id"].tolist() == sorted(tail["item_id"])


def fake_recommendations(rows: list[dict[str, Any]]) -> Any:
    def table(*args: Any, **kwargs: Any) -> pd.DataFrame:
        return pd.DataFrame(
            rows, columns=["rank", "action", "target", "classes", "slice", "labeler_id"]
        )

    return table


def test_the_queue_follows_a_recommendation(
    ls_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    recs = [
        {
            "rank": 1,
            "action": "merge classes",
            "target": "scratch_deep + scratch_light",
            "classes": ["scratch_deep", "scratch_light"],
            "slice": None,
            "labeler_id": None,
        },
        {
            "rank": 2,
            "action": "fix the input",
            "target": "camera = cam_C",
            "classes": [],
            "slice": "camera=cam_C",
            "labeler_id": None,
        },
        {
            "rank": 3,
            "action": "review labeler",
            "target": "labeler insp_07@example.com",
            "classes": [],
            "slice": None,
            "labeler_id": "insp_07@example.com",
        },
    ]
    monkeypatch.setattr("consistency.analysis.recommendations_table", fake_recommendations(recs))
    top = relabel.queue(ls_store, "ls", budget=5)
    assert (
        top.attrs["selection"] == "recommendation 1 (merge classes: scratch_deep + scratch_light)"
    )
    assert (
        top["reason"]
        .str.match(
            r"recommendation 1 \(merge classes: scratch_deep \+ scratch_light\): has (a label|labels) "
        )
        .all()
    )
    second = relabel.queue(ls_store, "ls", action_rank=2, budget=5)
    assert (
        second["reason"]
        .str.startswith("recommendation 2 (fix the input: camera = cam_C): camera = cam_C")
        .all()
    )
    third = relabel.queue(ls_store, "ls", action_rank=3, budget=5)
    assert (
        third["item_id"].tolist()
        == relabel.queue(ls_store, "ls", labeler="insp_07@example.com", budget=5)[
            "item_id"
        ].tolist()
    )
    with pytest.raises(
        InvalidArgument,
        match=r"^--action-rank 4: there are 3 recommendations \(see `consistency recommend ls`\)$",
    ):
        relabel.queue(ls_store, "ls", action_rank=4)
    monkeypatch.setattr("consistency.analysis.recommendations_table", fake_recommendations([]))
    with pytest.raises(
        NotComputable,
        match=r"^no recommendation for dataset 'ls' \(each item's latest round\): choose the items with --class, --slice or --labeler$",
    ):
        relabel.queue(ls_store, "ls")


def test_the_top_recommendation_for_real(tmp_path: Path) -> None:
    from consistency.analysis import AnalysisOptions, recommendations_table

    generated = tmp_path / "gen.csv"
    generated_long_csv(generated, 5, n_items=120)
    store = import_file(tmp_path / "db.duckdb", generated, "gen")
    options = AnalysisOptions(n_boot=50)
    recs = recommendations_table(store, "gen", None, options)
    assert len(recs)  # 30% noise spread over four classes: something to do
    q = relabel.queue(store, "gen", options=options, budget=10)
    first = recs.iloc[0]
    assert q.attrs["selection"] == f"recommendation 1 ({first['action']}: {first['target']})"
    assert q["reason"].str.startswith(q.attrs["selection"]).all()


# ---- bad input: a clear message, nothing written ------------------------------------------
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--class", "nope"], "error: class 'nope' not found. Classes: " + ", ".join(CLASSES)),
        (
            ["--class", "ok", "--budget", "0"],
            "error: --budget must be 1 or more (items to relabel); found 0",
        ),
        (["--class", "ok", "--min-labels", "0"], "error: --min-labels must be 1 or more; found 0"),
        (
            ["--slice", "colour=red"],
            "error: metadata field 'colour' not found in dataset 'ls'. Fields: camera, factory, line, shift",
        ),
        (
            ["--slice", "camera=cam_Z"],
            "error: no item has camera = cam_Z. Values of camera: cam_A, cam_B, cam_C, cam_D",
        ),
        (["--slice", "camera"], "error: --slice expects COLUMN=VALUE; found 'camera'"),
        (["--labeler", "nobody"], "error: labeler 'nobody' has no label in this view. Labelers: "),
        (
            ["--class", "ok", "--round", "2"],
            "error: dataset 'ls' (round 2) has no item with two labels: nothing to rank by agreement",
        ),
    ],
)
def test_bad_queue_requests(
    ls_store: Store,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    args: list[str],
    message: str,
) -> None:
    out = tmp_path / "q.json"
    code, printed, err = run(
        capsys, "queue", "ls", *args, "--format", "labelstudio", "--out", out, "--db", ls_store.path
    )
    assert code == 1 and printed == ""
    assert err.startswith(message) and err.count("\n") == 1
    assert not out.exists()


def test_selectors_exclude_each_other(ls_store: Store) -> None:
    with pytest.raises(
        InvalidArgument,
        match="^choose the items with one of --action-rank, --class, --slice or --labeler; found 2$",
    ):
        relabel.queue(ls_store, "ls", classes=["ok"], labeler="x")


def test_nothing_to_queue(ls_store: Store) -> None:
    with pytest.raises(
        NotComputable,
        match=r"^nothing to queue: no item among items with a label crack has at least 6 labels in this view \(each item's latest round\)$",
    ):
        relabel.queue(ls_store, "ls", classes=["crack"], min_labels=6)


def test_labelstudio_needs_the_config_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "db.duckdb"
    generated_long_csv(tmp_path / "gen.csv", 1, n_items=30)
    import_file(db, tmp_path / "gen.csv", "gen").close()
    out = tmp_path / "q.json"
    code, _, err = run(
        capsys, "queue", "gen", "--class", "a", "--format", "labelstudio", "--out", out, "--db", db
    )
    assert code == 1 and not out.exists()
    assert err == (
        "error: the Label Studio tasks need the from_name and to_name of the labeling config's "
        "Choices tag for the consensus pre-annotation, and no Label Studio JSON import of this "
        "dataset records them: give --from-name NAME --to-name NAME\n"
    )
    code, printed, _ = run(
        capsys,
        "queue",
        "gen",
        "--class",
        "a",
        "--format",
        "labelstudio",
        "--out",
        out,
        "--db",
        db,
        "--from-name",
        "label",
        "--to-name",
        "text",
        "--data-key",
        "text",
    )
    assert code == 0 and "from_name 'label' and to_name 'text'" in printed
    assert_labelstudio_tasks(json.loads(out.read_text()), "label", "text")


# ---- the task files --------------------------------------------------------------------
def golden_outputs(tmp_path: Path) -> dict[str, bytes]:
    """The defects fixture queued for 'scratch' (with one control item), in every format."""
    store = import_file(tmp_path / "golden.duckdb", GOLDEN / "export.json", "defects")
    batch = relabel.queue(store, "defects", classes=["scratch"], controls=1)
    shape = relabel.task_shape(store, "defects")
    return {fmt: relabel.export(batch, fmt, shape) for fmt in GOLDEN_OUTPUTS}


def test_task_files_match_the_golden_files(tmp_path: Path) -> None:
    for fmt, data in golden_outputs(tmp_path).items():
        expected = (GOLDEN / GOLDEN_OUTPUTS[fmt]).read_bytes()
        assert data == expected, f"{fmt}: regenerate with `python tests/test_relabel.py` and review"


def test_golden_tasks_have_the_label_studio_shape() -> None:
    tasks = json.loads((GOLDEN / "tasks.labelstudio.json").read_text(encoding="utf-8"))
    assert_labelstudio_tasks(tasks, "quality", "photo")
    source = {str(t["id"]): t["data"] for t in json.loads((GOLDEN / "export.json").read_text())}
    for task in tasks:
        data = task["data"]
        original = source[data["item_id"]]
        assert {k: data[k] for k in original} == original  # the original data, same types
    toloka = (GOLDEN / "tasks.toloka.tsv").read_text().splitlines()
    assert toloka[0] == "INPUT:item_id\tINPUT:picture\tGOLDEN:result"
    gold = [line.split("\t") for line in toloka[1:] if not line.endswith("\t")]
    assert gold == [["43", "s3://bucket/panels/p003.jpg", "ok"]]


def test_task_shape_is_recorded_by_the_importers(tmp_path: Path) -> None:
    store = import_file(tmp_path / "db.duckdb", GOLDEN / "export.json", "defects")
    assert relabel.task_shape(store, "defects") == relabel.TaskShape(
        "quality", "photo", "picture", "result"
    )
    assert relabel.task_shape(
        store, "defects", to_name="img", output_field="answer"
    ) == relabel.TaskShape("quality", "img", "picture", "answer")
    import_file(tmp_path / "db.duckdb", SAMPLE / "inspection_toloka.tsv", "tl")
    assert relabel.task_shape(store, "tl") == relabel.TaskShape(None, None, "image", "result")


def test_toloka_refuses_tabs(tmp_path: Path) -> None:
    batch = pd.DataFrame([{"item_id": "a", "data_ref": "x\ty", "gold_label": None}])
    with pytest.raises(
        InvalidArgument,
        match="^cannot write item 'a' to a Toloka TSV: its data reference contains a tab or a line break$",
    ):
        relabel.to_toloka(batch, relabel.TaskShape())
    with pytest.raises(
        InvalidArgument, match="^unknown queue format 'xml'. Formats: labelstudio, toloka, csv$"
    ):
        relabel.export(batch, "xml", relabel.TaskShape())


# ---- coming back ------------------------------------------------------------------------
def test_a_reimport_whose_ids_match_nothing_is_refused(tmp_path: Path) -> None:
    store = import_file(tmp_path / "db.duckdb", GOLDEN / "export.json", "defects")
    before = store.provenance("defects")
    stranger = read_source(
        Source("answers.csv", b"item_id,labeler_id,label\nz1,w1,ok\nz2,w1,dent\n")
    )
    with pytest.raises(ImportFailed) as err:
        relabel.check_reimport(store, "Defects", stranger, "answers.csv")
    assert str(err.value) == (
        "1 problem in answers.csv; nothing was imported:\n"
        "  - answers.csv, field 'item_id': expected item ids of dataset 'defects' (a relabel "
        "queue's tasks carry them in data.item_id or INPUT:item_id); found 2 ids, none of them "
        "in the dataset: 'z1', 'z2'"
    )
    assert store.provenance("defects").equals(before)
    relabel.check_reimport(store, "new-dataset", stranger, "answers.csv")  # a new dataset: fine
    known = read_source(Source("answers.csv", b"item_id,labeler_id,label\n41,w1,ok\nz2,w1,dent\n"))
    relabel.check_reimport(store, "defects", known, "answers.csv")


def labelstudio_export_of(tasks: list[dict[str, Any]], rng: random.Random) -> list[dict[str, Any]]:
    """What Label Studio exports after people answered the queued tasks.

    New task ids; the data as imported; annotations in the project's from_name
    and to_name; predictions as bare ids (the default export) for even tasks
    and in full (our consensus pre-annotation) for odd ones.
    """
    out = []
    for n, task in enumerate(tasks):
        data = task["data"]
        labels = clearer(votes_of(data["relabel_votes"]), data["relabel_consensus"], rng)
        annotations = [
            {
                "id": 90000 + 10 * n + j,
                "completed_by": {"id": 200 + j, "email": f"second_{j}@example.com"},
                "result": [
                    {
                        "id": f"q{n}_{j}",
                        "type": "choices",
                        "from_name": "defect",
                        "to_name": "image",
                        "value": {"choices": [lab]},
                    }
                ],
                "was_cancelled": False,
                "ground_truth": False,
                "lead_time": 6.0,
                "created_at": "2025-03-20T09:00:00Z",
            }
            for j, lab in enumerate(labels)
        ]
        predictions = [7000 + n] if n % 2 == 0 else task["predictions"]
        out.append(
            {"id": 5000 + n, "data": data, "annotations": annotations, "predictions": predictions}
        )
    return out


def test_the_loop_through_label_studio(tmp_path: Path) -> None:
    store = import_file(tmp_path / "db.duckdb", SAMPLE / "inspection_labelstudio.json", "ls")
    batch = relabel.queue(store, "ls", classes=["discoloration"], budget=300)
    tasks = json.loads(relabel.to_labelstudio(batch, relabel.task_shape(store, "ls")))
    assert_labelstudio_tasks(tasks, "defect", "image")
    assert [t["data"]["item_id"] for t in tasks] == batch["item_id"].tolist()
    assert tasks[0]["data"]["image"] == batch["data_ref"].iat[0]
    fields, predictions = store.metadata_fields("ls"), store.predictions("ls").count().execute()

    exported = tmp_path / "project-export.json"
    exported.write_text(json.dumps(labelstudio_export_of(tasks, random.Random(0))))
    result = read_path(exported)
    assert result.stats["consensus_predictions"] == 150 and result.stats["prediction_ids"] == 150
    relabel.check_reimport(store, "ls", result, exported.name)
    store.import_result(
        result, file_name=exported.name, data=exported.read_bytes(), dataset="ls", round="2"
    )

    assert store.rounds("ls") == ["1", "2"]
    assert store.items("ls").count().execute() == 2000  # the labels landed on the original items
    assert (
        store.predictions("ls").count().execute() == predictions
    )  # no consensus stored as a model
    assert store.metadata_fields("ls").equals(fields)  # the queue's fields are not metadata
    latest = store.annotations("ls").execute()
    assert latest.loc[latest["item_id"].isin(batch["item_id"]), "round"].eq("2").all()

    c = compare_rounds(store, "ls", "1", "2", n_boot=300)
    assert c["items_common"] == 300 and c["verdict"] == "improved"
    per_class = {r["class"]: r for r in c["per_class"]}
    assert per_class["discoloration"]["verdict"] == "improved"
    assert per_class["crack"]["verdict"] == "no clear change"
    assert per_class["crack"]["delta"] == 0.0
    flips = Counter((f["from_label"], f["to_label"]) for f in c["flips"])
    assert all(to in ("discoloration", "stain") for _, to in flips)


def toloka_results(tasks: list[list[str]], round1: pd.DataFrame, rng: random.Random) -> str:
    """A Toloka results TSV for uploaded tasks, answered under clearer instructions."""
    header = "INPUT:item_id\tINPUT:image\tOUTPUT:result\tGOLDEN:result\tASSIGNMENT:task_id\tASSIGNMENT:assignment_id\tASSIGNMENT:worker_id\tASSIGNMENT:status\tASSIGNMENT:started\tASSIGNMENT:submitted"
    labels = round1.groupby("item_id")["label"].apply(list)
    lines = [header]
    for n, (item, image, gold) in enumerate(tasks):
        old = labels[item]
        consensus = Counter(old).most_common(1)[0][0]
        for j, lab in enumerate(clearer(old, consensus, rng)):
            lines.append(
                f"{item}\t{image}\t{lab}\t{gold}\tnew--{n:05d}\tnew--a{n:05d}{j}\tworker_{j}\tAPPROVED\t"
                f"2025-04-01T10:00:00\t2025-04-01T10:00:30"
            )
    return "\n".join(lines) + "\n"


def test_the_loop_through_toloka(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "db.duckdb"
    assert (
        run(capsys, "import", SAMPLE / "inspection_toloka.tsv", "--dataset", "tl", "--db", db)[0]
        == 0
    )
    queued = tmp_path / "pool.tsv"
    code, printed, _ = run(
        capsys,
        "queue",
        "tl",
        "--class",
        "discoloration",
        "--budget",
        "250",
        "--controls",
        "10",
        "--format",
        "toloka",
        "--out",
        queued,
        "--db",
        db,
    )
    assert code == 0
    assert printed.startswith(
        f"wrote 260 items to {queued} (Toloka tasks): items with a label discoloration, highest gain first\n"
    )
    lines = queued.read_text().splitlines()
    assert lines[0] == "INPUT:item_id\tINPUT:image\tGOLDEN:result"
    rows = [line.split("\t") for line in lines[1:]]
    assert len(rows) == 260 and sum(1 for r in rows if r[2]) >= 10

    store = Store(db)
    round1 = store.annotations("tl").execute()
    store.close()
    results = tmp_path / "results.tsv"
    results.write_text(toloka_results(rows, round1, random.Random(1)))
    code, printed, _ = run(capsys, "import", results, "--dataset", "tl", "--round", "2", "--db", db)
    assert code == 0 and "round 2" in printed

    code, printed, _ = run(
        capsys, "compare", "tl", "--rounds", "1", "2", "--json", "--bootstrap", "300", "--db", db
    )
    c = json.loads(printed)
    assert set(c) >= {
        "from",
        "to",
        "items_common",
        "alpha_from",
        "alpha_to",
        "alpha_delta",
        "ci_low",
        "ci_high",
        "verdict",
        "per_class",
        "flips",
    }
    assert (c["from"], c["to"], c["items_common"]) == ("1", "2", 260)
    per_class = {r["class"]: r for r in c["per_class"]}
    assert per_class["discoloration"]["verdict"] == "improved"
    assert per_class["crack"]["verdict"] == "no clear change"
    assert set(per_class["crack"]) == {
        "class",
        "n_from",
        "n_to",
        "from",
        "to",
        "delta",
        "ci_low",
        "ci_high",
        "verdict",
    }
    assert all(set(f) == {"item_id", "from_label", "to_label"} for f in c["flips"])

    exported = tmp_path / "all.csv"
    assert run(capsys, "export", "tl", "--out", exported, "--db", db)[0] == 0
    assert set(pd.read_csv(exported, dtype=str)["round"]) == {"1", "2"}


def regenerate() -> None:
    """Rewrite the golden task files from the current code."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        for fmt, data in golden_outputs(Path(tmp)).items():
            (GOLDEN / GOLDEN_OUTPUTS[fmt]).write_bytes(data)
            print(f"wrote {GOLDEN_OUTPUTS[fmt]}")


if __name__ == "__main__":
    regenerate()
    sys.exit(0)
