"""Properties: long tables survive a CSV round trip; no input makes an importer crash."""

from __future__ import annotations

import csv
import io
import json

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consistency.errors import ConsistencyError, ImportFailed
from consistency.io import FORMATS, Source, read_source
from consistency.schema import label_value

_chars = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
ids = st.text(_chars, min_size=1, max_size=12).map(str.strip).filter(bool)
labels = st.one_of(
    st.text(_chars, min_size=1, max_size=20).filter(str.strip),
    st.sampled_from(
        ["a,b", 'say "hi"', "two\nlines", "tab\there", " padded ", "1e3", "007", "-0.5"]
    ),
    st.integers(-1000, 1000).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
)
rows = st.lists(st.tuples(ids, ids, labels), min_size=1, max_size=30)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=rows, sep=st.sampled_from([",", "\t"]))
def test_long_table_round_trips_through_csv(rows: list[tuple[str, str, str]], sep: str) -> None:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=sep)  # RFC 4180 quoting, CRLF line ends
    writer.writerow(["item_id", "labeler_id", "label"])
    writer.writerows(rows)
    data = out.getvalue().encode("utf-8")
    result = read_source(Source("round.csv", data), format="long")
    got = result.annotations
    assert list(zip(got["item_id"], got["labeler_id"], got["label"], strict=True)) == rows
    expected_values = [label_value(label) for _, _, label in rows]
    assert [None if pd.isna(v) else v for v in got["label_value"]] == expected_values
    assert result.stats["rows_kept"] == len(rows)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)
keys = st.sampled_from(
    ["id", "data", "annotations", "predictions", "result", "completed_by", "was_cancelled", "ground_truth",
     "lead_time", "from_name", "value", "choices", "type", "answer", "accept", "options", "label",
     "_input_hash", "_annotator_id", "annotator", "annotation_id", "item", "worker", "task", "meta", "_timestamp"]
)  # fmt: skip
shaped = st.recursive(
    json_values,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=6),
    max_leaves=25,
)


def _never_crashes(data: bytes, fmt: str | None = None) -> None:
    try:
        read_source(Source("fuzz", data), format=fmt)
    except ImportFailed as e:
        assert e.problems
        assert all(p.code != "internal_error" for p in e.problems), e
    except ConsistencyError:
        pass


@settings(max_examples=300, deadline=None)
@given(value=shaped, lines=st.booleans())
def test_any_json_gives_a_result_or_problems(value: object, lines: bool) -> None:
    if lines and isinstance(value, list):
        data = "\n".join(json.dumps(v) for v in value).encode()
    else:
        data = json.dumps(value).encode()
    _never_crashes(data)


@settings(max_examples=100, deadline=None)
@given(value=shaped, fmt=st.sampled_from(FORMATS))
def test_any_json_with_a_forced_format_gives_a_result_or_problems(value: object, fmt: str) -> None:
    _never_crashes(json.dumps([value, value]).encode(), fmt)


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=200))
def test_any_bytes_give_a_result_or_problems(data: bytes) -> None:
    _never_crashes(data)


@settings(max_examples=200, deadline=None)
@given(
    header=st.lists(st.sampled_from(["item", "worker", "label", "gold", "INPUT:x", "OUTPUT:y", "ASSIGNMENT:worker_id",
                                     "annotator", "annotation_id", "id", "duration", "started_at", "true_label", "x"]),
                    min_size=1, max_size=6, unique=True),
    cells=st.lists(st.lists(st.sampled_from(["", "a", "1", "2.5", "x y", "2024-01-01", "-5", "true"]), min_size=6, max_size=6), max_size=5),
    fmt=st.sampled_from([None, *FORMATS]),
)  # fmt: skip
def test_any_table_gives_a_result_or_problems(
    header: list[str], cells: list[list[str]], fmt: str | None
) -> None:
    lines = [",".join(header)] + [",".join(row[: len(header)]) for row in cells]
    _never_crashes("\n".join(lines).encode(), fmt)


def _either(plausible: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(plausible, plausible, json_values)


choice_result = st.fixed_dictionaries(
    {"type": _either(st.just("choices")), "from_name": _either(st.sampled_from(["s", "t"])),
     "value": _either(st.fixed_dictionaries({"choices": _either(st.lists(st.sampled_from(["A", "B", ""]), max_size=2))})),
     "score": _either(st.floats(0, 1))}
)  # fmt: skip
annotation = st.fixed_dictionaries(
    {"id": _either(st.integers(1, 5)), "completed_by": _either(st.integers(1, 3) | st.fixed_dictionaries({"email": st.sampled_from(["a@x", ""]), "id": st.integers(1, 3)})),
     "result": _either(st.lists(choice_result, max_size=2)), "was_cancelled": _either(st.booleans()),
     "ground_truth": _either(st.booleans()), "lead_time": _either(st.floats(-10, 1e6)),
     "created_at": _either(st.just("2024-01-01T00:00:00Z"))}
)  # fmt: skip
task = st.fixed_dictionaries(
    {"id": _either(st.integers(1, 4)), "data": _either(st.fixed_dictionaries({"image": st.just("/a.png"), "item_id": _either(st.sampled_from(["x", "y"]))})),
     "annotations": _either(st.lists(annotation, max_size=3)),
     "predictions": _either(st.lists(st.integers(1, 3) | st.fixed_dictionaries({"model_version": _either(st.sampled_from(["m", "consensus"])), "result": st.lists(choice_result, max_size=2)}), max_size=2))}
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(tasks=st.lists(task, min_size=1, max_size=4), field=st.sampled_from([None, "s", "t"]))
def test_any_labelstudio_like_tasks_give_a_result_or_problems(
    tasks: list, field: str | None
) -> None:
    try:
        read_source(Source("ls.json", json.dumps(tasks).encode()), field=field)
    except ImportFailed as e:
        assert all(p.code != "internal_error" for p in e.problems), e
    except ConsistencyError:
        pass
