"""The one function every dashboard page calls first: :func:`setup_page`.

It configures the page, opens the store (one connection per process, a cursor
per query), imports the sample dataset into an empty store, reads the view
from the URL and checks it against the store, draws the sidebar (navigation,
dataset, filters, the page's own controls, a link to the view) and the
sentence that describes the view. Values the URL names that do not exist are
shown as errors and left out of the view.

The URL is the source of truth. Each sidebar widget is set from the view when
the URL changes (first load, a pasted link, back and forward, another page),
and writes the view back to the URL when the user changes it (an
``on_change`` callback that updates ``st.query_params``). The URL is then
rewritten in canonical form: unusable values dropped, defaults left out, the
dataset always named, so a copied link reopens the same view.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, TypeVar
from urllib.parse import urlsplit

import streamlit as st
from streamlit.errors import StreamlitPageNotFoundError, StreamlitSecretNotFoundError

from consistency.errors import ConsistencyError, InvalidArgument
from consistency.sample import ensure_sample
from consistency.settings import READ_ONLY_MESSAGE, Settings, load_settings
from consistency.store import Store, ViewFilter, default_db_path
from consistency.ui.catalog import build_catalog, data_version, item_exists
from consistency.ui.fmt import md
from consistency.ui.state import (
    LEVELS,
    NORMALIZATIONS,
    PAGES,
    RESERVED_PARAMS,
    ROUND_ALL,
    ROUND_LATEST,
    Catalog,
    PageInfo,
    View,
    ViewProblem,
    check_view,
    page_info,
    parse_query,
)

#: The page controls :func:`setup_page` can draw (its ``controls`` argument).
CONTROLS: tuple[str, ...] = ("class", "pair", "labeler", "by", "level", "normalize")

#: Metadata fields with more distinct values than this get no filter widget
#: (a link can still filter on them).
MAX_FILTER_VALUES = 500

_VIEW_KEY = "_consistency_view"
_SEEN_KEY = "_consistency_seen"
_WIDGET = "_v_"

R = TypeVar("R")


@st.cache_resource(show_spinner=False)
def _shared_store(path: str, read_only: bool) -> Store:
    return Store(path, read_only=read_only)


def dashboard_settings() -> Settings:
    """The dashboard's settings: environment variables, and ``--read-only`` given after ``--``.

    ``streamlit run app.py -- --read-only`` and ``CONSISTENCY_READ_ONLY=1`` both
    start a read-only dashboard (see :mod:`consistency.settings`).
    """
    return load_settings(argv=sys.argv[1:])


def get_store(path: str) -> Store:
    """The store at ``path``, opened once per process and shared by every session.

    In read-only mode it is opened read-only: nothing can change it, and other
    read-only processes (more dashboards, ``consistency`` reports) can open it too.
    """
    return _shared_store(path, dashboard_settings().read_only)


@st.cache_data(show_spinner=False, max_entries=64)
def _catalog(db_path: str, version: int, dataset: str | None) -> Catalog:
    return build_catalog(get_store(db_path), dataset)


@st.cache_data(show_spinner=False, max_entries=256)
def _item_exists(db_path: str, version: int, dataset: str, item_id: str) -> bool:
    return item_exists(get_store(db_path), dataset, item_id)


@st.cache_data(show_spinner="Computing…", max_entries=512)
def _cached_call(
    _fn: Callable[..., Any], name: str, db_path: str, version: int, *args: Any, **kwargs: Any
) -> Any:
    return _fn(get_store(db_path), *args, **kwargs)


@dataclass
class PageContext:
    """What a page gets from :func:`setup_page`.

    Attributes:
        store: the store (shared by all sessions; query it through its methods).
        db_path: the store's file.
        version: the data version (changes after each import).
        view: the checked view of the URL.
        catalog: the datasets, and the active dataset's classes, labelers, rounds...
        link: the full link to this view.
        problems: the URL values that could not be used (already shown as errors).
        read_only: the dashboard runs read-only: show no upload or change controls.
    """

    store: Store
    db_path: str
    version: int
    view: View
    catalog: Catalog
    link: str
    problems: list[ViewProblem] = field(default_factory=list)
    read_only: bool = False

    @property
    def dataset(self) -> str | None:
        """The active dataset id, or None."""
        return self.view.dataset

    @property
    def filter(self) -> ViewFilter:
        """The store filter of the view (round, labelers, metadata, time window)."""
        return self.view.view_filter()

    def require_dataset(self) -> str:
        """The active dataset; without one, say what to do and stop the page."""
        dataset = self.view.dataset
        if dataset is None:
            st.info("Choose a dataset in the sidebar, or import one on the Data page.")
            st.stop()
        return dataset

    def cached(self, fn: Callable[..., R], *args: Any, **kwargs: Any) -> R:
        """``fn(store, *args, **kwargs)``, cached on the store, the data version and the arguments.

        Use it for every figure a page shows, e.g.
        ``ctx.cached(summary, ctx.dataset, ctx.filter)``. Arguments must be
        hashable by Streamlit (str, numbers, tuples, dataclasses such as
        ViewFilter). ``fn`` is told apart by its module and qualified name, so
        it must be a named function (not a lambda).
        """
        name = f"{fn.__module__}.{fn.__qualname__}"
        return _cached_call(fn, name, self.db_path, self.version, *args, **kwargs)


# ---- the URL -------------------------------------------------------------------
def _raw_params() -> dict[str, list[str]]:
    return {k: st.query_params.get_all(k) for k in st.query_params}


def go(view: View) -> None:
    """Write ``view`` to the URL, touching only the parameters that change.

    Call it from a widget callback, or follow it with ``st.rerun()``.
    """
    raw = _raw_params()
    after = {k: v if isinstance(v, list) else [v] for k, v in view.to_params().items()}
    for name in raw.keys() - after.keys():
        if name not in RESERVED_PARAMS:
            del st.query_params[name]
    for name, values in after.items():
        if raw.get(name) != values:
            st.query_params[name] = values if len(values) > 1 else values[0]


def page_url(page: str, view: View) -> str:
    """The relative link of a page with a view, e.g. ``/Classes?dataset=d&class=dent``."""
    info = page_info(page)
    query = view.query_string()
    return f"/{info.path}" + (f"?{query}" if query else "")


def _full_link(info: PageInfo, view: View) -> str:
    """The absolute link of this view in the user's browser (relative outside a browser)."""
    base = st.context.url
    query = view.query_string()
    if not base:
        return page_url(info.id, view)
    if not urlsplit(base).path:
        base += "/"
    return base + (f"?{query}" if query else "")


def _page_link(container: Any, page: PageInfo, view: View, label: str, icon: str) -> bool:
    """Draw a link to ``page`` with ``view``; False when the page does not exist (yet)."""
    try:
        container.page_link(page.script, label=label, icon=icon, query_params=view.to_params())
    except StreamlitPageNotFoundError:
        return False
    return True


def link(page: str, view: View, label: str | None = None, icon: str | None = None) -> bool:
    """A link to ``page`` showing ``view``; draws nothing when that page does not exist yet.

    Returns whether the link was drawn.
    """
    info = page_info(page)
    return _page_link(st, info, view, label or info.title, icon or info.icon)


# ---- widgets bound to the view ------------------------------------------------------
@dataclass(frozen=True)
class _Binding:
    key: str
    put: Callable[[View, Any], View]


def _changed(binding: _Binding) -> None:
    """Widget callback: apply the widget's new value to the view in the URL."""
    view: View = st.session_state[_VIEW_KEY]
    go(binding.put(view, st.session_state[binding.key]))


def _bind(
    widget: Callable[..., Any],
    name: str,
    current: Any,
    put: Callable[[View, Any], View],
    resync: bool,
    **kwargs: Any,
) -> Any:
    """Draw ``widget`` showing ``current`` (from the view); its changes go to the URL."""
    key = _WIDGET + name
    if resync or key not in st.session_state:
        st.session_state[key] = current
    binding = _Binding(key, put)
    return widget(key=key, on_change=_changed, args=(binding,), **kwargs)


def _round_label(value: str) -> str:
    if value == ROUND_LATEST:
        return "Each item's latest round"
    if value == ROUND_ALL:
        return "All rounds pooled"
    return f"Round {value}"


def _pair_put(position: int) -> Callable[[View, Any], View]:
    def put(view: View, value: Any) -> View:
        other_key = _WIDGET + ("pair_b" if position == 0 else "pair_a")
        other = st.session_state.get(other_key)
        chosen = (value, other) if position == 0 else (other, value)
        if chosen[0] is None or chosen[1] is None or chosen[0] == chosen[1]:
            return replace(view, pair=None)
        return replace(view, pair=(chosen[0], chosen[1]))

    return put


def _sidebar_filters(view: View, catalog: Catalog, resync: bool) -> None:
    sb = st.sidebar
    sb.markdown("#### Filters")
    _bind(
        sb.selectbox,
        "round",
        view.round,
        lambda v, x: replace(v, round=x or ROUND_LATEST),
        resync,
        label="Round",
        options=[ROUND_LATEST, ROUND_ALL, *catalog.rounds],
        format_func=_round_label,
    )
    _bind(
        sb.multiselect,
        "labelers",
        list(view.labelers),
        lambda v, x: replace(v, labelers=tuple(sorted(x))),
        resync,
        label="Labelers",
        options=list(catalog.labelers),
        placeholder="All labelers",
    )
    fields = [(f, values) for f, values in catalog.metadata if len(values) <= MAX_FILTER_VALUES]
    if fields:
        with sb.expander("Item metadata", expanded=bool(view.metadata)):
            for field_name, values in fields:
                _bind(
                    st.multiselect,
                    "meta." + field_name,
                    list(view.metadata_values(field_name)),
                    lambda v, x, f=field_name: v.with_metadata(f, x),
                    resync,
                    label=md(field_name),
                    options=list(values),
                    placeholder=f"All values of {field_name}",
                )
    if catalog.time_range is not None:
        first, last = catalog.time_range
        low = min(d for d in (first, view.time_from, view.time_to) if d is not None)
        high = max(d for d in (last, view.time_from, view.time_to) if d is not None)
        with sb.expander("Time window", expanded=bool(view.time_from or view.time_to)):
            for name, attr, label in (
                ("from", "time_from", "Submitted from"),
                ("to", "time_to", "Submitted up to"),
            ):
                _bind(
                    st.date_input,
                    name,
                    getattr(view, attr),
                    lambda v, x, a=attr: _with_day(v, a, x),
                    resync,
                    label=label,
                    value=None,
                    min_value=low,
                    max_value=high,
                    format="YYYY-MM-DD",
                )


def _with_day(view: View, attr: str, day: date | None) -> View:
    """The view with one end of the time window set; a reversed window becomes that one day."""
    new = replace(view, **{attr: day})
    if new.time_from and new.time_to and new.time_from > new.time_to:
        other = "time_to" if attr == "time_from" else "time_from"
        new = replace(new, **{other: day})
    return new


#: Select boxes that put one value of the dataset in focus:
#: control -> (View field, label, options from the catalog, placeholder).
_FOCUS: dict[str, tuple[str, str, Callable[[Catalog], tuple[str, ...]], str]] = {
    "class": ("cls", "Class", lambda c: c.classes, "All classes"),
    "labeler": ("labeler", "Labeler", lambda c: c.labelers, "Choose a labeler"),
    "by": ("by", "Slice by", lambda c: c.metadata_fields, "Choose a metadata field"),
}
_NORMALIZE_LABELS = {
    "count": "Counts",
    "row": "Share of each row",
    "column": "Share of each column",
}


def _setter(attr: str) -> Callable[[View, Any], View]:
    return lambda view, value: replace(view, **{attr: value})


def _sidebar_controls(view: View, catalog: Catalog, controls: Sequence[str], resync: bool) -> None:
    unknown = [c for c in controls if c not in CONTROLS]
    if unknown:
        raise InvalidArgument(
            f"unknown page control(s) {', '.join(unknown)}. Controls: {', '.join(CONTROLS)}"
        )
    if not controls:
        return
    sb = st.sidebar
    sb.markdown("#### This page")
    for name in controls:
        if name in _FOCUS:
            attr, label, options, placeholder = _FOCUS[name]
            _bind(
                sb.selectbox,
                name,
                getattr(view, attr),
                _setter(attr),
                resync,
                label=label,
                options=list(options(catalog)),
                index=None,
                placeholder=placeholder,
            )
        elif name == "pair":
            pair = view.pair or (None, None)
            for position, key, label in (
                (0, "pair_a", "Class pair: first"),
                (1, "pair_b", "second"),
            ):
                _bind(
                    sb.selectbox,
                    key,
                    pair[position],
                    _pair_put(position),
                    resync,
                    label=label,
                    options=list(catalog.classes),
                    index=None,
                    placeholder="Choose a class",
                )
        elif name == "level":
            _bind(
                sb.selectbox,
                name,
                view.level,
                _setter("level"),
                resync,
                label="Level of measurement",
                options=list(LEVELS),
            )
        else:  # normalize
            _bind(
                sb.radio,
                name,
                view.normalize,
                _setter("normalize"),
                resync,
                label="Confusion counts",
                options=list(NORMALIZATIONS),
                format_func=_NORMALIZE_LABELS.get,
                horizontal=True,
            )


def _sidebar(
    view: View,
    catalog: Catalog,
    controls: Sequence[str],
    resync: bool,
    link_text: str,
) -> None:
    sb = st.sidebar
    sb.markdown("### consistency")
    for page in PAGES:
        _page_link(sb, page, view.for_page(page.id), page.title, page.icon)
    sb.divider()
    _bind(
        sb.selectbox,
        "dataset",
        view.dataset,
        lambda v, x: v.with_dataset(x),
        resync,
        label="Dataset",
        options=list(catalog.datasets),
        index=None,
        placeholder="Choose a dataset",
        required=True,
    )
    if view.dataset is not None:
        _sidebar_filters(view, catalog, resync)
        _sidebar_controls(view, catalog, controls, resync)
    sb.divider()
    sb.caption("Link to this view")
    sb.code(link_text, language=None, wrap_lines=True)


def _open_store() -> tuple[Store, str]:
    path = default_db_path()
    try:
        store = get_store(path)
    except ConsistencyError as exc:
        st.error(str(exc))
        st.stop()
    return store, path


def _login_providers() -> list[str] | None:
    """The OIDC providers of ``[auth]`` in ``secrets.toml`` ([] for one unnamed
    provider), or None when login is not configured."""
    try:
        if "auth" not in st.secrets:
            return None
        auth = st.secrets["auth"]
    except (StreamlitSecretNotFoundError, FileNotFoundError):
        return None
    return [name for name, value in auth.items() if hasattr(value, "keys")]


def _require_login() -> None:
    """With Streamlit's login configured, show nothing but a login button until logged in."""
    providers = _login_providers()
    if providers is None or st.user.get("is_logged_in"):
        return
    st.title("consistency")
    st.info("Log in to see the data.")
    for provider in providers or [None]:
        label = f"Log in with {provider}" if provider else "Log in"
        args = (provider,) if provider else ()
        st.button(label, key=f"login_{provider}", on_click=st.login, args=args, type="primary")
    st.stop()


def _bootstrap(store: Store) -> str | None:
    """The default dataset; imports the sample first into an empty store."""
    try:
        ids = store.dataset_ids()
        if ids or store.read_only:
            return ids[0] if ids else None
        with st.spinner("First start: importing the sample dataset…"):
            return ensure_sample(store)
    except ConsistencyError as exc:
        st.error(f"Could not import the sample dataset: {exc}")
        return None


def _fingerprint(info: PageInfo, raw: dict[str, list[str]]) -> tuple[object, ...]:
    """What tells one URL from another: widgets are set from the view when it changes."""
    return (info.id, tuple(sorted((k, tuple(v)) for k, v in raw.items())))


def _read_view(
    raw: dict[str, list[str]], info: PageInfo, default: str | None, db_path: str, version: int
) -> tuple[View, Catalog, list[ViewProblem]]:
    """The view of the URL checked against the store, its catalog, and the problems."""
    view, problems = parse_query(raw, info.id)
    if view.dataset is None and "dataset" not in raw:
        view = replace(view, dataset=default)
    catalog = _catalog(db_path, version, view.dataset)
    view, more = check_view(view, catalog)
    problems += more
    if (
        view.dataset is not None
        and view.item is not None
        and not _item_exists(db_path, version, view.dataset, view.item)
    ):
        message = f"item '{view.item}' not found in dataset '{view.dataset}'"
        problems.append(ViewProblem("item", view.item, message))
        view = replace(view, item=None)
    return view, catalog, problems


def setup_page(title: str, *, controls: Sequence[str] = ()) -> PageContext:
    """Set up a dashboard page; call it first in every page script.

    Args:
        title: the page's title or id in :data:`consistency.ui.state.PAGES`.
        controls: page controls to draw in the sidebar, from :data:`CONTROLS`
            ("class", "pair", "labeler", "by", "level", "normalize").

    Returns:
        The page context: store, checked view, catalog, link.
    """
    info = page_info(title)
    st.set_page_config(
        page_title=f"{info.title} · consistency", page_icon=":material/fact_check:", layout="wide"
    )
    _require_login()
    store, db_path = _open_store()
    default = _bootstrap(store)

    raw = _raw_params()
    version = data_version(store)
    view, catalog, problems = _read_view(raw, info, default, db_path, version)
    resync = st.session_state.get(_SEEN_KEY) != _fingerprint(info, raw)
    st.session_state[_VIEW_KEY] = view
    if not any(p.param == "dataset" for p in problems):
        # Canonical URL; a link naming an unknown dataset stays as it is until
        # the user picks a dataset, so the error can be read and fixed.
        go(view)
    st.session_state[_SEEN_KEY] = _fingerprint(info, _raw_params())

    link_text = _full_link(info, view)
    _sidebar(view, catalog, controls, resync, link_text)

    if store.read_only:
        st.sidebar.caption(f":material/lock: {READ_ONLY_MESSAGE}")

    st.title(info.title)
    st.caption(md(view.describe()))  # names from the data and the URL show as typed
    for problem in problems:
        message = md(f"{problem.message[:1].upper()}{problem.message[1:]}")
        st.error(f"{message}. Left out of this view.")
    return PageContext(
        store=store,
        db_path=db_path,
        version=version,
        view=view,
        catalog=catalog,
        link=link_text,
        problems=problems,
        read_only=store.read_only,
    )
