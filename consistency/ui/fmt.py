"""How the dashboard writes numbers and names, and the colours of its charts.

Every page formats figures through these helpers, so a percentage or an
interval reads the same everywhere. Missing values (None, NaN) print as an
em dash. Names from the data and values from the URL go through :func:`md`
before any Streamlit element that renders Markdown, and through
:func:`chart_text` before any text a Plotly chart draws, so they show as typed.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable

#: What a missing figure prints as.
MISSING = "—"

#: The Okabe–Ito palette (Okabe & Ito 2008, "Color Universal Design"), safe for
#: the common forms of colour blindness. Use it in this order for categories.
OKABE_ITO: tuple[str, ...] = (
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#009E73",  # bluish green
    "#F0E442",  # yellow
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#000000",  # black
)
#: Two colours that stay apart for colour-blind readers: good / bad, agree / disagree.
GOOD = "#0072B2"
BAD = "#D55E00"
#: A neutral grey for reference lines and "other".
NEUTRAL = "#999999"


def _missing(x: float | None) -> bool:
    return x is None or math.isnan(x)


def number(x: float | None, digits: int = 2) -> str:
    """A figure with ``digits`` decimals; whole counts with thousands separators.

    >>> number(0.7412), number(12345), number(float("nan"))
    ('0.74', '12,345', '—')
    """
    if x is None or math.isnan(x):
        return MISSING
    if isinstance(x, int) or (isinstance(x, float) and x.is_integer() and abs(x) >= 1000):
        return f"{int(x):,}"
    return f"{x:,.{digits}f}"


def percent(x: float | None, digits: int = 0) -> str:
    """A share in [0, 1] as a percentage.

    >>> percent(0.1234), percent(0.1234, 1), percent(1.0), percent(None)
    ('12%', '12.3%', '100%', '—')
    """
    if x is None or math.isnan(x):
        return MISSING
    return f"{100 * x:.{digits}f}%"


def interval(estimate: float | None, low: float | None, high: float | None, digits: int = 2) -> str:
    """An estimate with its interval: ``0.74 [0.70, 0.78]``.

    >>> interval(0.7412, 0.7013, 0.7791)
    '0.74 [0.70, 0.78]'
    >>> interval(0.74, None, None)
    '0.74'
    """
    head = number(estimate, digits)
    if _missing(low) or _missing(high):
        return head
    return f"{head} [{number(low, digits)}, {number(high, digits)}]"


def count(n: int, noun: str, plural: str | None = None) -> str:
    """``1 item``, ``2,000 items``.

    >>> count(1, "item"), count(2000, "item"), count(3, "class", "classes")
    ('1 item', '2,000 items', '3 classes')
    """
    word = noun if n == 1 else (plural or noun + "s")
    return f"{n:,} {word}"


# ---- names as text ---------------------------------------------------------------------
#: Characters that start markup anywhere in a line (Streamlit adds ``$`` for LaTeX).
_ALWAYS = re.compile(r"([\\`*\[\]<~$|&])")
#: An underscore not inside a word (``cam_C`` stays as it is; ``_x_`` would be emphasis).
_LOOSE_UNDERSCORE = re.compile(r"(?<![^\W_])_|_(?![^\W_])")
#: A colon that could open an emoji, icon or colour directive (``:smile:``, ``:red[x]``).
_DIRECTIVE_COLON = re.compile(r":(?=\w)")
#: What makes a line a heading, quote, list item or rule.
_LINE_START = re.compile(r"^(\s*)([#>+=-]|\d+[.)])", re.MULTILINE)


def md(text: object) -> str:
    """``text`` escaped for Streamlit markdown: labels and ids show as typed, never as markup.

    Only what could start markup is escaped, so the text stays readable:
    ``cam_C``, ``0.52`` and ``a: b`` are left as they are.

    >>> print(md("scratch_deep [*] _x_ :red[y] $z$ 1. done"))
    scratch_deep \\[\\*\\] \\_x\\_ \\:red\\[y\\] \\$z\\$ 1. done
    >>> print(md("1. first"), md("# title"), md("- item"))
    1\\. first \\# title \\- item
    """
    out = _ALWAYS.sub(r"\\\1", str(text))
    out = _LOOSE_UNDERSCORE.sub(r"\\_", out)
    out = _DIRECTIVE_COLON.sub(r"\\:", out)
    return _LINE_START.sub(lambda m: m.group(1) + _escape_last(m.group(2)), out)


def _escape_last(marker: str) -> str:
    """``1.`` -> ``1\\.``, ``#`` -> ``\\#``: the punctuation of a line-start marker escaped."""
    return marker[:-1] + "\\" + marker[-1]


def chart_text(text: object) -> str:
    """``text`` as a Plotly chart draws it literally: ``&``, ``<`` and ``>`` as entities.

    Plotly reads a subset of HTML in every text it draws (axis categories,
    legend entries, hover labels, text on points): ``<b>``, ``<i>``, ``<br>``,
    ``<span style>`` and ``<a href>`` to an ``http(s)`` address, which becomes
    a link. It decodes entities, so the escaped text shows exactly as typed.
    Keep the raw value in ``customdata`` when a click must return it.

    >>> chart_text("<b>ok</b> & fine")
    '&lt;b&gt;ok&lt;/b&gt; &amp; fine'
    >>> chart_text('<a href="https://x.example">x</a>')
    '&lt;a href="https://x.example"&gt;x&lt;/a&gt;'
    """
    return html.escape(str(text), quote=False)


def chart_texts(texts: Iterable[object]) -> list[str]:
    """:func:`chart_text` of each of ``texts`` (axis categories, hover labels...).

    >>> chart_texts(["a<b", 1])
    ['a&lt;b', '1']
    """
    return [chart_text(t) for t in texts]
