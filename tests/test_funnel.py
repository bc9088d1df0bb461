"""Funnel-plot control limits against independent calculations, and suppression of small points."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from analysis.reference import dfe

from analysis.stats import funnel
from analysis.disclosure import Disclosure


@pytest.mark.parametrize("p0,n", [(0.3, 10), (0.3, 250), (0.05, 40), (0.9, 1000)])
@pytest.mark.parametrize("conf", [0.95, 0.998])
def test_normal_limits_are_where_the_wilson_interval_touches_the_overall_proportion(p0, n, conf):
    low, high = funnel.control_limits(p0, [n], conf, method="normal")
    # The PHE definition: at the limit, the observed proportion's Wilson interval has p0 as its end.
    if low[0] > 0:
        assert proportion_confint(low[0] * n, n, alpha=1 - conf, method="wilson")[1] == pytest.approx(p0, abs=1e-9)
    if high[0] < 1:
        assert proportion_confint(high[0] * n, n, alpha=1 - conf, method="wilson")[0] == pytest.approx(p0, abs=1e-9)


def test_normal_limits_match_hand_formula_and_phe_sigma_adjustment():
    z = stats.norm.ppf(0.975)
    low, high = funnel.control_limits(0.3, [200], 0.95, method="normal")
    assert high[0] == pytest.approx(0.3 + z * math.sqrt(0.3 * 0.7 / 200))
    assert low[0] == pytest.approx(0.2364899081898881)  # PHEindicatormethods sigma_adjustment(0.975, 200, 0.3)
    assert np.allclose(funnel.control_limits(0.3, [200], 0.95, method="wilson"), (low, high))   # the old name
    with pytest.raises(ValueError, match="method must be one of"):
        funnel.control_limits(0.3, [200], 0.95, method="poisson")


def test_the_issues_small_denominators_are_not_flagged():
    # 0 of 3 at p0 = 0.6: P(X = 0) = 0.4^3 = 0.064 > 0.025, so not below the 95% limit.
    assert stats.binom.cdf(0, 3, 0.6) == pytest.approx(0.064)
    assert funnel.position(0.0, 0.6, 3) == "within limits"
    assert funnel.position(0.0, 0.6, 3, method="exact") == "within limits"
    assert funnel.position(0.0, 0.6, 3, method="normal") == "below 95% limit"      # why small n is not normal
    # 3 of 3 at p0 = 0.3: P(X >= 3) = 0.027 > 0.025 > 0.001: within both limits.
    assert stats.binom.sf(2, 3, 0.3) == pytest.approx(0.027)
    assert funnel.position(1.0, 0.3, 3, method="exact") == "within limits"
    # 4 of 4 at p0 = 0.3: P = 0.0081 < 0.025 but > 0.001: above the 95% limit only.
    assert funnel.position(1.0, 0.3, 4, method="exact") == "above 95% limit"


def tail_position(y, n, p0):
    """Where a count lies by its own binomial tail probabilities (scipy), two-sided 95% and 99.8%."""
    low, high = stats.binom.cdf(y, n, p0), stats.binom.sf(y - 1, n, p0)
    if low < 0.001:
        return "below 99.8% limit"
    if low < 0.025:
        return "below 95% limit"
    if high < 0.001:
        return "above 99.8% limit"
    if high < 0.025:
        return "above 95% limit"
    return "within limits"


@pytest.mark.parametrize("p0,n", [(0.6, 3), (0.3, 3), (0.3, 20), (0.12, 150), (0.5, 7), (0.03, 60), (0.93, 45)])
def test_exact_positions_agree_with_binomial_tail_probabilities(p0, n):
    for y in range(n + 1):
        assert funnel.position(y / n, p0, n, method="exact") == tail_position(y, n, p0), y


@pytest.mark.parametrize("p0,n", [(0.3, 20), (0.12, 150), (0.5, 7)])
def test_exact_limits_lie_between_the_right_counts(p0, n):
    for conf in (0.95, 0.998):
        tail = (1 - conf) / 2
        low, high = funnel.control_limits(p0, [n], conf, method="exact")
        r_low, r_high = stats.binom.ppf(tail, n, p0), stats.binom.ppf(1 - tail, n, p0)
        assert r_low - 1 < low[0] * n <= r_low or low[0] == 0            # counts <= r_low - 1 are below
        assert r_high < high[0] * n <= r_high + 1 or high[0] == 1        # counts >= r_high + 1 are above
        # the upper limit is the mirror image of the lower limit of the failures
        mirror_low, _ = funnel.control_limits(1 - p0, [n], conf, method="exact")
        assert high[0] == pytest.approx(1 - mirror_low[0])


def test_auto_limits_switch_from_exact_to_normal_at_the_stated_size():
    p0 = 0.2                                                    # n p0 (1 - p0) = 0.16 n: 100 at n = 625
    for n, method in ((624, "exact"), (625, "normal"), (40, "exact"), (5000, "normal")):
        assert np.allclose(funnel.control_limits(p0, [n], 0.998), funnel.control_limits(p0, [n], 0.998, method=method))
    assert funnel.NORMAL_FROM == 100


def test_exact_and_normal_limits_agree_for_large_denominators():
    w = funnel.control_limits(0.2, [50000], 0.998, method="normal")
    e = funnel.control_limits(0.2, [50000], 0.998, method="exact")
    assert np.allclose(w, e, atol=2e-4)


def test_limits_narrow_as_the_denominator_grows_and_stay_in_0_1():
    for method in ("normal", "exact", "auto"):
        low, high = funnel.control_limits(0.1, [2, 20, 200, 2000], 0.998, method=method)
        assert (np.diff(high - low) < 0).all()
        assert low.min() >= 0 and high.max() <= 1


def test_position_against_normal_limits():
    assert funnel.position(0.30, 0.3, 100, method="normal") == "within limits"
    assert funnel.position(0.45, 0.3, 100, method="normal") == "above 99.8% limit"   # z = 3.27
    assert funnel.position(0.40, 0.3, 100, method="normal") == "above 95% limit"     # z = 2.18
    assert funnel.position(0.15, 0.3, 100, method="normal") == "below 99.8% limit"   # z = -3.27
    assert funnel.position(0.17, 0.3, 100, method="normal") == "below 95% limit"     # z = -2.84


# --- overdispersion ------------------------------------------------------------------------------------

def test_phi_hand_worked():
    # p0 = 0.5, n = 400 (sd 0.025): counts 200 + 10 z for z = -3, -2, -1, 0, 0, 0, 1, 1, 2, 4.
    # Winsorised at the 10th and 90th percentiles (R type 7): -3 + 0.9 (1) = -2.1 and 2 + 0.1 (2) = 2.2.
    # Squares: 4.41 + 4 + 1 + 0 + 0 + 0 + 1 + 1 + 4 + 4.84 = 20.25, phi = 2.025; 10 phi = 20.25 on 9 df.
    z = np.array([-3, -2, -1, 0, 0, 0, 1, 1, 2, 4])
    res = funnel.overdispersion(200 + 10 * z, [400] * 10, 0.5)
    assert res["phi"] == pytest.approx(2.025) and res["phi_units"] == 10
    assert res["overdispersion_p"] == pytest.approx(stats.chi2.sf(20.25, 9)) and res["overdispersed"]
    few = funnel.overdispersion([1, 2, 3], [10, 10, 10], 0.2)
    assert few["phi"] is None and "fewer than 10" in few["statement"]


def test_widened_limits_are_sqrt_phi_times_wider():
    low, high = funnel.control_limits(0.5, [400], 0.998, method="normal", phi=2.025)
    assert high[0] - 0.5 == pytest.approx(math.sqrt(2.025) * stats.norm.ppf(0.999) * 0.025)
    with pytest.raises(ValueError, match="phi below 1"):
        funnel.control_limits(0.5, [400], 0.998, phi=0.5)


def published(zs):
    rows = [{"unit": f"LA{i}", "count": int(200 + 10 * z), "denominator": 400} for i, z in enumerate(zs)]
    return pd.DataFrame(rows + [{"unit": "all", "count": 200 * len(zs), "denominator": 400 * len(zs)}], dtype=object)


def test_published_funnel_widens_limits_when_overdispersed_and_says_so():
    # z = -4 ... 4 (sum 0, so the overall row is 50%): winsorised at -3.1 and 3.1, phi = 47.22/10 = 4.722.
    table, summary = funnel.funnel_from_published(published([-4, -3, -2, -1, 0, 0, 1, 2, 3, 4]))
    assert summary["phi"] == pytest.approx(4.722) and summary["overdispersion_adjusted"]
    assert summary["phi_applied"] == pytest.approx(4.722) and summary["limits"] == "auto"   # n p0 (1-p0) = 100: normal
    assert "widened by sqrt(phi) = 2.17" in summary["limit_type"] and "normal approximation" in summary["limit_type"]
    assert (table["position"] == "within limits").all()                   # |z| <= 4 < 1.96 x 2.17
    _, plain = funnel.funnel_from_published(published([-4, -3, -2, -1, 0, 0, 1, 2, 3, 4]), overdispersion_adjust=False)
    assert plain["above 99.8% limit"] == 1 and plain["below 99.8% limit"] == 1 and plain["above 95% limit"] == 2
    assert plain["phi_applied"] == 1.0 and "not adjusted" in plain["overdispersion"]


def test_published_funnel_does_not_widen_without_significant_overdispersion():
    # z = -3, -2, -1, 0, 0, 0, 1, 1, 1, 3: winsorised at -2.1 and 1.2; phi = 13.85/10 = 1.385, p = 0.128.
    table, summary = funnel.funnel_from_published(published([-3, -2, -1, 0, 0, 0, 1, 1, 1, 3]))
    assert summary["phi"] == pytest.approx(1.385)
    assert summary["overdispersion_p"] == pytest.approx(stats.chi2.sf(13.85, 9)) and summary["overdispersion_p"] > 0.05
    assert not summary["overdispersion_adjusted"] and summary["phi_applied"] == 1.0
    assert summary["below 95% limit"] == 2 and summary["above 95% limit"] == 1      # z = -3, -2 and 3


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
    assert summary["phi"] is None and summary["phi_units"] == 2 and summary["limits"] == "auto"
    assert summary["limit_type"].startswith("exact binomial limits") and "Wilson" not in summary["method"]
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
