"""The view: every piece of dashboard state that lives in the URL, as a pure value.

A :class:`View` is what a page shows: the dataset, the page, the focus (a class,
a pair of classes, a labeler, an item, the metadata field to slice by), the
metric choices (level of measurement, confusion normalization) and the filters
(round, labelers, metadata values, time window). It is built from the query
string and written back to it; the parameter of a value at its default is left
out, so links stay short. Nothing here imports Streamlit: the class is tested
with tables of query strings.

Query parameters (repeated parameters carry lists)::

    dataset=inspection          the dataset id
    class=dent                  the class in focus
    pair=crack&pair=dent        a pair of classes (exactly two)
    labeler=insp_07             the labeler in focus
    item=img_00042              the item in focus
    by=camera                   the metadata field to slice by
    compare=1&compare=2         two labeling rounds compared (from, to)
    level=ordinal               level of measurement (default nominal)
    normalize=row               confusion normalization: count (default), row, column
    round=2                     latest (default: each item's latest round), all, or a round
    labelers=insp_01&labelers=insp_02   keep these labelers only
    meta.camera=cam_A           keep items whose metadata field camera is cam_A (repeat for "or")
    from=2025-03-03&to=2025-03-05       submitted on these days (both included)

A round literally named ``latest`` or ``all`` cannot be chosen alone: those two
words mean each item's latest round and all rounds pooled. Parameters the view
does not know (added by a page for its own widgets) are kept as they are.

>>> v = View.from_query("dataset=inspection&round=2&meta.camera=cam_C")
>>> v.query_string()
'dataset=inspection&round=2&meta.camera=cam_C'
>>> v.describe()
"Overview of dataset 'inspection': round 2, items with camera = cam_C, all labelers."
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import parse_qsl, urlencode

from consistency.errors import DatasetNotFound, InvalidArgument
from consistency.metrics.alpha import LEVELS
from consistency.store import ViewFilter

DATASET = "dataset"
CLASS = "class"
PAIR = "pair"
COMPARE = "compare"
LABELER = "labeler"
ITEM = "item"
BY = "by"
LEVEL = "level"
NORMALIZE = "normalize"
ROUND = "round"
LABELERS = "labelers"
META_PREFIX = "meta."
FROM = "from"
TO = "to"

ROUND_LATEST = "latest"
ROUND_ALL = "all"
DEFAULT_LEVEL = "nominal"
NORMALIZATIONS: tuple[str, ...] = ("count", "row", "column")
DEFAULT_NORMALIZE = "count"

#: Parameters Streamlit itself reads; never part of a view.
RESERVED_PARAMS = frozenset({"embed", "embed_options"})

#: How many known values an error message lists before "... and N more".
LISTED_VALUES = 20


@dataclass(frozen=True)
class PageInfo:
    """One dashboard page: its id, its title, its script and its URL path."""

    id: str
    title: str
    script: str
    path: str
    icon: str


#: Every page of the dashboard, in navigation order. A page's script is
#: ``app.py`` (the first page) or ``pages/N_Name.py``; its URL path is ``Name``.
PAGES: tuple[PageInfo, ...] = (
    PageInfo("overview", "Overview", "app.py", "", ":material/dashboard:"),
    PageInfo("classes", "Classes", "pages/2_Classes.py", "Classes", ":material/category:"),
    PageInfo("confusion", "Confusion", "pages/3_Confusion.py", "Confusion", ":material/grid_on:"),
    PageInfo(
        "recommendations",
        "Recommendations",
        "pages/4_Recommendations.py",
        "Recommendations",
        ":material/lightbulb:",
    ),
    PageInfo("labelers", "Labelers", "pages/5_Labelers.py", "Labelers", ":material/group:"),
    PageInfo("items", "Items", "pages/6_Items.py", "Items", ":material/image:"),
    PageInfo("slices", "Slices and rounds", "pages/7_Slices.py", "Slices", ":material/filter_alt:"),
    PageInfo("data", "Data", "pages/8_Data.py", "Data", ":material/upload_file:"),
)
_PAGES_BY_ID = {p.id: p for p in PAGES}


def page_info(page: str) -> PageInfo:
    """The page with this id or title (case-insensitive), else InvalidArgument.

    >>> page_info("Slices and rounds").id
    'slices'
    """
    wanted = page.strip().lower()
    for p in PAGES:
        if wanted in (p.id, p.title.lower()):
            return p
    raise InvalidArgument(f"unknown page '{page}'. Pages: {', '.join(p.title for p in PAGES)}")


@dataclass(frozen=True)
class ViewProblem:
    """A value of the URL that cannot be used: the parameter, the value, and why."""

    param: str
    value: str
    message: str


def listed(values: Iterable[str], limit: int = LISTED_VALUES) -> str:
    """Values joined by commas, capped with "... and N more"; "none" when empty.

    >>> listed(["a", "b", "c"], limit=2)
    'a, b ... and 1 more'
    """
    values = list(values)
    if not values:
        return "none"
    text = ", ".join(values[:limit])
    if len(values) > limit:
        text += f" ... and {len(values) - limit} more"
    return text


def _and(values: Iterable[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    values = list(values)
    if len(values) <= 1:
        return "".join(values)
    return ", ".join(values[:-1]) + " and " + values[-1]


def value_sort_key(value: str) -> tuple[int, float, str]:
    """Numbers first, by value; then text. The order of labelers and values in a view.

    >>> sorted(["b", "10", "9", "nan", "a"], key=value_sort_key)
    ['9', '10', 'a', 'b', 'nan']
    """
    try:
        number = float(value)
    except ValueError:
        return (1, 0.0, value)
    return (0, number, value) if math.isfinite(number) else (1, 0.0, value)


def _sorted_unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(set(values), key=value_sort_key))


@dataclass(frozen=True)
class View:
    """The state of one dashboard view; see the module docstring for the URL form.

    Build it with :meth:`from_query` (or :func:`parse_query`, which also returns
    the problems) and write it with :meth:`to_query`. Lists are kept sorted and
    free of duplicates, so equal views give equal links.
    """

    dataset: str | None = None
    page: str = "overview"
    cls: str | None = None
    pair: tuple[str, str] | None = None
    labeler: str | None = None
    item: str | None = None
    by: str | None = None
    level: str = DEFAULT_LEVEL
    normalize: str = DEFAULT_NORMALIZE
    round: str = ROUND_LATEST
    labelers: tuple[str, ...] = ()
    metadata: tuple[tuple[str, tuple[str, ...]], ...] = ()
    time_from: date | None = None
    time_to: date | None = None
    compare: tuple[str, str] | None = None
    extra: tuple[tuple[str, str], ...] = ()

    def __repr__(self) -> str:
        """Only the fields that differ from the default, e.g. ``View(dataset='d')``."""
        shown = [
            f"{f.name}={getattr(self, f.name)!r}"
            for f in fields(self)
            if getattr(self, f.name) != f.default
        ]
        return f"View({', '.join(shown)})"

    # ---- reading and writing the URL ------------------------------------------
    @classmethod
    def from_query(
        cls,
        params: str | Mapping[str, str | list[str]] | Iterable[tuple[str, str]],
        page: str = "overview",
    ) -> View:
        """The view of a query string; InvalidArgument listing every unusable value."""
        view, problems = parse_query(params, page)
        if problems:
            raise InvalidArgument(
                "cannot use this link:\n" + "\n".join(f"  - {p.message}" for p in problems)
            )
        return view

    def to_query(self) -> list[tuple[str, str]]:
        """The query-string pairs of this view, in a fixed order, defaults left out."""
        out: list[tuple[str, str]] = []
        for name, value in (
            (DATASET, self.dataset),
            (CLASS, self.cls),
        ):
            if value is not None:
                out.append((name, value))
        if self.pair is not None:
            out += [(PAIR, self.pair[0]), (PAIR, self.pair[1])]
        for name, value in ((LABELER, self.labeler), (ITEM, self.item), (BY, self.by)):
            if value is not None:
                out.append((name, value))
        if self.compare is not None:
            out += [(COMPARE, self.compare[0]), (COMPARE, self.compare[1])]
        if self.level != DEFAULT_LEVEL:
            out.append((LEVEL, self.level))
        if self.normalize != DEFAULT_NORMALIZE:
            out.append((NORMALIZE, self.normalize))
        if self.round != ROUND_LATEST:
            out.append((ROUND, self.round))
        out += [(LABELERS, x) for x in self.labelers]
        for field_name, values in self.metadata:
            out += [(META_PREFIX + field_name, v) for v in values]
        if self.time_from is not None:
            out.append((FROM, self.time_from.isoformat()))
        if self.time_to is not None:
            out.append((TO, self.time_to.isoformat()))
        return out + list(self.extra)

    def to_params(self) -> dict[str, str | list[str]]:
        """The query parameters as a dict (repeated parameters as lists), for Streamlit."""
        params: dict[str, str | list[str]] = {}
        for name, value in self.to_query():
            if name in params:
                old = params[name]
                params[name] = [*old, value] if isinstance(old, list) else [old, value]
            else:
                params[name] = value
        return params

    def query_string(self) -> str:
        """The URL query string (without "?").

        >>> View(dataset="a b", labelers=("x", "y")).query_string()
        'dataset=a+b&labelers=x&labelers=y'
        """
        return urlencode(self.to_query())

    # ---- derived views ----------------------------------------------------------
    def for_page(self, page: str) -> View:
        """The view another page opens with: same dataset, filters and level, no focus.

        >>> View(dataset="d", page="classes", cls="dent", round="2").for_page("data")
        View(dataset='d', page='data', round='2')
        """
        return View(
            dataset=self.dataset,
            page=page_info(page).id,
            level=self.level,
            round=self.round,
            labelers=self.labelers,
            metadata=self.metadata,
            time_from=self.time_from,
            time_to=self.time_to,
        )

    def with_dataset(self, dataset: str | None) -> View:
        """The same page on another dataset: what depends on the dataset is reset."""
        return View(
            dataset=dataset,
            page=self.page,
            level=self.level,
            normalize=self.normalize,
            extra=self.extra,
        )

    def metadata_values(self, field_name: str) -> tuple[str, ...]:
        """The kept values of one metadata field (empty: no filter on it)."""
        return dict(self.metadata).get(field_name, ())

    def with_metadata(self, field_name: str, values: Iterable[str]) -> View:
        """This view with the filter on one metadata field replaced (empty: removed)."""
        meta = dict(self.metadata)
        vals = _sorted_unique(values)
        if vals:
            meta[field_name] = vals
        else:
            meta.pop(field_name, None)
        return replace(self, metadata=tuple(sorted(meta.items())))

    def view_filter(self) -> ViewFilter:
        """The store filter of this view (days become [from 00:00 UTC, to+1 00:00 UTC)).

        >>> View(round="all", time_to=date(2025, 3, 5)).view_filter().time_to
        datetime.datetime(2025, 3, 6, 0, 0, tzinfo=datetime.timezone.utc)
        """
        if self.round == ROUND_LATEST:
            rounds: tuple[str, ...] | None = None
        elif self.round == ROUND_ALL:
            rounds = ("*",)
        else:
            rounds = (self.round,)
        return ViewFilter(
            rounds=rounds,
            labelers=self.labelers or None,
            metadata=self.metadata,
            time_from=_midnight(self.time_from) if self.time_from else None,
            time_to=_midnight(self.time_to + timedelta(days=1)) if self.time_to else None,
        )

    # ---- words -----------------------------------------------------------------
    def describe_filters(self) -> str:
        """The filters in words: round, items, labelers, time window.

        >>> View(labelers=("a", "b", "c")).describe_filters()
        "each item's latest round, all items, labelers a, b and c"
        """
        if self.round == ROUND_LATEST:
            parts = ["each item's latest round"]
        elif self.round == ROUND_ALL:
            parts = ["all rounds pooled"]
        else:
            parts = [f"round {self.round}"]
        if self.metadata:
            parts.append(
                "items with "
                + " and ".join(f"{f} = {' or '.join(vals)}" for f, vals in self.metadata)
            )
        else:
            parts.append("all items")
        if not self.labelers:
            parts.append("all labelers")
        else:
            word = "labeler" if len(self.labelers) == 1 else "labelers"
            parts.append(f"{word} {_and(self.labelers)}")
        if self.time_from and self.time_to:
            parts.append(f"submitted from {self.time_from} to {self.time_to}")
        elif self.time_from:
            parts.append(f"submitted from {self.time_from} on")
        elif self.time_to:
            parts.append(f"submitted up to {self.time_to}")
        return ", ".join(parts)

    def describe_focus(self) -> str:
        """The focus and metric choices in words ("" when there are none)."""
        parts = []
        if self.cls is not None:
            parts.append(f"class '{self.cls}'")
        if self.pair is not None:
            parts.append(f"classes '{self.pair[0]}' and '{self.pair[1]}'")
        if self.labeler is not None:
            parts.append(f"labeler '{self.labeler}'")
        if self.item is not None:
            parts.append(f"item '{self.item}'")
        if self.by is not None:
            parts.append(f"sliced by {self.by}")
        if self.compare is not None:
            parts.append(f"round {self.compare[1]} against round {self.compare[0]}")
        if self.level != DEFAULT_LEVEL:
            parts.append(f"{self.level} level")
        if self.normalize != DEFAULT_NORMALIZE:
            parts.append(f"counts normalized by {self.normalize}")
        return ", ".join(parts)

    def describe(self) -> str:
        """One sentence that says what the page shows.

        >>> View(page="classes", dataset="d", cls="dent", level="ordinal").describe()
        "Classes of dataset 'd': each item's latest round, all items, all labelers; class 'dent', ordinal level."
        >>> View(page="data").describe()
        'Data: no dataset selected.'
        """
        title = page_info(self.page).title
        if self.dataset is None:
            return f"{title}: no dataset selected."
        focus = self.describe_focus()
        return (
            f"{title} of dataset '{self.dataset}': {self.describe_filters()}"
            + (f"; {focus}" if focus else "")
            + "."
        )


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _pairs(
    params: str | Mapping[str, str | list[str]] | Iterable[tuple[str, str]],
) -> list[tuple[str, str]]:
    if isinstance(params, str):
        return parse_qsl(params.lstrip("?"), keep_blank_values=True)
    if isinstance(params, Mapping):
        out: list[tuple[str, str]] = []
        for name, value in params.items():
            values = value if isinstance(value, list | tuple) else [value]
            out += [(str(name), str(v)) for v in values]
        return out
    return [(str(k), str(v)) for k, v in params]


def _parse_day(param: str, value: str, problems: list[ViewProblem]) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        problems.append(
            ViewProblem(param, value, f"{param} '{value}' is not a date; expected YYYY-MM-DD")
        )
        return None


def _choice(
    param: str,
    value: str | None,
    allowed: tuple[str, ...],
    what: str,
    default: str,
    problems: list[ViewProblem],
) -> str:
    if value is None:
        return default
    if value in allowed:
        return value
    problems.append(
        ViewProblem(
            param, value, f"{param} '{value}' is not {what}. Expected one of: {', '.join(allowed)}"
        )
    )
    return default


def parse_query(
    params: str | Mapping[str, str | list[str]] | Iterable[tuple[str, str]],
    page: str = "overview",
) -> tuple[View, list[ViewProblem]]:
    """Turn query-string pairs into a :class:`View`, collecting what cannot be used.

    Only the form of each value is checked here (a date is a date, a level is a
    level); whether the dataset, class or labeler exists is :func:`check_view`'s
    job. An unusable value is left out of the view and reported. Empty values
    (``class=``) count as absent; a single-valued parameter given twice keeps
    the last value.

    >>> view, problems = parse_query("level=loud&from=2025-02-30&class=dent")
    >>> view.cls
    'dent'
    >>> for p in problems:
    ...     print(p.message)
    level 'loud' is not a level of measurement. Expected one of: nominal, ordinal, interval, ratio
    from '2025-02-30' is not a date; expected YYYY-MM-DD
    """
    problems: list[ViewProblem] = []
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    extra: list[tuple[str, str]] = []
    meta: dict[str, list[str]] = {}
    for name, value in _pairs(params):
        if name in RESERVED_PARAMS:
            continue
        if name.startswith(META_PREFIX):
            field_name = name[len(META_PREFIX) :]
            if not field_name:
                problems.append(
                    ViewProblem(
                        name,
                        value,
                        f"'{name}' names no metadata field; expected meta.<field>=<value>",
                    )
                )
            elif value != "":
                meta.setdefault(field_name, []).append(value)
        elif name in (PAIR, LABELERS, COMPARE):
            if value != "":
                multi.setdefault(name, []).append(value)
        elif name in (DATASET, CLASS, LABELER, ITEM, BY, LEVEL, NORMALIZE, ROUND, FROM, TO):
            if value != "":
                single[name] = value
            else:
                single.pop(name, None)
        else:
            extra.append((name, value))

    pair: tuple[str, str] | None = None
    pair_values = list(dict.fromkeys(multi.get(PAIR, [])))
    if pair_values:
        if len(pair_values) == 2:
            pair = (pair_values[0], pair_values[1])
        else:
            found = ", ".join(f"'{v}'" for v in pair_values)
            problems.append(
                ViewProblem(
                    PAIR,
                    ",".join(pair_values),
                    f"pair needs two different classes (pair=a&pair=b); found {found}",
                )
            )
    compare: tuple[str, str] | None = None
    compare_values = list(dict.fromkeys(multi.get(COMPARE, [])))
    if compare_values:
        if len(compare_values) == 2:
            compare = (compare_values[0], compare_values[1])
        else:
            found = ", ".join(f"'{v}'" for v in compare_values)
            problems.append(
                ViewProblem(
                    COMPARE,
                    ",".join(compare_values),
                    f"compare needs two different rounds (compare=a&compare=b); found {found}",
                )
            )
    level = _choice(
        LEVEL, single.get(LEVEL), LEVELS, "a level of measurement", DEFAULT_LEVEL, problems
    )
    normalize = _choice(
        NORMALIZE,
        single.get(NORMALIZE),
        NORMALIZATIONS,
        "a normalization",
        DEFAULT_NORMALIZE,
        problems,
    )
    time_from = _parse_day(FROM, single[FROM], problems) if FROM in single else None
    time_to = _parse_day(TO, single[TO], problems) if TO in single else None
    if time_from and time_to and time_from > time_to:
        problems.append(
            ViewProblem(
                FROM,
                single[FROM],
                f"from {time_from} is after to {time_to}; expected from <= to",
            )
        )
        time_from = time_to = None
    view = View(
        dataset=single.get(DATASET),
        page=page_info(page).id,
        cls=single.get(CLASS),
        pair=pair,
        labeler=single.get(LABELER),
        item=single.get(ITEM),
        by=single.get(BY),
        level=level,
        normalize=normalize,
        round=single.get(ROUND, ROUND_LATEST),
        labelers=_sorted_unique(multi.get(LABELERS, [])),
        metadata=tuple((f, _sorted_unique(v)) for f, v in sorted(meta.items())),
        time_from=time_from,
        time_to=time_to,
        compare=compare,
        extra=tuple(extra),
    )
    return view, problems


@dataclass(frozen=True)
class Catalog:
    """What a view may name: the datasets, and the values of one dataset.

    Built from the store by the dashboard (cached); a plain value here, so
    :func:`check_view` is tested without a store.
    """

    datasets: tuple[str, ...] = ()
    dataset: str | None = None
    classes: tuple[str, ...] = ()
    labelers: tuple[str, ...] = ()
    rounds: tuple[str, ...] = ()
    metadata: tuple[tuple[str, tuple[str, ...]], ...] = ()
    time_range: tuple[date, date] | None = None

    @property
    def metadata_fields(self) -> tuple[str, ...]:
        """The metadata field names of the dataset."""
        return tuple(f for f, _ in self.metadata)

    def field_values(self, field_name: str) -> tuple[str, ...]:
        """The values of one metadata field (empty when unknown)."""
        return dict(self.metadata).get(field_name, ())


def _not_found(
    param: str, value: str, what: str, dataset: str, known: Iterable[str], plural: str
) -> ViewProblem:
    return ViewProblem(
        param,
        value,
        f"{what} '{value}' not found in dataset '{dataset}'. {plural}: {listed(known)}",
    )


def check_view(view: View, catalog: Catalog) -> tuple[View, list[ViewProblem]]:
    """Check the names a view uses against a catalog; drop and report unknown ones.

    An unknown dataset gives the message of
    :class:`consistency.errors.DatasetNotFound` and a view without a dataset
    (nothing else can be checked then). Otherwise every class, labeler, round,
    metadata field and value the view names must exist in ``catalog``.

    >>> cat = Catalog(datasets=("d",), dataset="d", classes=("ok", "dent"))
    >>> view, problems = check_view(View(dataset="d", cls="dnet"), cat)
    >>> view.cls, problems[0].message
    (None, "class 'dnet' not found in dataset 'd'. Classes: ok, dent")
    """
    if view.dataset is None:
        return view, []
    if view.dataset not in catalog.datasets:
        message = str(DatasetNotFound(view.dataset, list(catalog.datasets)))
        return view.with_dataset(None), [ViewProblem(DATASET, view.dataset, message)]
    ds = view.dataset
    problems: list[ViewProblem] = []
    changes: dict[str, object] = {}

    def known_one(
        param: str, value: str | None, what: str, known: tuple[str, ...], plural: str
    ) -> bool:
        if value is None or value in known:
            return True
        problems.append(_not_found(param, value, what, ds, known, plural))
        return False

    if not known_one(CLASS, view.cls, "class", catalog.classes, "Classes"):
        changes["cls"] = None
    if view.pair is not None:
        ok = [known_one(PAIR, c, "class", catalog.classes, "Classes") for c in view.pair]
        if not all(ok):
            changes["pair"] = None
    if not known_one(LABELER, view.labeler, "labeler", catalog.labelers, "Labelers"):
        changes["labeler"] = None
    if not known_one(BY, view.by, "metadata field", catalog.metadata_fields, "Fields"):
        changes["by"] = None
    if view.compare is not None:
        ok = [known_one(COMPARE, r, "round", catalog.rounds, "Rounds") for r in view.compare]
        if not all(ok):
            changes["compare"] = None
    if view.round not in (ROUND_LATEST, ROUND_ALL) and not known_one(
        ROUND, view.round, "round", catalog.rounds, "Rounds"
    ):
        changes["round"] = ROUND_LATEST
    kept_labelers = tuple(
        x for x in view.labelers if known_one(LABELERS, x, "labeler", catalog.labelers, "Labelers")
    )
    if kept_labelers != view.labelers:
        changes["labelers"] = kept_labelers
    kept_meta: list[tuple[str, tuple[str, ...]]] = []
    for field_name, values in view.metadata:
        param = META_PREFIX + field_name
        if not known_one(param, field_name, "metadata field", catalog.metadata_fields, "Fields"):
            continue
        allowed = catalog.field_values(field_name)
        vals = tuple(
            v
            for v in values
            if known_one(param, v, f"{field_name} value", allowed, f"Values of {field_name}")
        )
        if vals:
            kept_meta.append((field_name, vals))
    if tuple(kept_meta) != view.metadata:
        changes["metadata"] = tuple(kept_meta)
    if (view.time_from or view.time_to) and catalog.time_range is None:
        param, value = (FROM, view.time_from) if view.time_from else (TO, view.time_to)
        problems.append(
            ViewProblem(
                param,
                str(value),
                f"dataset '{ds}' has no submission times; the time window "
                f"{param}={value} cannot be applied",
            )
        )
        changes["time_from"] = changes["time_to"] = None
    return (replace(view, **changes) if changes else view), problems  # type: ignore[arg-type]
