"""The ``consistency`` command end to end: every subcommand, exit codes and the words of errors.

Exit codes: 0 done, 1 an error reported as ``error: ...`` on stderr, 2 a usage
error (argparse). No traceback ever reaches stderr, and a failed import
writes nothing to the store.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from consistency import __version__, cli
from consistency.cli import build_parser, main
from consistency.io import DETECTION_ORDER, FORMATS
from consistency.sample import SAMPLE_ANNOTATIONS, SAMPLE_PREDICTIONS, sample_dir
from consistency.store import Store

VOTES = (
    "item_id,labeler_id,label,camera,duration_s\n"
    "a,ann,cat,c1,4.5\n"
    "a,bob,cat,c1,5.0\n"
    "b,ann,dog,c2,3.0\n"
    "b,bob,cat,c2,6.1\n"
    "c,ann,dog,c1,2.0\n"
    "c,cid,dog,c1,8.0\n"
)
ROUND_2 = "item_id,labeler_id,label\nb,ann,cat\nb,bob,cat\n"
BOOT = ("--bootstrap", "100")


# ---- helpers --------------------------------------------------------------------------
def run(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    """Run the command in-process: exit code, stdout, stderr (never a traceback)."""
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "Traceback" not in out
    return code, out, err


def usage(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    """Run a command argparse rejects or answers itself (--help): exit code, stdout, stderr."""
    with pytest.raises(SystemExit) as info:
        main([str(a) for a in args])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return int(info.value.code or 0), out, err


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def state(db: Path) -> tuple[Any, ...]:
    """Everything an import could change: datasets, files, lineage and row counts."""
    store = Store(db)
    try:
        ids = store.dataset_ids()
        counts = [
            store.con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]
            for t in ("annotations", "items", "item_metadata", "predictions", "imports")
        ]
        files = [tuple(store.provenance(d)["file_name"]) for d in ids]
        steps = [len(store.lineage(d)) for d in ids]
        return ids, counts, files, steps
    finally:
        store.close()


@pytest.fixture
def db(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A store holding dataset ``votes`` (one round, metadata ``camera``)."""
    path = tmp_path / "store.duckdb"
    code, _, _ = run(capsys, "import", write(tmp_path, "votes.csv", VOTES), "--db", path)
    assert code == 0
    return path


@pytest.fixture(scope="session")
def sample_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample dataset imported and its predictions attached, through the command."""
    path = tmp_path_factory.mktemp("cli") / "sample.duckdb"
    folder = sample_dir()
    assert main(["import", str(folder / SAMPLE_ANNOTATIONS), "--dataset", "inspection",
                 "--db", str(path)]) == 0  # fmt: skip
    assert main(["attach", "inspection", "--predictions", str(folder / SAMPLE_PREDICTIONS),
                 "--db", str(path)]) == 0  # fmt: skip
    return path


@pytest.fixture(scope="session")
def sample_latest() -> pd.DataFrame:
    """The sample's labels on each item's latest round, with pandas only."""
    raw = pd.read_csv(sample_dir() / SAMPLE_ANNOTATIONS, dtype=str)
    last = raw.groupby("item_id")["round"].transform(lambda r: r.astype(int).max()).astype(str)
    return raw[raw["round"] == last]


def analyze_json(capsys: pytest.CaptureFixture[str], *args: object) -> dict[str, Any]:
    code, out, err = run(capsys, "analyze", *args, *BOOT, "--json")
    assert (code, err) == (0, "")

    def strict(constant: str) -> None:
        raise AssertionError(f"not strict JSON: {constant}")

    return json.loads(out, parse_constant=strict)


# ---- import ---------------------------------------------------------------------------
def test_import_reports_what_it_did(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "s.duckdb"
    code, out, err = run(capsys, "import", write(tmp_path, "votes.csv", VOTES), "--db", path)
    assert (code, err) == (0, "")
    assert out == "votes.csv: imported 6 rows (long) into dataset 'votes', round 1.\nitems: 3\n"
    ids, counts, files, steps = state(path)
    assert ids == ["votes"] and counts[0] == 6 and files == [("votes.csv",)]


def test_reimport_is_a_noop(db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = state(db)
    code, out, err = run(capsys, "import", tmp_path / "votes.csv", "--db", db)
    assert (code, err) == (0, "")
    assert out == "votes.csv: already imported into dataset 'votes' (same sha256); nothing to do\n"
    assert state(db) == before


def test_round_appends_a_round(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    r2 = write(tmp_path, "votes_r2.csv", ROUND_2)
    code, out, _ = run(capsys, "import", r2, "--dataset", "votes", "--round", "2", "--db", db)
    assert code == 0
    assert out.startswith("votes_r2.csv: imported 2 rows (long) into dataset 'votes', round 2.\n")
    code, out, _ = run(capsys, "show", "votes", "--db", db)
    assert code == 0
    assert out.splitlines()[:3] == [
        "dataset votes (each item's latest round)",
        "  items: 3   labelers: 3   annotations: 6   pairable items: 3",
        "  rounds: 1, 2   gold items: 0   models: -",
    ]
    _, pooled, _ = run(capsys, "show", "votes", "--round", "all", "--db", db)
    assert "  items: 3   labelers: 3   annotations: 8   pairable items: 3" in pooled
    _, first, _ = run(capsys, "show", "votes", "--round", "1", "--db", db)
    assert first.splitlines()[0] == "dataset votes (round 1)"


def test_several_files_share_the_first_files_dataset(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "s.duckdb"
    more = write(tmp_path, "more.csv", "item_id,labeler_id,label\nd,ann,cat\nd,bob,dog\n")
    code, out, _ = run(capsys, "import", write(tmp_path, "votes.csv", VOTES), more, "--db", path)
    assert code == 0
    assert "more.csv: imported 2 rows (long) into dataset 'votes', round 1." in out
    assert state(path)[0] == ["votes"]


# ---- import errors: exact words, nothing written -----------------------------------------
BAD_INPUTS = {
    "missing_column": (
        "nolabel.csv",
        "item_id,worker,comment\nt1,w1,ok\n",
        "error: 1 problem in nolabel.csv; nothing was imported:\n"
        "  - nolabel.csv, field 'label': expected a label column (one of: label, answer, "
        "response, annotation, class, category, value; any case); found columns item_id, "
        "worker, comment\n",
    ),
    "broken_json": (
        "broken.json",
        '[{"id": 1, "annotations": [',
        "error: 1 problem in broken.json; nothing was imported:\n"
        "  - broken.json, line 1: expected valid JSON; found expecting value at column 28 "
        "(the line ends in the middle of a value: is it truncated?)\n",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_is_reported_and_nothing_written(
    case: str, db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name, text, message = BAD_INPUTS[case]
    before = state(db)
    code, out, err = run(capsys, "import", write(tmp_path, name, text), "--db", db)
    assert (code, out, err) == (1, "", message)
    assert state(db) == before


def test_a_file_in_no_known_format(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = state(db)
    code, _, err = run(capsys, "import", write(tmp_path, "odd.csv", "a;b\n1;2\n"), "--db", db)
    assert code == 1
    lines = err.splitlines()
    assert lines[0] == (
        "error: odd.csv is a CSV table with columns a, b, in none of the known formats; "
        "choose one with --format if it is close to one "
        f"(tried {', '.join(imp.name for imp in DETECTION_ORDER)}):"
    )
    assert len(lines) == 1 + len(DETECTION_ORDER)  # why each format did not fit
    assert lines[-1] == (
        "  - odd.csv: expected wide: a table with an item id column and one column per "
        "labeler; found no item id column among columns a, b"
    )
    assert state(db) == before


def test_an_unknown_format_name(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = state(db)
    path = write(tmp_path, "new.csv", VOTES.replace("a,", "e,"))
    code, out, err = run(capsys, "import", path, "--format", "nope", "--db", db)
    assert (code, out) == (1, "")
    assert err == f"error: unknown format 'nope'; formats: {', '.join(FORMATS)}\n"
    assert state(db) == before


def test_a_missing_file(db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = state(db)
    missing = tmp_path / "missing.csv"
    code, _, err = run(capsys, "import", missing, "--db", db)
    assert code == 1
    assert err == (
        "error: 1 problem in missing.csv; nothing was imported:\n"
        f"  - missing.csv: expected a readable file; found no file at '{missing}'\n"
    )
    assert state(db) == before


def test_one_broken_file_among_several_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "s.duckdb"
    good = write(tmp_path, "votes.csv", VOTES)
    name, text, message = BAD_INPUTS["missing_column"]
    bad = write(tmp_path, name, text)
    code, out, err = run(capsys, "import", good, bad, "--db", path)
    assert (code, out, err) == (1, "", message)
    assert state(path) == ([], [0, 0, 0, 0, 0], [], [])
    code, out, _ = run(capsys, "datasets", "--db", path)
    assert (code, out) == (0, f"no datasets in {path}; import one with `consistency import FILE`\n")


# ---- attach ---------------------------------------------------------------------------
def test_attach_gold_and_predictions(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gold = write(tmp_path, "gold.csv", "item_id,gold_label\na,cat\n")
    preds = write(
        tmp_path, "preds.csv", "item_id,predicted_label,confidence\na,cat,0.9\nb,dog,0.6\n"
    )
    assert run(capsys, "attach", "votes", "--gold", gold, "--db", db) == (
        0,
        "gold.csv: attached 1 gold rows to dataset 'votes'.\n",
        "",
    )
    assert run(capsys, "attach", "votes", "--gold", gold, "--db", db)[1] == (
        "gold.csv: already imported into dataset 'votes' (same sha256); nothing to do\n"
    )
    assert run(capsys, "attach", "votes", "--predictions", preds, "--db", db)[:2] == (
        0,
        "preds.csv: attached 2 predictions rows to dataset 'votes'.\n",
    )
    _, out, _ = run(capsys, "show", "votes", "--db", db)
    assert "  rounds: 1   gold items: 1   models: model" in out


def test_attach_errors_write_nothing(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = state(db)
    gold = write(tmp_path, "gold.csv", "item_id,gold_label\na,cat\nzz,dog\nyy,dog\n")
    assert run(capsys, "attach", "votes", "--gold", gold, "--db", db) == (
        1,
        "",
        "error: 1 problem in gold.csv; nothing was imported:\n"
        "  - gold.csv, field 'item_id': expected item ids of dataset 'votes'; "
        "found 2 unknown: 'yy', 'zz'\n",
    )
    assert run(capsys, "attach", "votes", "--db", db) == (
        1,
        "",
        "error: give exactly one of --gold FILE or --predictions FILE\n",
    )
    assert state(db) == before


# ---- looking at the store ----------------------------------------------------------------
def test_datasets_lists_provenance(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "datasets", "--db", db)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].split()[:2] == ["id", "name"]
    assert lines[1].split()[:2] == ["votes", "votes"]
    assert "votes: files" in lines
    assert "annotations" in out and "votes.csv" in out and "long" in out


def test_show_summarises_a_view(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "show", "votes", "--slice", "camera=c1", "--db", db)
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "dataset votes (each item's latest round, camera = c1)",
        "  items: 2   labelers: 3   annotations: 4   pairable items: 2",
        "  rounds: 1   gold items: 0   models: -",
        "  labels per item: 2: 2",
        "  classes:",
        "    cat: 2",
        "    dog: 2",
        "  metadata: camera",
    ]


def test_lineage_as_text_and_json(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "lineage", "votes", "--db", db)
    assert code == 0
    assert out.startswith("dataset votes (created ")
    assert "votes.csv (long, sha256" in out and "create: dataset 'votes' created" in out
    code, out, _ = run(capsys, "lineage", "votes", "--json", "--db", db)
    doc = json.loads(out)
    assert code == 0 and doc["dataset"] == "votes"
    assert [f["file_name"] for f in doc["files"]] == ["votes.csv"]
    assert [s["action"] for s in doc["steps"]] == ["create", "import"]


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_export_round_trip_keeps_the_round(
    suffix: str, db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    r2 = write(tmp_path, "votes_r2.csv", ROUND_2)
    assert run(capsys, "import", r2, "--dataset", "votes", "--round", "2", "--db", db)[0] == 0
    out_file = tmp_path / f"export{suffix}"
    code, out, _ = run(capsys, "export", "votes", "--out", out_file, "--db", db)
    assert (code, out) == (0, f"wrote 8 annotations of dataset 'votes' to {out_file}\n")
    first = pd.read_parquet(out_file) if suffix == ".parquet" else pd.read_csv(out_file, dtype=str)
    assert first["round"].astype(str).tolist() == ["1"] * 6 + ["2"] * 2
    assert {"item_id", "labeler_id", "label", "round", "duration_s", "camera"} <= set(first)
    # import the export into another store: the same table comes back out
    other = tmp_path / "other.duckdb"
    assert run(capsys, "import", out_file, "--dataset", "votes", "--db", other)[0] == 0
    again = tmp_path / f"again{suffix}"
    assert run(capsys, "export", "votes", "--out", again, "--db", other)[0] == 0
    second = pd.read_parquet(again) if suffix == ".parquet" else pd.read_csv(again, dtype=str)
    cols = ["item_id", "labeler_id", "label", "round", "camera"]
    pd.testing.assert_frame_equal(first[cols].astype(str), second[cols].astype(str))
    assert state(other)[1][0] == 8


def test_export_to_an_unknown_suffix_or_folder(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "export", "votes", "--out", tmp_path / "x.txt", "--db", db) == (
        1,
        "",
        "error: cannot export to 'x.txt': expected a file name ending in .csv, .tsv or .parquet\n",
    )
    nowhere = tmp_path / "nowhere" / "x.csv"
    assert run(capsys, "export", "votes", "--out", nowhere, "--db", db)[2] == (
        f"error: cannot write 'x.csv': folder '{nowhere.parent}' does not exist; "
        "create it or choose another --out\n"
    )


# ---- analyze, consensus, recommend ---------------------------------------------------------
def test_analyze_prints_a_summary(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "analyze", "votes", *BOOT, "--db", db)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[:2] == [
        "dataset votes (each item's latest round)",
        "  3 items, 3 labelers, 6 annotations, 3 pairable items",
    ]
    assert lines[2].startswith("  Krippendorff's alpha (nominal): 0.444 [")
    assert "  Fleiss' kappa: 0.333" in lines
    assert "  percent agreement: 66.7%   Gwet's AC1: 0.333" in lines
    assert any(line.split()[:3] == ["ann", "3", "66.7%"] for line in lines)


def test_analyze_a_file_directly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "untouched.duckdb"
    votes = write(tmp_path, "votes.csv", VOTES)
    code, out, err = run(capsys, "analyze", votes, *BOOT, "--db", path)
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == "dataset votes (each item's latest round)"
    assert not path.exists()  # a temporary in-memory store
    code, _, err = run(capsys, "analyze", write(tmp_path, "odd.json", "[1, 2"), "--db", path)
    assert code == 1 and err.startswith("error: 1 problem in odd.json; nothing was imported:\n")


def test_analyze_json_of_the_sample(
    sample_db: Path, sample_latest: pd.DataFrame, capsys: pytest.CaptureFixture[str]
) -> None:
    result = analyze_json(capsys, "inspection", "--db", sample_db)
    assert result["dataset"]["items"] == sample_latest["item_id"].nunique() == 2000
    assert result["dataset"]["annotations"] == len(sample_latest)
    assert result["dataset"]["models"] == ["defect-net-v3"]
    assert result["options"]["n_boot"] == 100
    assert result["per_class"] and result["labelers"] and result["recommendations"]


def test_analyze_a_slice(
    sample_db: Path, sample_latest: pd.DataFrame, capsys: pytest.CaptureFixture[str]
) -> None:
    result = analyze_json(capsys, "inspection", "--slice", "camera=cam_C", "--db", sample_db)
    cam_c = sample_latest[sample_latest["camera"] == "cam_C"]
    assert result["view"] == "each item's latest round, camera = cam_C"
    assert result["dataset"]["items"] == cam_c["item_id"].nunique() == 524
    assert result["dataset"]["annotations"] == len(cam_c)
    assert [(s["field"], s["value"]) for s in result["slices"]][:1] == [("camera", "cam_C")]


def test_analyze_one_round(sample_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = pd.read_csv(sample_dir() / SAMPLE_ANNOTATIONS, dtype=str)
    result = analyze_json(capsys, "inspection", "--round", "1", "--db", sample_db)
    assert result["view"] == "round 1"
    assert result["dataset"]["items"] == 2000
    assert result["dataset"]["annotations"] == int((raw["round"] == "1").sum())


def test_analyze_some_labelers(
    sample_db: Path, sample_latest: pd.DataFrame, capsys: pytest.CaptureFixture[str]
) -> None:
    result = analyze_json(
        capsys, "inspection", "--labeler", "insp_07", "--labeler", "insp_01", "--db", sample_db
    )
    mine = sample_latest[sample_latest["labeler_id"].isin(["insp_01", "insp_07"])]
    assert result["view"] == "each item's latest round, labelers insp_07, insp_01"
    assert [r["labeler_id"] for r in result["labelers"]] == ["insp_01", "insp_07"]
    assert result["dataset"]["annotations"] == len(mine)


def test_consensus_majority_and_dawid_skene(
    sample_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "mv.csv"
    assert run(capsys, "consensus", "inspection", "--out", csv, "--db", sample_db) == (
        0,
        f"wrote 2000 items (majority) to {csv}\n",
        "",
    )
    mv = pd.read_csv(csv)
    assert list(mv.columns) == ["item_id", "label", "confidence", "tie", "tied_labels"]
    assert mv["item_id"].is_unique and len(mv) == 2000
    assert (mv["tied_labels"].notna() == mv["tie"]).all()
    parquet = tmp_path / "ds.parquet"
    code, out, _ = run(
        capsys, "consensus", "inspection", "--method", "dawid-skene", "--out", parquet,
        "--db", sample_db,
    )  # fmt: skip
    assert (code, out) == (0, f"wrote 2000 items (dawid-skene) to {parquet}\n")
    ds = pd.read_parquet(parquet)
    assert set(ds["item_id"]) == set(mv["item_id"])
    assert ds["confidence"].between(0, 1).all()


def test_recommend_ranks_actions(
    sample_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "recommend", "inspection", "--top", "2", *BOOT, "--db", sample_db)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert len(lines) == 4  # a headline and its evidence per row
    assert lines[0].startswith("1. ") and lines[2].startswith("2. ")
    assert " -> " in lines[0] and "score" in lines[0] and lines[1].startswith("   ")


def test_recommend_writes_a_table(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_file = tmp_path / "recs.csv"
    code, out, _ = run(capsys, "recommend", "votes", "--out", out_file, *BOOT, "--db", db)
    assert (
        code == 0 and out.startswith("wrote ") and out.endswith(f" recommendations to {out_file}\n")
    )
    assert list(pd.read_csv(out_file).columns) == [
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


# ---- errors of the analysis commands -------------------------------------------------------
UNKNOWN = "error: dataset 'nope' not found in the store. Datasets: votes\n"


@pytest.mark.parametrize(
    "args",
    [
        ("show", "nope"),
        ("lineage", "nope"),
        ("export", "nope", "--out", "x.csv"),
        ("analyze", "nope"),
        ("recommend", "nope"),
        ("consensus", "nope", "--out", "x.csv"),
        ("attach", "nope", "--gold", "gold.csv"),
    ],
)
def test_an_unknown_dataset(
    args: tuple[str, ...], db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, "gold.csv", "item_id,gold_label\na,cat\n")
    args = tuple(str(tmp_path / a) if a.endswith(".csv") else a for a in args)
    before = state(db)
    assert run(capsys, *args, "--db", db) == (1, "", UNKNOWN)
    assert state(db) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--labeler", "zz"), "labeler 'zz' not found in dataset 'votes'. Labelers: ann, bob, cid"),
        (("--round", "7"), "round '7' not found in dataset 'votes'. Rounds: 1"),
        (
            ("--slice", "lens=wide"),
            "metadata field 'lens' not found in dataset 'votes'. Fields: camera",
        ),
        (
            ("--slice", "camera=c9"),
            "value 'c9' of metadata field 'camera' not found in dataset 'votes'. Values: c1, c2",
        ),
        (("--slice", "camera"), "--slice expects COLUMN=VALUE; found 'camera'"),
        (
            ("--slice", "camera=c2", "--labeler", "cid"),
            "no annotations in this view of dataset 'votes' "
            "(each item's latest round, camera = c2, labelers cid); loosen the filters",
        ),
        (("--bootstrap", "0"), "the number of bootstrap draws must be at least 1; found 0"),
        (
            ("--level", "ordinal"),
            "the ordinal level needs numeric labels (or an explicit order); these labels are "
            "not all numbers. Use --level nominal, or give the order",
        ),
    ],
)
def test_a_view_or_option_that_does_not_fit(
    args: tuple[str, ...], message: str, db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "analyze", "votes", *args, "--db", db) == (1, "", f"error: {message}\n")


@pytest.mark.parametrize("command", ["show", "recommend", "consensus"])
def test_other_commands_check_the_view(
    command: str, db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    extra = ("--out", tmp_path / "c.csv") if command == "consensus" else ()
    code, _, err = run(capsys, command, "votes", "--labeler", "zz", *extra, "--db", db)
    assert (code, err) == (
        1,
        "error: labeler 'zz' not found in dataset 'votes'. Labelers: ann, bob, cid\n",
    )
    assert not (tmp_path / "c.csv").exists()


def test_a_target_that_is_neither_file_nor_dataset(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "analyze", "missing.csv", "--db", db) == (
        1,
        "",
        "error: 'missing.csv' is neither a file nor a dataset in the store. Datasets: votes\n",
    )


@pytest.mark.parametrize("command", ["consensus", "recommend"])
def test_output_into_a_missing_folder(
    command: str, db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nowhere = tmp_path / "nowhere" / "out.csv"
    assert run(capsys, command, "votes", "--out", nowhere, "--db", db) == (
        1,
        "",
        f"error: cannot write 'out.csv': folder '{nowhere.parent}' does not exist; "
        "create it or choose another --out\n",
    )


# ---- usage and help ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        ((), "the following arguments are required: COMMAND"),
        (("frobnicate",), "argument COMMAND: invalid choice: 'frobnicate'"),
        (("analyze",), "the following arguments are required: target"),
        (("export", "votes"), "the following arguments are required: --out"),
        (("analyze", "votes", "--bootstrap", "many"), "argument --bootstrap: invalid int value"),
        (("consensus", "votes", "--method", "vote", "--out", "c.csv"), "argument --method"),
        (("analyze", "votes", "--level", "loud"), "argument --level: invalid choice: 'loud'"),
    ],
)
def test_usage_errors_exit_2(
    args: tuple[str, ...], complaint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = usage(capsys, *args)
    assert (code, out) == (2, "")
    assert err.startswith("usage: consistency")
    assert complaint in err


HELP = {
    "import": ("FILE", "--format", "--dataset", "--round", "--field", "--db"),
    "attach": ("dataset", "--gold", "--predictions", "--db"),
    "datasets": ("--db",),
    "show": ("dataset", "--slice", "--round", "--labeler", "--db"),
    "export": ("dataset", "--out", "--db"),
    "lineage": ("dataset", "--json", "--db"),
    "analyze": (
        "target",
        "--level",
        "--bootstrap",
        "--seed",
        "--min-shared",
        "--fast-threshold",
        "--format",
        "--field",
        "--slice",
        "--round",
        "--labeler",
        "--json",
        "--db",
    ),  # fmt: skip
    "consensus": (
        "target",
        "--method",
        "--out",
        "--format",
        "--field",
        "--slice",
        "--round",
        "--labeler",
        "--db",
    ),  # fmt: skip
    "recommend": ("target", "--top", "--out", "--level", "--bootstrap", "--slice", "--db"),
}


@pytest.mark.parametrize("command", sorted(HELP))
def test_help_of_each_subcommand(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = usage(capsys, command, "--help")
    assert (code, err) == (0, "")
    assert out.startswith(f"usage: consistency {command} ")
    for option in HELP[command]:
        assert option in out, option


def test_help_and_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = usage(capsys, "--help")
    assert code == 0 and out.startswith("usage: consistency ")
    for command in HELP:
        assert f"    {command}" in out, command
    assert usage(capsys, "--version")[:2] == (0, f"consistency {__version__}\n")


# ---- the installed console script ------------------------------------------------------------
def test_the_console_script(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("consistency")
    assert script.is_file(), "the package is installed with its console script"
    db = tmp_path / "s.duckdb"
    votes = write(tmp_path, "votes.csv", VOTES)
    done = subprocess.run(
        [script, "import", votes, "--db", db], capture_output=True, text=True, timeout=120
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith("votes.csv: imported 6 rows (long) into dataset 'votes'")
    failed = subprocess.run(
        [script, "show", "nope", "--db", db], capture_output=True, text=True, timeout=120
    )
    assert (failed.returncode, failed.stdout, failed.stderr) == (1, "", UNKNOWN)


# ---- the docs keep up ------------------------------------------------------------------------
def _subcommands() -> dict[str, argparse.ArgumentParser]:
    (subparsers,) = [a for a in build_parser()._actions if a.choices and a.dest == "command"]
    return dict(subparsers.choices)


def test_every_subcommand_and_option_is_documented(monkeypatch: pytest.MonkeyPatch) -> None:
    doc = (Path(__file__).resolve().parents[1] / "docs" / "cli.md").read_text(encoding="utf-8")
    for name in _subcommands():  # extensions included
        assert f"`{name}`" in doc, name
    monkeypatch.setattr(cli, "EXTENSIONS", ())  # the options of the command itself
    for name, sub in _subcommands().items():
        for action in sub._actions:
            for option in action.option_strings:
                assert option in ("-h", "--help") or option in doc, (name, option)
