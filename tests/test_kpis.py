"""Delivery indicators on a hand-built dataset, every expected value worked out by hand below.

Authority LA, period 2018-03:
  k1 (looked after, care in area): e1 Fri 2 Mar 18:00 - Fri 2 Mar 23:00 ; e2 Sat 3 Mar 20:00 - Sun 4 Mar 10:00
      r1 completed Mon 5 Mar 10:00 (offered Sun 4 Mar 12:00), addresses e1 and e2
      -> from the latest return (Sun 10:00) 24 h; from the offer 22 h
  k2 (open to services, home):      e3 Fri 9 Mar 18:00 - Fri 9 Mar 20:00
      r2 declined (child_declined, offered Sat 10 Mar 09:00), then r3 completed Mon 12 Mar 21:00 (offered Sun 11 Mar 10:00)
      -> 73 h from return: not within 72 h; 35 h from the offer
  k3 (not known, home):             e4 Thu 15 Mar 10:00 - 12:00 ; e5 Tue 20 Mar 10:00 - 11:00 ; e6 Fri 23 Mar 09:00 - 10:00
      r4 no_contact (not offered) for e4 ; nothing for e5, e6 ; found at "Park", "park", blank
      -> three episodes within 9 days: a cluster of 3 in 90 days; e5 and e6 are repeats
  Nobody went missing from a care placement out of the area.
"""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

import builders as b
from analysis import kpis
from analysis.cli import app
from analysis.disclosure import Disclosure
from analysis.populations import Params

OPEN = Disclosure(suppress=False)


@pytest.fixture(scope="module")
def ds(tmp_path_factory):
    folder = tmp_path_factory.mktemp("kpis")
    children = [b.child("k1"), b.child("k2", sex="male"), b.child("k3")]
    episodes = [
        b.episode("e1", "k1", "2018-03-02 18:00", "2018-03-02 23:00", legal="looked_after", missing_from="care_in_area",
                  found_location="Friend's home"),
        b.episode("e2", "k1", "2018-03-03 20:00", "2018-03-04 10:00", legal="looked_after", missing_from="care_in_area",
                  found_location="Friend's home"),
        b.episode("e3", "k2", "2018-03-09 18:00", "2018-03-09 20:00", legal="child_in_need", missing_from="home"),
        b.episode("e4", "k3", "2018-03-15 10:00", "2018-03-15 12:00", missing_from="home", found_location="Park"),
        b.episode("e5", "k3", "2018-03-20 10:00", "2018-03-20 11:00", missing_from="home", found_location="park"),
        b.episode("e6", "k3", "2018-03-23 09:00", "2018-03-23 10:00", missing_from="home", risk=""),
    ]
    rhis = [
        b.rhi("r1", "k1", completed_at="2018-03-05 10:00", offered_at="2018-03-04 12:00", follow_up="one_to_one"),
        b.rhi("r2", "k2", status="declined", offered_at="2018-03-10 09:00", decline_reason="child_declined"),
        b.rhi("r3", "k2", completed_at="2018-03-12 21:00", offered_at="2018-03-11 10:00", follow_up="signposted"),
        b.rhi("r4", "k3", status="no_contact"),
    ]
    links = [b.link("r1", "e1"), b.link("r1", "e2"), b.link("r2", "e3"), b.link("r3", "e3"), b.link("r4", "e4")]
    return b.load(folder, children=children, episodes=episodes, rhis=rhis, links=links)


@pytest.fixture(scope="module")
def card(ds):
    table = kpis.scorecard(ds, Params(), OPEN)
    return table.set_index(["group", "value", "measure"]).sort_index()


def test_episode_and_child_states(card):
    a = card.loc[("all", "all")]
    assert a.loc["episodes", "count"] == 6 and a.loc["children missing", "count"] == 3
    assert (a.loc["episodes with an RHI offered", ["count", "denominator"]] == [3, 6]).all()     # e1 e2 e3
    assert (a.loc["episodes with an RHI completed", ["count", "denominator"]] == [3, 6]).all()   # r1 x2, r3
    assert (a.loc["episodes with an RHI declined", ["count", "denominator"]] == [1, 6]).all()    # e3 then completed
    assert (a.loc["children with an RHI completed", ["count", "denominator"]] == [2, 3]).all()
    assert (a.loc["offered episodes declined", ["count", "denominator"]] == [1, 3]).all()
    assert a.loc["episodes with an RHI offered", "pct"] == pytest.approx(50.0)


def test_repeats_and_clusters(card):
    a = card.loc[("all", "all")]
    assert (a.loc["repeat episodes", ["count", "denominator"]] == [3, 6]).all()                 # e2, e5, e6
    assert (a.loc["children with 3 or more episodes in 90 days", ["count", "denominator"]] == [1, 3]).all()


def test_settings_and_cohorts_with_no_children_show_zero(card):
    out = card.loc[("setting", "care_out_of_area")]
    assert out.loc["episodes", "count"] == 0 and out.loc["children missing", "count"] == 0
    assert out.loc["episodes with an RHI offered", "denominator"] == 0
    assert pd.isna(out.loc["episodes with an RHI offered", "pct"])              # no estimate, not 0%
    assert card.loc[("setting", "home", "episodes"), "count"] == 4
    assert card.loc[("cohort", "looked_after", "episodes with an RHI completed"), "count"] == 2


def test_time_to_interview_over_a_weekend(ds):
    times = kpis.interview_times(ds, Params()).sort_values("hours_from_return")
    assert times["hours_from_return"].tolist() == [24.0, 73.0]
    assert sorted(times["hours_from_offer"].tolist()) == [22.0, 35.0]
    t = kpis.timeliness(times, OPEN).set_index("clock")
    assert t.loc["from the child's return", "within_72h_count"] == 1
    assert t.loc["from the child's return", "within_72h_denominator"] == 2
    assert t.loc["from the offer", "within_72h_count"] == 2
    dist = kpis.time_distribution(times, OPEN).set_index("hours_from_return")["rhis"]
    assert dist["up to 24 h"] == 1 and dist["24-48 h"] == 0 and dist["72 h-5 days"] == 1   # bands include their upper limit
    assert dist.sum() == 2


def test_reasons_follow_up_and_found_locations(ds):
    reasons = kpis.decline_reasons(ds, Params(), OPEN).set_index("reason")
    assert reasons.loc["child_declined", "count"] == 1 and reasons.loc["other", "count"] == 0
    fu = kpis.follow_up(ds, Params(), OPEN).set_index("follow_up")
    assert fu.loc["one_to_one", "count"] == 1 and fu.loc["signposted", "count"] == 1
    states = kpis.episode_states(ds, Params())
    found = kpis.found_locations(states, OPEN).set_index("found_location")
    assert found.loc["park", "count"] == 2 and found.loc["friend's home", "count"] == 2
    assert found.loc["not recorded", "count"] == 2                                # e3, e6


def test_disclosure_control_hides_small_counts_and_rare_places(ds):
    control = Disclosure()
    card = kpis.scorecard(ds, Params(), control)
    numeric = pd.to_numeric(card["count"], errors="coerce")
    assert not ((numeric > 0) & (numeric < 5)).any()
    found = kpis.found_locations(kpis.episode_states(ds, Params()), control)
    assert set(found["found_location"]) == {"other places", "not recorded"}          # every place is below 5
    assert (found["count"] == "c").all()


def test_monthly_and_period_and_cli(ds):
    month = kpis.monthly(kpis.episode_states(ds, Params()), control=OPEN)
    assert month["month"].tolist() == ["2018-03"] and month.loc[0, "episodes"] == 6
    none = kpis.scorecard(ds, Params(period_start="2019-01-01"), OPEN).set_index(["group", "value", "measure"])
    assert none.loc[("all", "all", "episodes"), "count"] == 0
    result = CliRunner().invoke(app, ["kpis", str(ds.path), "--json"])
    assert result.exit_code == 0 and "k1" not in result.output and "e1" not in result.output.replace("e1 ", "")
