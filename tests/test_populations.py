"""Section 3 definitions on a hand-built dataset, every expected value worked out by hand below.

The dataset (one LA unless stated, period 2017-07-01 to 2018-03-31):

child  sex  born        episodes (start, risk, legal status)                      RHIs
A      F    2003-06-15  a1 2017-08-01 medium LAC; a2 2017-09-01 low LAC;          rA1 completed (legal blank) -> a1, a2
                        a3 2017-10-01 high LAC; a4 2017-06-01 medium (before      rA2 completed legal child_in_need -> a3
                        period)                                                    (high only)
B      M    2004-02-01  b1 2017-08-10 medium CIN; b2 2017-11-10 blank risk        rB1 declined -> b1
                                                                                   rB2 completed legal not_known -> b2
C      F    2001-01-20  c1 2017-12-01 low (blank legal); c2 2018-01-05 medium     rC1 completed legal looked_after -> c1
                        LAC (other LA)                                            rC2 completed legal child_protection -> c2
D      F    2000-03-01  d1 2018-03-02 medium: D is 18 -> set aside                 none
E      M    2006-05-05  e1 2018-02-01 no_apparent_risk                              rE1 completed -> e1

Disclosures: rA1 cse_victim, rf_older_associates; rA2 mental_health; rB2 cce_victim;
rC1 rf_gang_association, cce_victim; rC2 cse_victim; rE1 self_harm_risk.
"""

from __future__ import annotations

import pandas as pd
import pytest
from builders import LA, LA2, child, disc, episode, link, load, rhi

from analysis.definitions.accounting import check_flow, record_flow
from analysis.definitions.populations import Params, Populations, age_band, rhi_cohorts, rhi_police_risk

PERIOD = dict(period_start="2017-07-01", period_end="2018-03-31")


@pytest.fixture(scope="module")
def ds(tmp_path_factory):
    return load(
        tmp_path_factory.mktemp("pop"),
        children=[child("A", "F", "2003-06-15"), child("B", "M", "2004-02-01"), child("C", "F", "2001-01-20"),
                  child("D", "F", "2000-03-01"), child("E", "M", "2006-05-05")],
        episodes=[
            episode("a1", "A", "2017-08-01 20:00", risk="medium", legal="looked_after"),
            episode("a2", "A", "2017-09-01 20:00", risk="low", legal="looked_after"),
            episode("a3", "A", "2017-10-01 20:00", risk="high", legal="looked_after"),
            episode("a4", "A", "2017-06-01 20:00", risk="medium", legal="looked_after"),
            episode("b1", "B", "2017-08-10 20:00", risk="medium", legal="child_in_need"),
            episode("b2", "B", "2017-11-10 20:00", risk="", legal="child_in_need"),
            episode("c1", "C", "2017-12-01 20:00", risk="low", legal=""),
            episode("c2", "C", "2018-01-05 20:00", risk="medium", legal="looked_after", la=LA2),
            episode("d1", "D", "2018-03-02 20:00", risk="medium"),
            episode("e1", "E", "2018-02-01 20:00", risk="no_apparent_risk"),
        ],
        rhis=[
            rhi("rA1", "A", completed_at="2017-09-04 10:00", consent_to_share="all", follow_up="one_to_one"),
            rhi("rA2", "A", completed_at="2017-10-04 10:00", legal_status="child_in_need", consent_to_share="partial"),
            rhi("rB1", "B", status="declined", decline_reason="child_declined"),
            rhi("rB2", "B", completed_at="2017-11-14 10:00", legal_status="not_known", consent_to_share="none"),
            rhi("rC1", "C", completed_at="2017-12-04 10:00", legal_status="looked_after", consent_to_share="partial",
                confidentiality_overridden="yes"),
            rhi("rC2", "C", completed_at="2018-01-08 10:00", legal_status="child_protection", consent_to_share="all",
                helpline_signposted="true"),
            rhi("rE1", "E", completed_at="2018-02-05 10:00"),
        ],
        links=[link("rA1", "a1"), link("rA1", "a2"), link("rA2", "a3"), link("rB1", "b1"), link("rB2", "b2"),
               link("rC1", "c1"), link("rC2", "c2"), link("rE1", "e1")],
        disclosures=[disc("rA1", "cse_victim"), disc("rA1", "rf_older_associates"), disc("rA2", "mental_health"),
                     disc("rB2", "cce_victim"), disc("rC1", "rf_gang_association"), disc("rC1", "cce_victim"),
                     disc("rC2", "cse_victim"), disc("rE1", "self_harm_risk")],
    )


@pytest.fixture(scope="module")
def pop(ds):
    return Populations(ds, Params(**PERIOD))


def ids(frame, column="episode_id"):
    return sorted(frame[column])


def test_set_aside_adult(ds):
    # D born 2000-03-01 is 18 on 2018-03-02
    assert ds.episodes.set_index("episode_id").loc["d1", "set_aside"] is not None
    assert ds.episodes.set_index("episode_id").loc["c1", "age"] == 16  # born 2001-01-20, on 2017-12-01


def test_notified_is_in_period_and_not_set_aside(pop):
    # a4 is before the period, d1 set aside
    assert ids(pop.notified) == ["a1", "a2", "a3", "b1", "b2", "c1", "c2", "e1"]


def test_risk_coded_and_in_scope(pop):
    assert ids(pop.risk_coded) == ["a1", "a2", "a3", "b1", "c1", "c2", "e1"]  # b2 has no code
    assert ids(pop.in_scope) == ["a1", "a2", "b1", "c1", "c2"]  # medium or low


def test_rhi_episodes_need_a_completed_rhi(pop):
    # b1's only RHI was declined
    assert ids(pop.rhi_episodes) == ["a1", "a2", "c1", "c2"]


def test_in_scope_rhis_and_children(pop):
    # rA2 addresses only a3 (high), rB2 only b2 (no code), rE1 only e1 (no apparent risk)
    assert ids(pop.rhis, "rhi_id") == ["rA1", "rC1", "rC2"]
    assert ids(pop.children, "child_id") == ["A", "C"]


def test_la_parameter(ds):
    p1 = Populations(ds, Params(**PERIOD, la_code=LA))
    p2 = Populations(ds, Params(**PERIOD, la_code=LA2))
    assert ids(p1.in_scope) == ["a1", "a2", "b1", "c1"]
    assert ids(p2.in_scope) == ["c2"]
    assert ids(p2.children, "child_id") == ["C"]


def test_period_end_is_inclusive_of_the_whole_day(ds):
    p = Populations(ds, Params(period_start="2017-07-01", period_end="2017-08-01"))
    assert ids(p.notified) == ["a1"]  # a1 starts 20:00 on the last day


def test_risk_levels_parameter(ds):
    p = Populations(ds, Params(**PERIOD, risk_levels=("high",)))
    assert ids(p.in_scope) == ["a3"]
    assert ids(p.rhis, "rhi_id") == ["rA2"]


def test_cohort_of_rhi_falls_back_to_earliest_episode(ds):
    cohorts = rhi_cohorts(ds)
    assert cohorts["rA1"] == "looked_after"       # blank on RHI; earliest episode a1 is looked after
    assert cohorts["rA2"] == "open_to_services"   # child_in_need
    assert cohorts["rC1"] == "looked_after"
    assert cohorts["rC2"] == "open_to_services"   # child_protection
    assert cohorts["rB2"] == "not_known"


def test_child_in_every_cohort_of_its_rhis(pop):
    # A: rA1 looked after. C: rC1 looked after, rC2 open to services.
    assert pop.cohort_size("looked_after") == 2
    assert pop.cohort_size("open_to_services") == 1
    assert pop.cohort_size("not_known") == 0


def test_child_prevalence_counts_each_child_once(pop):
    assert pop.prevalence("cse_victim") == (2, 2)          # A at rA1, C at rC2
    assert pop.prevalence("cce_victim") == (1, 2)          # C at rC1 (B's rB2 not in scope)
    assert pop.prevalence("mental_health") == (0, 2)       # A's rA2 is high only
    assert pop.prevalence("cse_red_flag_any") == (2, 2)    # A older associates, C gang association


def test_cohort_prevalence_uses_rhis_of_that_cohort(pop):
    assert pop.prevalence("cse_victim", "looked_after") == (1, 2)       # A yes (rA1); C's rC1 no
    assert pop.prevalence("cse_victim", "open_to_services") == (1, 1)   # C at rC2
    assert pop.prevalence("cce_victim", "open_to_services") == (0, 1)   # C's CCE was at rC1 (looked after)
    assert pop.prevalence("cse_victim", "not_known") == (0, 0)


def test_police_risk_of_rhi_is_highest_of_its_episodes(ds):
    risk = rhi_police_risk(ds)
    assert risk["rA1"] == "medium"   # a1 medium, a2 low
    assert risk["rA2"] == "high"
    assert "rB2" not in risk.index   # its only episode has no code
    assert risk["rE1"] == "no_apparent_risk"


def test_repeat_episodes_same_la_any_risk(pop):
    prof = pop.in_scope_profile.set_index("episode_id")["repeat"]
    # a1 is A's first notified in period (a4 is before the period); a2 repeats.
    # b1 is B's first; c1 is C's first in LA; c2 is C's first in LA2.
    assert prof.to_dict() == {"a1": False, "a2": True, "b1": False, "c1": False, "c2": False}


def test_age_bands():
    bands = age_band(pd.Series([9, 10, 11, 13, 14, 16, 17], dtype="Int64"))
    assert list(bands) == ["10 or under", "10 or under", "11-13", "11-13", "14-16", "14-16", "17"]


def test_children_with_more_than_one_rhi(pop):
    assert pop.rhi_counts.to_dict() == {"A": 1, "C": 2}


def test_params_reject_unknown_risk_level():
    with pytest.raises(ValueError, match="risk levels"):
        Params(risk_levels=("severe",))


def test_flow_accounts_for_every_row(pop):
    flow = record_flow(pop)
    assert check_flow(flow) == []
    get = flow.set_index(["unit", "stage"])["count"]
    assert get[("episodes", "episode rows read")] == 10
    assert get[("episodes", "outside the period")] == 1
    assert get[("episodes", "notified episodes")] == 8
    assert get[("episodes", "no risk code")] == 1
    assert get[("episodes", "graded high")] == 1
    assert get[("episodes", "graded no_apparent_risk")] == 1
    assert get[("episodes", "in-scope episodes")] == 5
    assert get[("episodes", "RHI not completed")] == 1
    assert get[("episodes", "RHI episodes")] == 4
    assert get[("RHIs", "status declined")] == 1
    assert get[("RHIs", "in-scope RHIs")] == 3
    assert get[("children", "RHI children")] == 2
    assert get[("children", "in more than one cohort")] == 1


# --- figures built on the same records (analysis.definitions.figures) --------------------------------------

@pytest.fixture(scope="module")
def figs(ds):
    from analysis.disclosure import Disclosure
    from analysis.definitions.figures import compute_figures

    return compute_figures(ds, Params(**PERIOD), control=Disclosure(suppress=False))["figures"]


def count_den(figs, fid):
    return figs[fid]["count"], figs[fid]["denominator"]


def test_figures_flow_shares(figs):
    assert count_den(figs, "no_risk_code_share") == (1, 8)
    assert count_den(figs, "high_share_of_coded") == (1, 7)
    assert count_den(figs, "medium_low_share_of_coded") == (5, 7)


def test_figures_profile(figs):
    # in scope: a1 a2 (A, F, 14), b1 (B, M, 13), c1 (C, F, 16), c2 (C, F, 16)
    assert count_den(figs, "girls") == (4, 5)
    assert count_den(figs, "aged_14_16") == (4, 5)
    assert count_den(figs, "boys_among_aged_13_or_under") == (1, 1)
    assert count_den(figs, "repeat_episodes") == (1, 5)


def test_figures_all_missing_children(figs):
    # notified children A (LAC), B (CIN: open), C (LAC in c2 -> most involved LAC), E (blank: not known)
    assert count_den(figs, "children_missing_from_care") == (2, 4)
    assert count_den(figs, "lac_missing_2_plus") == (2, 2)      # A 3 episodes, C 2
    assert count_den(figs, "other_missing_2_plus") == (1, 2)    # B 2, E 1
    assert count_den(figs, "lac_share_of_incidents") == (4, 8)  # a1 a2 a3 c2
    assert count_den(figs, "not_known_share_of_incidents") == (2, 8)  # c1 blank, e1 blank


def test_figures_consent_over_rhi_episodes(figs):
    # RHI episodes a1, a2 (rA1: all), c1 (rC1: partial + override), c2 (rC2: all)
    assert count_den(figs, "consent_all_shared") == (3, 4)
    assert count_den(figs, "consent_partial_or_override") == (1, 4)
    assert count_den(figs, "confidentiality_breached") == (1, 4)
    assert count_den(figs, "consent_none_shared") == (0, 4)


def test_figures_outcomes_any_rhi(figs):
    assert count_den(figs, "one_to_one_offered_or_provided") == (1, 2)   # A at rA1
    assert count_den(figs, "signposted_helpline") == (1, 2)              # C at rC2


def test_figures_high_comparison(figs):
    # high: a3 (A, girl, LAC), RHI rA2 with mental_health
    assert count_den(figs, "high_episodes_girls") == (1, 1)
    assert count_den(figs, "high_episodes_looked_after") == (1, 1)
    assert count_den(figs, "high_children_missing_more_than_once") == (1, 1)
    assert count_den(figs, "high_rhi_mental_health") == (1, 1)


def test_figures_cse_among_cce(figs):
    assert count_den(figs, "cse_among_cce_victims") == (1, 1)   # C: CCE and CSE


def test_figure_percentages_and_wilson(figs):
    from statsmodels.stats.proportion import proportion_confint

    f = figs["girls"]
    low, high = proportion_confint(4, 5, method="wilson")
    assert f["pct"] == pytest.approx(80.0)
    assert f["ci_low"] == pytest.approx(100 * low) and f["ci_high"] == pytest.approx(100 * high)


def test_figures_suppressed_by_default(ds):
    from analysis.definitions.figures import compute_figures

    result = compute_figures(ds, Params(**PERIOD))
    assert result["disclosure_control"]["suppressed"] is True
    assert result["figures"]["girls"]["count"] == "c"
    assert result["figures"]["consent_none_shared"]["count"] == 0 or result["figures"]["consent_none_shared"]["count"] == "c"
    for record in result["figures"].values():
        for key in ("count", "denominator"):
            value = record[key]
            assert value == "c" or value is None or value == 0 or value >= 5
