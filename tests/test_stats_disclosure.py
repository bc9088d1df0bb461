"""Proportions with Wilson intervals, and the disclosure-control rule (contract, section 4)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from analysis.disclosure import SUPPRESSED, Disclosure, suppress_counts, suppress_figure
from analysis.stats.proportions import proportion, round_half_up, wilson_arrays, wilson_interval


def wilson_by_hand(k, n, z=1.959963984540054):
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


@pytest.mark.parametrize("k,n", [(0, 10), (3, 10), (10, 10), (30, 214), (1, 1)])
def test_wilson_matches_the_formula(k, n):
    assert wilson_interval(k, n) == pytest.approx(wilson_by_hand(k, n))


def test_proportion_fields_and_text():
    p = proportion(30, 214)
    assert p.count == 30 and p.denominator == 214
    assert p.pct == pytest.approx(14.018691588785046)
    assert p.ci_low < p.pct < p.ci_high
    assert p.text().startswith("30 of 214 (14%, 95% CI")


def test_zero_denominator_gives_no_estimate():
    p = proportion(0, 0)
    assert p.pct is None and p.ci_low is None
    assert "no estimate" in p.text()


def test_impossible_proportion_is_refused():
    with pytest.raises(ValueError):
        proportion(5, 4)


def test_vectorised_wilson_agrees_and_handles_zero():
    low, high = wilson_arrays([3, 0], [10, 0])
    assert low[0] == pytest.approx(wilson_by_hand(3, 10)[0])
    assert math.isnan(low[1]) and math.isnan(high[1])


def test_round_half_up_as_printed_reports():
    assert round_half_up(12.5) == 13 and round_half_up(17.5) == 18 and round_half_up(3.45, 1) == 3.5
    assert round(12.5) == 12  # Python's own rounding is to even: not what reports print


def test_figure_with_small_count_is_suppressed_with_its_percentage():
    out = suppress_figure({"count": 3, "denominator": 80, "pct": 3.75, "ci_low": 1.0, "ci_high": 10.0}, Disclosure())
    assert out["count"] == out["pct"] == out["ci_low"] == out["ci_high"] == SUPPRESSED
    assert out["denominator"] == 80


def test_complement_small_is_suppressed_too():
    out = suppress_figure({"count": 78, "denominator": 80, "pct": 97.5, "ci_low": 90, "ci_high": 99}, Disclosure())
    assert out["count"] == SUPPRESSED


def test_zero_and_large_counts_are_shown():
    control = Disclosure()
    assert suppress_figure({"count": 0, "denominator": 80, "pct": 0.0}, control)["count"] == 0
    assert suppress_figure({"count": 5, "denominator": 80, "pct": 6.25}, control)["count"] == 5


def test_suppression_can_only_be_turned_off_explicitly():
    assert Disclosure().suppress is True
    internal = Disclosure(suppress=False)
    assert suppress_figure({"count": 2, "denominator": 80}, internal)["count"] == 2
    assert "INTERNAL" in internal.statement and "Disclosure control applied" in Disclosure().statement


def test_min_cell_is_a_parameter():
    assert suppress_figure({"count": 7, "denominator": 80}, Disclosure(min_cell=10))["count"] == SUPPRESSED


def test_secondary_suppression_stops_recovery_by_subtraction():
    table = pd.DataFrame({"area": ["x", "y"], "high": [3, 10], "medium": [40, 50], "low": [12, 0],
                          "total": [55, 60]})
    out = suppress_counts(table, ["high", "medium", "low"], Disclosure(), total_column="total")
    assert out.loc[0, "high"] == SUPPRESSED
    assert out.loc[0, "low"] == SUPPRESSED       # smallest other non-zero part, so 3 cannot be recovered
    assert out.loc[0, "medium"] == 40
    assert out.loc[1, "low"] == 0                # zero stays 0; nothing small in row y
    assert (out.loc[1, ["high", "medium"]] == [10, 50]).all()


def test_linked_columns_are_suppressed_with_their_count():
    table = pd.DataFrame({"count": [2, 20], "pct": [10.0, 50.0]})
    out = suppress_counts(table, ["count"], Disclosure(), linked={"count": ["pct"]})
    assert list(out["pct"]) == [SUPPRESSED, 50.0]


def test_wilson_ends_are_exact_at_zero_and_all():
    assert wilson_interval(0, 12)[0] == 0.0
    assert wilson_interval(12, 12)[1] == 1.0
    low, high = wilson_arrays([0, 12], [12, 12])
    assert low[0] == 0.0 and high[1] == 1.0


def test_wilson_is_bit_for_bit_statsmodels():
    from statsmodels.stats.proportion import proportion_confint

    for n in (1, 2, 7, 38, 80, 214, 585, 1439, 1490, 1921, 201583):
        for k in sorted({0, 1, n // 3, n // 2, n - 1, n}):
            low, high = proportion_confint(k, n, alpha=1 - 0.95, method="wilson")   # as the code always called it
            expected = (0.0 if k == 0 else float(low), 1.0 if k == n else float(high))
            assert wilson_interval(k, n) == expected, (k, n)
