"""The public API of consistency.io: sources, format names, options, error shape."""

from __future__ import annotations

import pytest

from consistency.errors import ImportFailed, InvalidArgument, UnknownFormat
from consistency.io import DETECTION_ORDER, FORMATS, Source, read_path, read_source

LONG = b"item,worker,label\nt1,w1,cat\nt1,w2,dog\n"


def test_formats_are_the_documented_names() -> None:
    assert FORMATS == (
        "long", "wide", "labelstudio-json", "labelstudio-json-min", "labelstudio-csv",
        "toloka", "prodigy", "crowdkit",
    )  # fmt: skip
    assert sorted(i.name for i in DETECTION_ORDER) == sorted(FORMATS)


def test_read_path_uses_the_basename_in_messages(tmp_path) -> None:
    path = tmp_path / "votes.csv"
    path.write_bytes(b"item,worker,label\nt1,w1,\n")
    with pytest.raises(ImportFailed) as err:
        read_path(path)
    assert err.value.problems[0].message == (
        "votes.csv, line 2, field 'label': expected a label; found an empty value"
    )


def test_read_path_reads_a_file(tmp_path) -> None:
    path = tmp_path / "votes.csv"
    path.write_bytes(LONG)
    result = read_path(str(path))
    assert result.format == "long"
    assert list(result.annotations["labeler_id"]) == ["w1", "w2"]


def test_missing_file_is_an_import_problem(tmp_path) -> None:
    missing = tmp_path / "nope.csv"
    with pytest.raises(ImportFailed) as err:
        Source.from_path(missing)
    (problem,) = err.value.problems
    assert problem.code == "unreadable_file"
    assert problem.file == "nope.csv"
    assert problem.message == f"nope.csv: expected a readable file; found no file at '{missing}'"


def test_directory_is_an_import_problem(tmp_path) -> None:
    with pytest.raises(ImportFailed, match="is a directory"):
        Source.from_path(tmp_path)


def test_unknown_format_name_lists_the_formats() -> None:
    with pytest.raises(InvalidArgument) as err:
        read_source(Source("a.csv", LONG), format="excel")
    assert str(err.value) == (
        "unknown format 'excel'; formats: long, wide, labelstudio-json, labelstudio-json-min, "
        "labelstudio-csv, toloka, prodigy, crowdkit"
    )


def test_field_is_refused_for_formats_with_one_label() -> None:
    with pytest.raises(InvalidArgument) as err:
        read_source(Source("a.csv", LONG), field="label")
    assert str(err.value) == (
        "field 'label' cannot be used with the long format, which has one label column; "
        "field chooses the label of Label Studio and Toloka files"
    )


def test_forced_format_of_the_wrong_kind() -> None:
    with pytest.raises(ImportFailed) as err:
        read_source(Source("a.json", b'[{"a": 1}]'), format="toloka")
    assert str(err.value) == (
        "1 problem in a.json; nothing was imported:\n"
        "  - a.json: expected toloka: a TSV table; found a JSON array"
    )


def test_forced_format_wins_over_detection() -> None:
    data = b"item,gold,ann,bob\nt1,cat,cat,dog\n"
    assert read_source(Source("w.csv", data)).format == "wide"
    with pytest.raises(ImportFailed, match="expected a labeler column"):
        read_source(Source("w.csv", data), format="long")


def test_unknown_format_is_an_import_failed_with_one_problem_per_format() -> None:
    with pytest.raises(UnknownFormat) as err:
        read_source(Source("notes.txt", b"hello world\nsecond line\n"))
    assert isinstance(err.value, ImportFailed)
    assert [p.expected.split(":")[0] for p in err.value.problems] == [
        i.name for i in DETECTION_ORDER
    ]
    assert str(err.value).startswith(
        "notes.txt is a CSV table with columns hello world, in none of the known formats; "
        "choose one with --format if it is close to one (tried labelstudio-json, "
    )


def test_problems_are_all_kept_while_the_message_is_capped() -> None:
    rows = b"".join(b"t%d,w,\n" % i for i in range(30))
    with pytest.raises(ImportFailed) as err:
        read_source(Source("x.csv", b"item,worker,label\n" + rows))
    assert len(err.value.problems) == 30
    assert str(err.value).endswith("  ... and 10 more")
    assert err.value.table()[0]["line"] == 2


def test_warnings_travel_with_errors_and_with_results() -> None:
    data = b"item,worker,label\nt1,w1,a\nt1,w1,b\n"
    result = read_source(Source("r.csv", data))
    assert [w.code for w in result.warnings] == ["repeat"]
    assert all(w.severity == "warning" for w in result.warnings)
    assert result.stats["repeats"] == 1
    with pytest.raises(ImportFailed) as err:
        read_source(Source("r.csv", data + b"t2,w1,\n"))
    assert [w.code for w in err.value.warnings] == ["repeat"]
    assert [p.code for p in err.value.problems] == ["empty_label"]


def test_stats_count_rows() -> None:
    result = read_source(Source("a.csv", LONG))
    assert result.stats == {
        "items": 1,
        "repeats": 0,
        "rows_kept": 2,
        "rows_read": 2,
        "rows_rejected": 0,
    }


def test_detection_does_not_trust_the_extension() -> None:
    assert read_source(Source("votes.json", LONG)).format == "long"
    jsonl = (
        b'{"item": "a", "worker": "w", "label": "x"}\n{"item": "b", "worker": "w", "label": "y"}\n'
    )
    assert read_source(Source("votes.csv", jsonl)).format == "long"
