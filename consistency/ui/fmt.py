"""How the dashboard writes numbers, and the colours of its charts.

Every page formats figures through these helpers, so a percentage or an
interval reads the same everywhere. Missing values (None, NaN) print as an
em dash.
"""

from __future__ import annotations

import math

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
