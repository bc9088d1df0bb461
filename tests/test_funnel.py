"""Funnel-plot control limits against independent calculations, and suppression of small points."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from analysis import dfe, funnel
from analysis.disclosure import Disclosure


@pytest.mark.parametrize("p0,n", [(0.3, 10), (0.3, 250), (0.05, 40), (0.9, 1000)])
@pytest.mark.parametrize("conf", [0.95, 0.998])
def test_wilson_limits_are_where_the_wilson_interval_touches_the_overall_proportion(p0, n, conf):
    low, high = funnel.control_limits(p0, [n], conf)
    # The PHE definition: at the limit, the observed proportion's Wilson interval has p0 as its end.
    if low[0] > 0:
        assert proportion_confint(low[0] * n, n, alpha=1 - conf, method="wilson")[1] == pytest.approx(p0, abs=1e-9)
    if high[0] < 1:
        assert proportion_confint(high[0] * n, n, alpha=1 - conf, method="wilson")[0] == pytest.approx(p0, abs=1e-9)


def test_wilson_limits_match_hand_formula_and_phe_sigma_adjustment():
    z = stats.norm.ppf(0.975)
    low, high = funnel.control_limits(0.3, [200], 0.95)
    assert high[0] == pytest.approx(0.3 + z * math.sqrt(0.3 * 0.7 / 200))
    assert low[0] == pytest.approx(0.2364899081898881)  # PHEindicatormethods sigma_adjustment(0.975, 200, 0.3)


@pytest.mark.parametrize("p0,n", [(0.3, 20), (0.12, 150), (0.5, 7)])
def test_exact_limits_lie_between_the_binomial_quantile_and_the_count_below(p0, n):
    for conf in (0.95, 0.998):
        tail = (1 - conf) / 2
        low, high = funnel.control_limits(p0, [n], conf, method="exact")
        r_low, r_high = stats.binom.ppf(tail, n, p0), stats.binom.ppf(1 - tail, n, p0)
        assert r_low - 1 <= low[0] * n <= r_low
        assert r_high - 1 <= high[0] * n <= r_high


def test_exact_and_wilson_limits_agree_for_large_denominators():
    w = funnel.control_limits(0.2, [50000], 0.998)
    e = funnel.control_limits(0.2, [50000], 0.998, method="exact")
    assert np.allclose(w, e, atol=2e-4)


def test_limits_narrow_as_the_denominator_grows_and_stay_in_0_1():
    low, high = funnel.control_limits(0.1, [2, 20, 200, 2000], 0.998)
    assert (np.diff(high - low) < 0).all()
    assert low.min() >= 0 and high.max() <= 1


def test_position_against_limits():
    assert funnel.position(0.30, 0.3, 100) == "within limits"
    assert funnel.position(0.45, 0.3, 100) == "above 99.8% limit"   # z = 3.27
    assert funnel.position(0.40, 0.3, 100) == "above 95% limit"     # z = 2.18
    assert funnel.position(0.15, 0.3, 100) == "below 99.8% limit"   # z = -3.27
    assert funnel.position(0.17, 0.3, 100) == "below 95% limit"     # z = -2.84


def test_small_counts_are_not_shown_and_are_counted():
    units = pd.DataFrame({"unit": ["A", "B", "C", "D", "E"], "count": [3, 40, 0, 96, None],
                          "denominator": [50, 100, 60, 100, 80]})
    table, summary = funnel.funnel_table(units, Disclosure(True, 5))
    by = table.set_index("unit")
    assert by.loc["A", "count"] == "c" and by.loc["A", "pct"] == "c"
    assert by.loc["D", "count"] == "c"          # 96 of 100: the complement (4) is small
    assert by.loc["C", "count"] == 0 and by.loc["C", "pct"] == 0.0   # a zero is shown
    assert by.loc["E", "position"] == "no value"
    assert summary["shown"] == 2 and summary["not_shown_small"] == 2 and summary["not_shown_unpublished"] == 1
    # The overall proportion uses every known unit, shown or not.
    assert summary["overall_pct"] == pytest.approx(100 * (3 + 40 + 0 + 96) / (50 + 100 + 60 + 100))
    unsuppressed, _ = funnel.funnel_table(units, Disclosure(False, 5))
    assert unsuppressed.set_index("unit").loc["A", "count"] == 3


def test_dfe_rates_keep_suppression_symbols_out_of_the_numbers():
    year, table = dfe.missing_rates()
    raw = dfe.load_dfe()
    assert year == max(int(y) for y in raw["year"])
    la = raw[(raw["geographic_level"] == "Local authority") & (raw["year"] == str(year))]
    assert len(table) == len(la)                               # national and regional rows left out
    symbol = la["children_who_went_missing"].isin(["c", "x", "z", "k", ".."]).to_numpy()
    assert symbol.sum() > 0
    assert table.loc[symbol, "count"].isna().all()             # never read as zero
    assert (table.loc[symbol, "status"] != "published").all()
    one = table[table["status"] == "published"].iloc[0]
    assert one["count"] <= one["denominator"]
    with pytest.raises(dfe.DfEDataError, match="not in the data"):
        dfe.missing_rates(1999)
