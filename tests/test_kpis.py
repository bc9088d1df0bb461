"""Delivery indicators on a hand-built dataset, every expected value worked out by hand below.

Authority LA, period 2018-03 (March 2018: the 2nd, 9th, 16th and 23rd are Fridays):
  k1 (looked after, care in area):   e1 Fri 2 Mar 18:00 - Fri 2 Mar 23:00 ; e2 Sat 3 Mar 20:00 - Sun 4 Mar 10:00
      r1 completed Mon 5 Mar 10:00 (offered Sun 4 Mar 12:00), addresses e1 and e2
      -> from the latest return (Sun 10:00) 24 h; from the offer 22 h
  k2 (open to services, home):       e3 Fri 9 Mar 18:00 - Fri 9 Mar 20:00
      r2 declined (child_declined, offered Sat 10 Mar 09:00), then r3 completed Mon 12 Mar 21:00 (offered Sun 11 Mar 10:00)
      -> 73 h from return: not within 72 h; 35 h from the offer
  k3 (not known, home):              e4 Thu 15 Mar 10:00 - 12:00 ; e5 Tue 20 Mar 10:00 - 11:00 ; e6 Fri 23 Mar 09:00 - 10:00
      r4 no_contact (not offered) for e4 ; nothing for e5, e6 ; found at "Park", " park", blank
      -> three episodes within 9 days: a cluster of 3 in 90 days; e5 and e6 are repeats
  k4 (child protection, care in area): e7 Fri 16 Mar 12:00 - Fri 16 Mar 18:00 (found at "Bus station")
                                     e8 Mon 19 Mar 09:00 - Mon 19 Mar 12:00
      r5 completed Mon 19 Mar 10:00 (offered Sat 17 Mar 10:00), addresses e7 and e8; e8 ended after the
      interview, so validation sets that link aside: e8 has no RHI, and r5's clock starts at e7's return
      -> Friday 18:00 to Monday 10:00 over the weekend = 64 h: within 72 h; 48 h from the offer
  Nobody went missing from a care placement out of the area, and every setting is recorded.

Totals: 8 episodes of 4 children; offered e1 e2 e3 e7 (4); accepted and completed the same 4; declined e3 (1);
repeats e2 e5 e6 e8 (4); completed episodes within 72 h of the return e1 e2 e7 (3 of 4), of the offer 4 of 4.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

import builders as b
from analysis.definitions import kpis
from analysis.cli import app
from analysis.disclosure import SUPPRESSED, Disclosure
from analysis.definitions.populations import Params

OPEN = Disclosure(suppress=False)
WITHIN_RETURN = "completed episodes, interview within 72 h from the child's return"
WITHIN_OFFER = "completed episodes, interview within 72 h from the offer"


@pytest.fixture(scope="module")
def ds(tmp_path_factory):
    folder = tmp_path_factory.mktemp("kpis")
    children = [b.child("k1"), b.child("k2", sex="male"), b.child("k3"), b.child("k4")]
    episodes = [
        b.episode("e1", "k1", "2018-03-02 18:00", "2018-03-02 23:00", legal="looked_after", missing_from="care_in_area",
                  found_location="Friend's home"),
        b.episode("e2", "k1", "2018-03-03 20:00", "2018-03-04 10:00", legal="looked_after", missing_from="care_in_area",
                  found_location="Friend's home"),
        b.episode("e3", "k2", "2018-03-09 18:00", "2018-03-09 20:00", legal="child_in_need", missing_from="home"),
        b.episode("e4", "k3", "2018-03-15 10:00", "2018-03-15 12:00", missing_from="home", found_location="Park"),
        b.episode("e5", "k3", "2018-03-20 10:00", "2018-03-20 11:00", missing_from="home", found_location=" park"),
        b.episode("e6", "k3", "2018-03-23 09:00", "2018-03-23 10:00", missing_from="home", risk=""),
        b.episode("e7", "k4", "2018-03-16 12:00", "2018-03-16 18:00", legal="child_protection",
                  missing_from="care_in_area", found_location="Bus station"),
        b.episode("e8", "k4", "2018-03-19 09:00", "2018-03-19 12:00", legal="child_protection",
                  missing_from="care_in_area"),
    ]
    rhis = [
        b.rhi("r1", "k1", completed_at="2018-03-05 10:00", offered_at="2018-03-04 12:00", follow_up="one_to_one"),
        b.rhi("r2", "k2", status="declined", offered_at="2018-03-10 09:00", decline_reason="child_declined"),
        b.rhi("r3", "k2", completed_at="2018-03-12 21:00", offered_at="2018-03-11 10:00", follow_up="signposted"),
        b.rhi("r4", "k3", status="no_contact"),
        b.rhi("r5", "k4", completed_at="2018-03-19 10:00", offered_at="2018-03-17 10:00", follow_up="single_contact"),
    ]
    links = [b.link("r1", "e1"), b.link("r1", "e2"), b.link("r2", "e3"), b.link("r3", "e3"), b.link("r4", "e4"),
             b.link("r5", "e7"), b.link("r5", "e8")]
    return b.load(folder, children=children, episodes=episodes, rhis=rhis, links=links)


@pytest.fixture(scope="module")
def card(ds):
    table = kpis.scorecard(ds, Params(), OPEN)
    return table.set_index(["group", "value", "measure"]).sort_index()


def figure(card, group, value, measure):
    return card.loc[(group, value, measure), "count"], card.loc[(group, value, measure), "denominator"]


def test_episode_and_child_states(card):
    assert figure(card, "all", "all", "episodes")[0] == 8 and figure(card, "all", "all", "children missing")[0] == 4
    assert figure(card, "all", "all", "episodes with an RHI offered") == (4, 8)          # e1 e2 e3 e7
    assert figure(card, "all", "all", "episodes with an RHI accepted") == (4, 8)
    assert figure(card, "all", "all", "episodes with an RHI completed") == (4, 8)        # r1 twice, r3, r5
    assert figure(card, "all", "all", "episodes with an RHI declined") == (1, 8)         # e3, later completed
    assert figure(card, "all", "all", "children with an RHI completed") == (3, 4)        # k1 k2 k4
    assert figure(card, "all", "all", "children with an RHI declined") == (1, 4)
    assert figure(card, "all", "all", "offered episodes declined") == (1, 4)
    assert card.loc[("all", "all", "episodes with an RHI offered"), "pct"] == pytest.approx(50.0)
    assert card.loc[("all", "all", "offered episodes declined"), "ci_low"] < 25 < card.loc[
        ("all", "all", "offered episodes declined"), "ci_high"]


def test_a_link_set_aside_gives_the_episode_no_rhi(card):
    # e8 ended after r5's interview: it is in care in the area, but has no RHI offered or completed.
    assert figure(card, "setting", "care_in_area", "episodes")[0] == 4
    assert figure(card, "setting", "care_in_area", "episodes with an RHI completed") == (3, 4)   # e1 e2 e7


def test_repeats_and_clusters(card):
    assert figure(card, "all", "all", "repeat episodes") == (4, 8)                      # e2, e5, e6, e8
    assert figure(card, "all", "all", "children with 3 or more episodes in 90 days") == (1, 4)   # k3


def test_settings_and_cohorts_with_no_children_show_zero(card):
    for setting in ("care_out_of_area", "not recorded"):
        assert figure(card, "setting", setting, "episodes")[0] == 0
        assert figure(card, "setting", setting, "children missing")[0] == 0
        assert figure(card, "setting", setting, "episodes with an RHI offered") == (0, 0)
        assert pd.isna(card.loc[("setting", setting, "episodes with an RHI offered"), "pct"])   # no estimate, not 0%
        assert figure(card, "setting", setting, WITHIN_RETURN) == (0, 0)
    assert set(card.loc["setting"].index.get_level_values("value")) == set(kpis.SETTINGS)
    assert figure(card, "setting", "home", "episodes")[0] == 4
    assert figure(card, "cohort", "looked_after", "episodes with an RHI completed") == (2, 2)
    assert figure(card, "cohort", "open_to_services", "episodes")[0] == 3                # e3 e7 e8


def test_time_to_interview_over_a_weekend(ds):
    times = kpis.interview_times(ds, Params())
    assert sorted(times["from_return"]) == [24.0, 64.0, 73.0]       # r1 Sun->Mon, r5 Fri 18:00->Mon 10:00, r3 73 h
    assert sorted(times["from_offer"]) == [22.0, 35.0, 48.0]
    t = kpis.timeliness(times, OPEN).set_index("clock")
    back = t.loc["from the child's return"]
    assert (back["within_72h_count"], back["within_72h_denominator"]) == (2, 3)
    assert back["median_hours"] == 64.0 and back["quartiles_hours"] == "44.0 to 68.5"
    assert t.loc["from the offer", "within_72h_count"] == 3
    dist = kpis.time_distribution(times, OPEN).set_index("hours")
    assert dist["from_return"].tolist() == [1, 0, 1, 1, 0, 0]       # 24 h is 'up to 24 h': bands include their limit
    assert dist["from_offer"].tolist() == [1, 2, 0, 0, 0, 0]        # 48 h is '24-48 h'
    edge = kpis.timeliness(pd.DataFrame({"from_return": [72.0], "from_offer": [72.5]}), OPEN).set_index("clock")
    assert edge["within_72h_count"].tolist() == [1, 0]              # exactly 72 hours is within 72 hours


def test_within_72_hours_per_episode_by_setting(card):
    assert figure(card, "all", "all", WITHIN_RETURN) == (3, 4)                           # e1 e2 (24 h), e7 (64 h)
    assert figure(card, "all", "all", WITHIN_OFFER) == (4, 4)
    assert figure(card, "setting", "home", WITHIN_RETURN) == (0, 1)                      # e3 at 73 h
    assert figure(card, "setting", "care_in_area", WITHIN_RETURN) == (3, 3)


def test_reasons_follow_up_and_found_locations(ds):
    reasons = kpis.decline_reasons(ds, Params(), OPEN).set_index("reason")
    assert reasons.loc["child_declined", "count"] == 1 and reasons.loc["other", "count"] == 0
    assert reasons.loc["child_declined", "denominator"] == 1
    fu = kpis.follow_up(ds, Params(), OPEN).set_index("follow_up")
    assert fu.loc["one_to_one", "count"] == 1 and fu.loc["signposted", "count"] == 1
    assert fu.loc["single_contact", "count"] == 1 and fu.loc["none", "count"] == 0 and fu["denominator"].max() == 3
    found = kpis.found_locations(kpis.episode_states(ds, Params()), OPEN).set_index("found_location")
    assert found.loc["park", "count"] == 2 and found.loc["friend's home", "count"] == 2
    assert found.loc["bus station", "count"] == 1 and found.loc["other places", "count"] == 0
    assert found.loc["not recorded", "count"] == 3                                # e3, e6, e8


def test_disclosure_control_hides_small_counts_and_rare_places(ds):
    control = Disclosure()
    card = kpis.scorecard(ds, Params(), control)
    numeric = pd.to_numeric(card["count"], errors="coerce")
    assert not ((numeric > 0) & (numeric < 5)).any()
    found = kpis.found_locations(kpis.episode_states(ds, Params()), control)
    # every place is below 5, so all are 'other places' (5); 'not recorded' (3) is hidden, so 'other' is too
    assert found["found_location"].tolist() == ["other places", "not recorded"]
    assert (found["count"] == SUPPRESSED).all()


def test_a_lone_suppressed_cell_gets_a_second_one():
    states = pd.DataFrame({"found_location": ["A"] * 6 + ["B"] * 7 + ["C"] * 2})
    found = kpis.found_locations(states, Disclosure()).set_index("found_location")["count"]
    # C (2) goes to 'other places', which is small: A, the smallest other non-zero place, is hidden too
    assert found.to_dict() == {"b": 7, "a": SUPPRESSED, "other places": SUPPRESSED, "not recorded": 0}


@pytest.mark.parametrize("min_cell", [3, 5])
def test_no_setting_or_cohort_is_recoverable_from_the_total(ds, min_cell):
    card = kpis.scorecard(ds, Params(), Disclosure(min_cell=min_cell))
    parts = card[card["group"] != "all"]
    for (group, measure), rows in parts.groupby(["group", "measure"]):
        for column in ("count", "denominator"):
            hidden = (rows[column] == SUPPRESSED).sum()
            others = pd.to_numeric(rows[column], errors="coerce").fillna(0)
            assert hidden != 1 or (others > 0).sum() == 0, (group, measure, column)
    cohort_eps = parts[(parts["group"] == "cohort") & (parts["measure"] == "episodes")].set_index("value")["count"]
    if min_cell == 3:     # looked after (2) is small; open to services (3), the smallest other, goes with it
        assert cohort_eps.to_dict() == {"looked_after": SUPPRESSED, "open_to_services": SUPPRESSED, "not_known": 3}


def test_monthly(ds):
    month = kpis.monthly(kpis.episode_states(ds, Params()), OPEN)
    row = month.iloc[0]
    assert month["month"].tolist() == ["2018-03"] and row["episodes"] == 8
    assert (row["offered_count"], row["completed_count"], row["within_72h_count"]) == (4, 4, 3)
    assert row["within_72h_pct"] == pytest.approx(75.0)


def test_period_with_no_episodes_and_the_command(ds):
    none = kpis.scorecard(ds, Params(period_start="2019-01-01"), OPEN).set_index(["group", "value", "measure"])
    assert none.loc[("all", "all", "episodes"), "count"] == 0
    runner = CliRunner()
    result = runner.invoke(app, ["kpis", str(ds.path), "--json", "--no-suppress"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert "INTERNAL USE ONLY" in out["disclosure_control"] and set(out["authorities"]) == {b.LA, "all"}
    text = runner.invoke(app, ["kpis", str(ds.path), "--la", b.LA])
    assert text.exit_code == 0 and "Disclosure control applied" in text.output and "scorecard" in text.output
    for output in (result.output, text.output):
        assert not any(f'"k{i}"' in output or f" k{i} " in output for i in range(1, 5))   # no child id
