"""The view <-> query-string round trip, pinned by tables (datasette style)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consistency.errors import InvalidArgument
from consistency.store import ViewFilter
from consistency.ui.state import (
    LEVELS,
    NORMALIZATIONS,
    PAGES,
    Catalog,
    View,
    check_view,
    listed,
    page_info,
    parse_query,
    value_sort_key,
)

# ---- query string -> view ----------------------------------------------------------
PARSE_CASES: list[tuple[str, View]] = [
    ("", View()),
    ("dataset=inspection", View(dataset="inspection")),
    ("dataset=a+b", View(dataset="a b")),
    ("dataset=caf%C3%A9", View(dataset="café")),
    ("class=dent", View(cls="dent")),
    ("class=", View()),
    ("class=dent&class=crack", View(cls="crack")),
    ("class=scratch%26dent", View(cls="scratch&dent")),
    ("pair=crack&pair=dent", View(pair=("crack", "dent"))),
    ("pair=dent&pair=crack", View(pair=("dent", "crack"))),
    ("pair=dent&pair=dent&pair=crack", View(pair=("dent", "crack"))),
    ("labeler=insp_07", View(labeler="insp_07")),
    ("item=img_00042", View(item="img_00042")),
    ("by=camera", View(by="camera")),
    ("level=ordinal", View(level="ordinal")),
    ("level=nominal", View()),
    ("normalize=row", View(normalize="row")),
    ("normalize=count", View()),
    ("round=2", View(round="2")),
    ("round=all", View(round="all")),
    ("round=latest", View()),
    ("round=", View()),
    ("labelers=b&labelers=a", View(labelers=("a", "b"))),
    ("labelers=a&labelers=a", View(labelers=("a",))),
    ("labelers=10&labelers=9", View(labelers=("9", "10"))),
    ("labelers=&labelers=a", View(labelers=("a",))),
    ("meta.camera=cam_C", View(metadata=(("camera", ("cam_C",)),))),
    (
        "meta.camera=cam_C&meta.camera=cam_A",
        View(metadata=(("camera", ("cam_A", "cam_C")),)),
    ),
    (
        "meta.shift=night&meta.camera=cam_A",
        View(metadata=(("camera", ("cam_A",)), ("shift", ("night",)))),
    ),
    ("meta.line=10&meta.line=2", View(metadata=(("line", ("2", "10")),))),
    ("meta.camera=", View()),
    ("meta.shift+type=night", View(metadata=(("shift type", ("night",)),))),
    ("from=2025-03-03", View(time_from=date(2025, 3, 3))),
    ("to=2025-03-05", View(time_to=date(2025, 3, 5))),
    (
        "from=2025-03-03&to=2025-03-03",
        View(time_from=date(2025, 3, 3), time_to=date(2025, 3, 3)),
    ),
    ("sort=alpha", View(extra=(("sort", "alpha"),))),
    ("sort=alpha&top=5", View(extra=(("sort", "alpha"), ("top", "5")))),
    ("embed=true&dataset=d", View(dataset="d")),
    ("?dataset=d", View(dataset="d")),
    (
        "dataset=inspection&round=2&labelers=insp_07&meta.camera=cam_C&class=dent&level=ordinal",
        View(
            dataset="inspection",
            round="2",
            labelers=("insp_07",),
            metadata=(("camera", ("cam_C",)),),
            cls="dent",
            level="ordinal",
        ),
    ),
]


@pytest.mark.parametrize(
    ("query", "expected"), PARSE_CASES, ids=[c[0] or "empty" for c in PARSE_CASES]
)
def test_parse(query: str, expected: View) -> None:
    view, problems = parse_query(query)
    assert problems == []
    assert view == expected


def test_parse_accepts_a_mapping_and_pairs() -> None:
    expected = View(dataset="d", labelers=("a", "b"))
    assert View.from_query({"dataset": "d", "labelers": ["b", "a"]}) == expected
    assert View.from_query([("dataset", "d"), ("labelers", "a"), ("labelers", "b")]) == expected


def test_parse_sets_the_page() -> None:
    assert View.from_query("", page="Slices and rounds").page == "slices"
    assert View.from_query("", page="data").page == "data"


# ---- view -> query string --------------------------------------------------------
WRITE_CASES: list[tuple[View, str]] = [
    (View(), ""),
    (View(page="data"), ""),
    (View(dataset="d"), "dataset=d"),
    (View(dataset="a b&c"), "dataset=a+b%26c"),
    (View(dataset="d", cls="dent"), "dataset=d&class=dent"),
    (View(pair=("crack", "dent")), "pair=crack&pair=dent"),
    (View(labeler="x", item="i", by="camera"), "labeler=x&item=i&by=camera"),
    (View(level="interval", normalize="column"), "level=interval&normalize=column"),
    (View(round="all"), "round=all"),
    (View(labelers=("a", "b")), "labelers=a&labelers=b"),
    (
        View(metadata=(("camera", ("cam_A", "cam_C")), ("shift", ("day",)))),
        "meta.camera=cam_A&meta.camera=cam_C&meta.shift=day",
    ),
    (View(time_from=date(2025, 3, 3), time_to=date(2025, 3, 5)), "from=2025-03-03&to=2025-03-05"),
    (View(dataset="d", extra=(("sort", "alpha"),)), "dataset=d&sort=alpha"),
    (
        View(
            dataset="d",
            cls="c",
            pair=("a", "b"),
            labeler="l",
            item="i",
            by="f",
            level="ratio",
            normalize="row",
            round="1",
            labelers=("x",),
            metadata=(("f", ("v",)),),
            time_from=date(2025, 1, 1),
            time_to=date(2025, 1, 2),
            extra=(("z", "1"),),
        ),
        "dataset=d&class=c&pair=a&pair=b&labeler=l&item=i&by=f&level=ratio&normalize=row"
        "&round=1&labelers=x&meta.f=v&from=2025-01-01&to=2025-01-02&z=1",
    ),
]


@pytest.mark.parametrize(
    ("view", "expected"), WRITE_CASES, ids=[c[1] or "empty" for c in WRITE_CASES]
)
def test_write(view: View, expected: str) -> None:
    assert view.query_string() == expected
    assert View.from_query(expected, page=view.page) == view


def test_to_params_groups_repeated_parameters() -> None:
    view = View(dataset="d", labelers=("a", "b"), metadata=(("camera", ("c",)),))
    assert view.to_params() == {"dataset": "d", "labelers": ["a", "b"], "meta.camera": "c"}


# ---- problems: unusable values, word for word --------------------------------------
PROBLEM_CASES: list[tuple[str, str, str]] = [
    (
        "level=loud",
        "level",
        "level 'loud' is not a level of measurement. Expected one of: nominal, ordinal, interval, ratio",
    ),
    (
        "normalize=total",
        "normalize",
        "normalize 'total' is not a normalization. Expected one of: count, row, column",
    ),
    ("pair=dent", "pair", "pair needs two different classes (pair=a&pair=b); found 'dent'"),
    (
        "pair=dent&pair=dent",
        "pair",
        "pair needs two different classes (pair=a&pair=b); found 'dent'",
    ),
    (
        "pair=a&pair=b&pair=c",
        "pair",
        "pair needs two different classes (pair=a&pair=b); found 'a', 'b', 'c'",
    ),
    ("from=yesterday", "from", "from 'yesterday' is not a date; expected YYYY-MM-DD"),
    ("to=2025-02-30", "to", "to '2025-02-30' is not a date; expected YYYY-MM-DD"),
    (
        "from=2025-03-05&to=2025-03-01",
        "from",
        "from 2025-03-05 is after to 2025-03-01; expected from <= to",
    ),
    ("meta.=x", "meta.", "'meta.' names no metadata field; expected meta.<field>=<value>"),
]


@pytest.mark.parametrize(
    ("query", "param", "message"), PROBLEM_CASES, ids=[c[0] for c in PROBLEM_CASES]
)
def test_problem(query: str, param: str, message: str) -> None:
    view, problems = parse_query(query)
    assert [(p.param, p.message) for p in problems] == [(param, message)]
    # the unusable value is left out of the view
    assert view == View()


def test_from_query_raises_with_every_problem() -> None:
    with pytest.raises(InvalidArgument) as info:
        View.from_query("level=loud&from=x")
    assert str(info.value) == (
        "cannot use this link:\n"
        "  - level 'loud' is not a level of measurement. Expected one of: nominal, ordinal, "
        "interval, ratio\n"
        "  - from 'x' is not a date; expected YYYY-MM-DD"
    )


def test_unknown_page() -> None:
    with pytest.raises(InvalidArgument, match=r"^unknown page 'Nope'\. Pages: Overview, Classes, "):
        page_info("Nope")


# ---- checking a view against the store's catalog -------------------------------------
CATALOG = Catalog(
    datasets=("defects", "other"),
    dataset="defects",
    classes=("crack", "dent", "ok"),
    labelers=("ann", "bob", "cy"),
    rounds=("1", "2"),
    metadata=(("camera", ("cam_A", "cam_B")), ("shift", ("day", "night"))),
    time_range=(date(2025, 3, 3), date(2025, 3, 5)),
)

CHECK_CASES: list[tuple[str, View, list[str]]] = [
    ("dataset=defects", View(dataset="defects"), []),
    (
        "dataset=defects&class=dent&pair=crack&pair=ok&labeler=bob&by=shift&round=2"
        "&labelers=ann&meta.camera=cam_A&from=2025-03-04",
        View(
            dataset="defects",
            cls="dent",
            pair=("crack", "ok"),
            labeler="bob",
            by="shift",
            round="2",
            labelers=("ann",),
            metadata=(("camera", ("cam_A",)),),
            time_from=date(2025, 3, 4),
        ),
        [],
    ),
    ("dataset=defects&round=all", View(dataset="defects", round="all"), []),
    (
        "dataset=nope&class=dent&level=ordinal",
        View(level="ordinal"),
        ["dataset 'nope' not found in the store. Datasets: defects, other"],
    ),
    (
        "dataset=defects&class=dnet",
        View(dataset="defects"),
        ["class 'dnet' not found in dataset 'defects'. Classes: crack, dent, ok"],
    ),
    (
        "dataset=defects&pair=dent&pair=scratch",
        View(dataset="defects"),
        ["class 'scratch' not found in dataset 'defects'. Classes: crack, dent, ok"],
    ),
    (
        "dataset=defects&labeler=dan",
        View(dataset="defects"),
        ["labeler 'dan' not found in dataset 'defects'. Labelers: ann, bob, cy"],
    ),
    (
        "dataset=defects&labelers=ann&labelers=dan&labelers=eve",
        View(dataset="defects", labelers=("ann",)),
        [
            "labeler 'dan' not found in dataset 'defects'. Labelers: ann, bob, cy",
            "labeler 'eve' not found in dataset 'defects'. Labelers: ann, bob, cy",
        ],
    ),
    (
        "dataset=defects&round=3",
        View(dataset="defects"),
        ["round '3' not found in dataset 'defects'. Rounds: 1, 2"],
    ),
    (
        "dataset=defects&by=colour",
        View(dataset="defects"),
        ["metadata field 'colour' not found in dataset 'defects'. Fields: camera, shift"],
    ),
    (
        "dataset=defects&meta.colour=red&meta.shift=day",
        View(dataset="defects", metadata=(("shift", ("day",)),)),
        ["metadata field 'colour' not found in dataset 'defects'. Fields: camera, shift"],
    ),
    (
        "dataset=defects&meta.camera=cam_A&meta.camera=cam_Z",
        View(dataset="defects", metadata=(("camera", ("cam_A",)),)),
        ["camera value 'cam_Z' not found in dataset 'defects'. Values of camera: cam_A, cam_B"],
    ),
    (
        "dataset=defects&meta.camera=cam_Z",
        View(dataset="defects"),
        ["camera value 'cam_Z' not found in dataset 'defects'. Values of camera: cam_A, cam_B"],
    ),
]


@pytest.mark.parametrize(
    ("query", "expected", "messages"), CHECK_CASES, ids=[c[0] for c in CHECK_CASES]
)
def test_check(query: str, expected: View, messages: list[str]) -> None:
    view, problems = check_view(View.from_query(query), CATALOG)
    assert view == expected
    assert [p.message for p in problems] == messages


def test_check_without_times() -> None:
    catalog = Catalog(datasets=("d",), dataset="d")
    view, problems = check_view(View.from_query("dataset=d&from=2025-03-03"), catalog)
    assert view == View(dataset="d")
    assert [p.message for p in problems] == [
        "dataset 'd' has no submission times; the time window from=2025-03-03 cannot be applied"
    ]


def test_check_empty_store() -> None:
    view, problems = check_view(View(dataset="d"), Catalog())
    assert view == View()
    assert problems[0].message == (
        "dataset 'd' not found in the store. Datasets: none yet; import a file first"
    )


def test_listed_caps_long_lists() -> None:
    assert listed([f"c{i}" for i in range(25)]).endswith("c19 ... and 5 more")
    assert listed([]) == "none"


# ---- words ---------------------------------------------------------------------------
DESCRIBE_CASES: list[tuple[str, str, str]] = [
    ("", "overview", "Overview: no dataset selected."),
    (
        "dataset=d",
        "overview",
        "Overview of dataset 'd': each item's latest round, all items, all labelers.",
    ),
    (
        "dataset=d&round=all",
        "data",
        "Data of dataset 'd': all rounds pooled, all items, all labelers.",
    ),
    ("dataset=d&round=2", "classes", "Classes of dataset 'd': round 2, all items, all labelers."),
    (
        "dataset=d&meta.camera=cam_A&meta.camera=cam_B&meta.shift=night",
        "overview",
        "Overview of dataset 'd': each item's latest round, "
        "items with camera = cam_A or cam_B and shift = night, all labelers.",
    ),
    (
        "dataset=d&labelers=ann",
        "overview",
        "Overview of dataset 'd': each item's latest round, all items, labeler ann.",
    ),
    (
        "dataset=d&labelers=ann&labelers=bob",
        "overview",
        "Overview of dataset 'd': each item's latest round, all items, labelers ann and bob.",
    ),
    (
        "dataset=d&from=2025-03-03&to=2025-03-05",
        "overview",
        "Overview of dataset 'd': each item's latest round, all items, all labelers, "
        "submitted from 2025-03-03 to 2025-03-05.",
    ),
    (
        "dataset=d&from=2025-03-03",
        "overview",
        "Overview of dataset 'd': each item's latest round, all items, all labelers, "
        "submitted from 2025-03-03 on.",
    ),
    (
        "dataset=d&to=2025-03-05",
        "overview",
        "Overview of dataset 'd': each item's latest round, all items, all labelers, "
        "submitted up to 2025-03-05.",
    ),
    (
        "dataset=d&class=dent&level=ordinal",
        "classes",
        "Classes of dataset 'd': each item's latest round, all items, all labelers; "
        "class 'dent', ordinal level.",
    ),
    (
        "dataset=d&pair=crack&pair=dent&normalize=row",
        "confusion",
        "Confusion of dataset 'd': each item's latest round, all items, all labelers; "
        "classes 'crack' and 'dent', counts normalized by row.",
    ),
    (
        "dataset=d&labeler=insp_07&item=img_1&by=camera",
        "labelers",
        "Labelers of dataset 'd': each item's latest round, all items, all labelers; "
        "labeler 'insp_07', item 'img_1', sliced by camera.",
    ),
    (
        "dataset=d&round=1",
        "slices",
        "Slices and rounds of dataset 'd': round 1, all items, all labelers.",
    ),
]


@pytest.mark.parametrize(
    ("query", "page", "sentence"), DESCRIBE_CASES, ids=[f"{c[1]}:{c[0]}" for c in DESCRIBE_CASES]
)
def test_describe(query: str, page: str, sentence: str) -> None:
    assert View.from_query(query, page=page).describe() == sentence


# ---- the store filter ----------------------------------------------------------------
FILTER_CASES: list[tuple[str, ViewFilter]] = [
    ("", ViewFilter()),
    ("round=all", ViewFilter(rounds=("*",))),
    ("round=2", ViewFilter(rounds=("2",))),
    ("labelers=b&labelers=a", ViewFilter(labelers=("a", "b"))),
    ("meta.camera=cam_A", ViewFilter(metadata=(("camera", ("cam_A",)),))),
    (
        "from=2025-03-03&to=2025-03-05",
        ViewFilter(
            time_from=datetime(2025, 3, 3, tzinfo=UTC), time_to=datetime(2025, 3, 6, tzinfo=UTC)
        ),
    ),
]


@pytest.mark.parametrize(
    ("query", "expected"), FILTER_CASES, ids=[c[0] or "empty" for c in FILTER_CASES]
)
def test_view_filter(query: str, expected: ViewFilter) -> None:
    assert View.from_query(query).view_filter() == expected


# ---- derived views -------------------------------------------------------------------
def test_for_page_keeps_dataset_filters_and_level_only() -> None:
    view = View.from_query(
        "dataset=d&class=c&pair=a&pair=b&labeler=l&item=i&by=f&level=ordinal&normalize=row"
        "&round=2&labelers=x&meta.f=v&from=2025-01-01&to=2025-01-02&sort=z",
        page="classes",
    )
    assert view.for_page("Data").query_string() == (
        "dataset=d&level=ordinal&round=2&labelers=x&meta.f=v&from=2025-01-01&to=2025-01-02"
    )


def test_with_dataset_resets_what_depends_on_the_dataset() -> None:
    view = View.from_query(
        "dataset=d&class=c&round=2&labelers=x&level=ratio&sort=z", page="classes"
    )
    assert view.with_dataset("e") == View(
        dataset="e", page="classes", level="ratio", extra=(("sort", "z"),)
    )


def test_with_metadata() -> None:
    view = View().with_metadata("shift", ["night", "day", "day"]).with_metadata("camera", ["c"])
    assert view.metadata == (("camera", ("c",)), ("shift", ("day", "night")))
    assert view.with_metadata("shift", []).metadata == (("camera", ("c",)),)
    assert view.metadata_values("shift") == ("day", "night")


def test_repr_shows_what_differs_from_the_default() -> None:
    assert repr(View(dataset="d", round="2")) == "View(dataset='d', round='2')"


def test_pages_have_unique_ids_paths_and_scripts() -> None:
    for attr in ("id", "title", "script", "path"):
        values = [getattr(p, attr) for p in PAGES]
        assert len(set(values)) == len(values), attr
    assert PAGES[0].script == "app.py"
    assert all(p.script == f"pages/{i + 1}_{p.path}.py" for i, p in enumerate(PAGES) if i)


# ---- property: every canonical view survives the round trip ----------------------------
_KNOWN = {
    "dataset",
    "compare",
    "class",
    "pair",
    "labeler",
    "item",
    "by",
    "level",
    "normalize",
    "round",
    "labelers",
    "from",
    "to",
    "embed",
    "embed_options",
}
_text = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=12)
_names = st.lists(_text, min_size=1, max_size=4, unique=True).map(
    lambda xs: tuple(sorted(xs, key=value_sort_key))
)


@st.composite
def views(draw: st.DrawFn) -> View:
    dates = sorted(draw(st.lists(st.dates(), min_size=2, max_size=2)))
    pair = draw(st.none() | st.lists(_text, min_size=2, max_size=2, unique=True).map(tuple))
    extra_name = _text.filter(lambda s: s not in _KNOWN and not s.startswith("meta."))
    return View(
        dataset=draw(st.none() | _text),
        page=draw(st.sampled_from([p.id for p in PAGES])),
        cls=draw(st.none() | _text),
        pair=pair,
        labeler=draw(st.none() | _text),
        item=draw(st.none() | _text),
        by=draw(st.none() | _text),
        level=draw(st.sampled_from(LEVELS)),
        normalize=draw(st.sampled_from(NORMALIZATIONS)),
        round=draw(_text),
        labelers=draw(st.just(()) | _names),
        metadata=tuple(sorted(draw(st.dictionaries(_text, _names, max_size=3)).items())),
        time_from=draw(st.none() | st.just(dates[0])),
        time_to=draw(st.none() | st.just(dates[1])),
        extra=tuple(draw(st.lists(st.tuples(extra_name, st.text(max_size=5)), max_size=2))),
    )


@given(views())
def test_round_trip_property(view: View) -> None:
    assert View.from_query(view.query_string(), page=view.page) == view
    assert View.from_query(view.to_params(), page=view.page) == view
    assert view.describe().endswith(".")
