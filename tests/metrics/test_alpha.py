"""Krippendorff's alpha: the published worked example, the krippendorff package as oracle, the bootstrap, properties."""

from __future__ import annotations

import random

import krippendorff
import numpy as np
import pandas as pd
import pytest
from conftest import NUMERIC_LABELS, long_tables, to_reliability_matrix
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from consistency.engine import Profile, profile_from_rows
from consistency.errors import InvalidArgument, NotComputable
from consistency.metrics.alpha import (
    LEVELS,
    alpha,
    alpha_with_ci,
    bootstrap_draws,
    coincidence,
)

SETTINGS = settings(max_examples=40, deadline=None)

# Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability,
# section C ("nominal data, two or more observers, missing values"):
# observers A-D (rows) x units 1-12 (columns), None = no value.
K2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
]
K2011_ALPHA = {"nominal": 0.743, "ordinal": 0.815, "interval": 0.849, "ratio": 0.797}


def long_from_matrix(matrix: list[list[int | None]]) -> pd.DataFrame:
    """Long table from an observers x units matrix with None for missing values."""
    rows = [
        (f"u{u + 1}", f"obs{o}", str(v))
        for o, row in enumerate(matrix)
        for u, v in enumerate(row)
        if v is not None
    ]
    return pd.DataFrame(rows, columns=["item_id", "labeler_id", "label"])


def oracle(df: pd.DataFrame, level: str) -> float:
    """Alpha from the krippendorff package (NaN where it refuses undefined data)."""
    numeric = level != "nominal"
    matrix, labels = to_reliability_matrix(df, numeric=numeric)
    domain = sorted(float(x) for x in labels) if numeric else list(range(len(labels)))
    try:
        with np.errstate(invalid="ignore", divide="ignore"):  # 0/0 where it is undefined
            return float(
                krippendorff.alpha(
                    reliability_data=matrix, value_domain=domain, level_of_measurement=level
                )
            )
    except ValueError as e:  # its words for "alpha is undefined here"
        assert "more than one value" in str(e) or "at least two coders" in str(e)
        return float("nan")


def same(a: float, b: float, tol: float = 1e-9) -> bool:
    return bool(np.isnan(a) and np.isnan(b)) or abs(a - b) <= tol


# --- the published worked example ---------------------------------------------------------


@pytest.mark.parametrize("level", LEVELS)
def test_krippendorff_2011_worked_example(level: str) -> None:
    p = profile_from_rows(long_from_matrix(K2011))
    assert round(alpha(p, level), 3) == K2011_ALPHA[level]


def test_krippendorff_2011_coincidence_matrix() -> None:
    # The nominal coincidence matrix of the same example (n = 40 pairable values).
    p = profile_from_rows(long_from_matrix(K2011))
    third = 1 / 3
    expected = [
        [7, 4 * third, third, third, 0],
        [4 * third, 10, 4 * third, third, 0],
        [third, 4 * third, 8, third, 0],
        [third, third, third, 4, 0],
        [0, 0, 0, 0, 3],
    ]
    np.testing.assert_allclose(coincidence(p), expected, atol=1e-12)
    assert p.labels == ("1", "2", "3", "4", "5")
    assert p.items == 12 and p.pairable_items == 11


# --- the krippendorff package as oracle ---------------------------------------------------


@SETTINGS
@given(long_tables())
def test_nominal_matches_krippendorff_package(df: pd.DataFrame) -> None:
    ours = alpha(profile_from_rows(df), "nominal")
    assert same(ours, oracle(df, "nominal"))
    assert np.isnan(ours) or ours <= 1.0 + 1e-12


@SETTINGS
@given(long_tables(labels=NUMERIC_LABELS), st.sampled_from(["ordinal", "interval", "ratio"]))
def test_numeric_levels_match_krippendorff_package(df: pd.DataFrame, level: str) -> None:
    ours = alpha(profile_from_rows(df), level)
    assert same(ours, oracle(df, level))


# --- errors ------------------------------------------------------------------------------


def test_unknown_level_is_named() -> None:
    p = profile_from_rows([("a", "x"), ("a", "y")])
    with pytest.raises(
        InvalidArgument,
        match=r"^unknown level of measurement 'metric'\. Levels: nominal, ordinal, interval, ratio$",
    ):
        alpha(p, "metric")  # type: ignore[arg-type]


def test_interval_on_words_is_not_computable() -> None:
    p = profile_from_rows([("a", "x"), ("a", "y")])
    with pytest.raises(NotComputable, match=r"^the interval level needs numeric labels"):
        alpha(p, "interval")


def test_order_must_list_every_label() -> None:
    p = profile_from_rows([("a", "low"), ("a", "high"), ("b", "mid"), ("b", "mid")])
    with pytest.raises(
        InvalidArgument, match=r"^the order does not list 'mid'\. Order given: low, high$"
    ):
        alpha(p, "ordinal", order=["low", "high"])
    assert alpha(p, "ordinal", order=["low", "mid", "high"]) == pytest.approx(
        alpha(profile_from_rows([("a", "1"), ("a", "3"), ("b", "2"), ("b", "2")]), "ordinal")
    )


def test_bootstrap_arguments_are_checked() -> None:
    p = profile_from_rows([("a", "x"), ("a", "y")])
    with pytest.raises(
        InvalidArgument, match=r"^the number of bootstrap draws must be at least 1; found 0$"
    ):
        bootstrap_draws(p, n_boot=0)
    with pytest.raises(InvalidArgument, match=r"^confidence must be between 0 and 1; found 1\.5$"):
        alpha_with_ci(p, confidence=1.5)


def test_undefined_alpha_is_nan() -> None:
    single = profile_from_rows([("a", "x"), ("b", "y")])  # no item with two labels
    one_class = profile_from_rows([("a", "x"), ("a", "x"), ("b", "x"), ("b", "x")])
    assert np.isnan(alpha(single)) and np.isnan(alpha(one_class))
    est = alpha_with_ci(single, n_boot=20)
    assert np.isnan(est.value) and np.isnan(est.ci_low) and np.isnan(est.ci_high)


# --- the bootstrap -----------------------------------------------------------------------


def noisy_table(
    n_items: int, seed: int, labels: tuple[str, ...] = ("1", "2", "3", "4")
) -> pd.DataFrame:
    """Items with a true class, 2-4 labelers each, each right two times in three."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_items):
        truth = rng.integers(len(labels))
        for j in rng.choice(5, size=rng.integers(2, 5), replace=False):
            lab = truth if rng.random() < 2 / 3 else rng.integers(len(labels))
            rows.append((f"i{i}", f"l{j}", labels[lab]))
    return pd.DataFrame(rows, columns=["item_id", "labeler_id", "label"])


def replicate(df: pd.DataFrame, times: int) -> pd.DataFrame:
    return pd.concat(
        [df.assign(item_id=df["item_id"] + f"-copy{t}") for t in range(times)], ignore_index=True
    )


def test_interval_contains_the_value() -> None:
    p = profile_from_rows(noisy_table(60, seed=1))
    for level in LEVELS:
        est = alpha_with_ci(p, level, n_boot=300, seed=3)  # type: ignore[arg-type]
        assert est.ci_low < est.value < est.ci_high
        assert est.draws == 300 and est.level == level and est.confidence == 0.95


def test_bootstrap_is_reproducible_with_a_seed() -> None:
    p = profile_from_rows(noisy_table(40, seed=2))
    a = bootstrap_draws(p, n_boot=100, seed=7)
    np.testing.assert_array_equal(a, bootstrap_draws(p, n_boot=100, seed=7))
    assert not np.array_equal(a, bootstrap_draws(p, n_boot=100, seed=8))
    assert alpha_with_ci(p, seed=5, n_boot=100) == alpha_with_ci(p, seed=5, n_boot=100)


def test_interval_narrows_with_more_items() -> None:
    df = noisy_table(30, seed=4)
    small = alpha_with_ci(profile_from_rows(df), n_boot=400, seed=1)
    large = alpha_with_ci(profile_from_rows(replicate(df, 16)), n_boot=400, seed=1)
    assert large.value == pytest.approx(small.value, abs=0.05)  # same data, 16 times
    assert large.ci_high - large.ci_low < (small.ci_high - small.ci_low) / 2


def item_patterns(df: pd.DataFrame, p: Profile) -> dict[int, list[str]]:
    """Pattern index of the profile -> the raw items with that count pattern."""
    table = pd.crosstab(df["item_id"], df["label"]).reindex(columns=list(p.labels), fill_value=0)
    index = {tuple(row): i for i, row in enumerate(p.counts.tolist())}
    out: dict[int, list[str]] = {}
    for item, row in zip(table.index, table.to_numpy().tolist(), strict=True):
        out.setdefault(index[tuple(row)], []).append(item)
    return out


@pytest.mark.parametrize("level", ["nominal", "interval"])
def test_bootstrap_equals_resampling_the_raw_items(level: str) -> None:
    # A draw resamples U items with replacement: W ~ Multinomial(U, weight / U) over
    # patterns. Replay the same draws, build each resample from the raw items
    # (W_p copies spread over the items of pattern p) and compute alpha on it with
    # the krippendorff package. (Nominal and interval distances do not depend on
    # the sample, so the draw's alpha is exactly the resample's alpha.)
    df = noisy_table(25, seed=5)
    p = profile_from_rows(df)
    n_boot, seed = 40, 11
    draws = bootstrap_draws(p, level, n_boot=n_boot, seed=seed)  # type: ignore[arg-type]
    weights = np.random.default_rng(seed).multinomial(p.items, p.weight / p.items, size=n_boot)
    by_pattern = item_patterns(df, p)
    by_item = dict(tuple(df.groupby("item_id")))
    labels = sorted(df["label"].unique())
    for draw, w in zip(draws, weights, strict=True):
        parts = []
        for pat, copies in enumerate(w.tolist()):
            items = by_pattern[pat]
            for t in range(copies):
                parts.append(by_item[items[t % len(items)]].assign(item_id=f"{pat}-{t}"))
        resample = pd.concat(parts, ignore_index=True)
        matrix, _ = to_reliability_matrix(resample, numeric=level != "nominal")
        domain = [float(x) for x in labels] if level != "nominal" else None
        expected = krippendorff.alpha(
            reliability_data=matrix, value_domain=domain, level_of_measurement=level
        )
        assert draw == pytest.approx(expected, abs=1e-9)


def test_bootstrap_distribution_matches_a_naive_item_bootstrap() -> None:
    # Independent draws: resample item indices directly, compute alpha from the
    # resampled items' value counts; mean and spread agree within sampling error.
    df = noisy_table(40, seed=6)
    p = profile_from_rows(df)
    fast = bootstrap_draws(p, n_boot=2000, seed=1)
    per_item = pd.crosstab(df["item_id"], df["label"]).to_numpy()
    rng = np.random.default_rng(99)
    naive = np.array(
        [
            alpha(profile_like(per_item[rng.integers(0, len(per_item), len(per_item))]))
            for _ in range(2000)
        ]
    )
    assert abs(fast.mean() - naive.mean()) < 4 * naive.std() / np.sqrt(1000)
    assert fast.std() == pytest.approx(naive.std(), rel=0.1)


def profile_like(counts: np.ndarray) -> Profile:
    """A profile holding one pattern per item (no grouping), for the naive bootstrap."""
    k = counts.shape[1]
    return Profile(
        tuple(str(i) for i in range(k)),
        np.arange(k, dtype=float),
        counts,
        np.ones(len(counts), dtype=np.int64),
    )


# --- properties --------------------------------------------------------------------------


@st.composite
def perfect_tables(draw: st.DrawFn) -> pd.DataFrame:
    """Every item's labels are all the same class; at least two classes in use."""
    classes = draw(st.lists(st.sampled_from(NUMERIC_LABELS), min_size=2, max_size=5, unique=True))
    truths = classes + draw(st.lists(st.sampled_from(classes), max_size=6))
    rows = []
    for i, truth in enumerate(truths):
        for j in range(draw(st.integers(2, 4))):
            rows.append((f"i{i}", f"l{j}", truth))
    return pd.DataFrame(rows, columns=["item_id", "labeler_id", "label"])


@settings(max_examples=25, deadline=None)
@given(perfect_tables())
def test_alpha_is_one_under_perfect_agreement(df: pd.DataFrame) -> None:
    p = profile_from_rows(df)
    for level in LEVELS:
        assert alpha(p, level) == pytest.approx(1.0, abs=1e-12)  # type: ignore[arg-type]


@settings(max_examples=15, deadline=None)
@given(long_tables(), st.randoms(use_true_random=False))
def test_nominal_alpha_is_invariant_under_permutations(
    df: pd.DataFrame, rnd: random.Random
) -> None:
    def shuffled_names(values: pd.Series, prefix: str) -> dict[str, str]:
        names = sorted(values.unique())
        new = [f"{prefix}{i}" for i in range(len(names))]
        rnd.shuffle(new)
        return dict(zip(names, new, strict=True))

    base = alpha(profile_from_rows(df))
    rows = df.sample(frac=1.0, random_state=rnd.randrange(2**32)).reset_index(drop=True)
    for column, prefix in (("item_id", "item "), ("labeler_id", "who "), ("label", "class ")):
        mapping = shuffled_names(df[column], prefix)
        permuted = rows.assign(**{column: rows[column].map(mapping)})
        assert same(alpha(profile_from_rows(permuted)), base, 1e-12)


@settings(max_examples=15, deadline=None)
@given(
    long_tables(labels=NUMERIC_LABELS),
    st.sampled_from([0.5, 2.0, 3.0]),
    st.sampled_from([0.0, 4.0]),
)
def test_interval_alpha_is_invariant_under_affine_rescaling(
    df: pd.DataFrame, scale: float, shift: float
) -> None:
    rescaled = df.assign(label=[repr(scale * float(x) + shift) for x in df["label"]])
    base = alpha(profile_from_rows(df), "interval")
    assert same(alpha(profile_from_rows(rescaled), "interval"), base, 1e-9)


@settings(max_examples=30, deadline=None)
@given(long_tables(min_classes=2, min_items=3), st.data())
def test_merging_two_classes_never_lowers_observed_agreement(
    df: pd.DataFrame, data: st.DataObject
) -> None:
    p = profile_from_rows(df)
    assume(len(p.labels) >= 2 and p.pairable_items > 0)
    a, b = data.draw(st.lists(st.sampled_from(p.labels), min_size=2, max_size=2, unique=True))

    def observed_agreement(prof: Profile) -> float:
        o = coincidence(prof)
        return float(np.trace(o) / o.sum())  # 1 - D_o at the nominal level

    assert observed_agreement(p.merge(a, b)) >= observed_agreement(p) - 1e-12
