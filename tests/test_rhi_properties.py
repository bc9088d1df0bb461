"""The police grade and cohort of an RHI are properties of the RHI (contract, section 3).

Hand-worked cases:
- an RHI addressing a medium episode at 17 and a high one at 18 (set aside by
  validation) is graded medium: set-aside episodes are left out;
- an RHI addressing a medium episode in one authority and a high one in another
  is graded high in both authorities' reports and in the all-authorities report;
- episodes starting at the same moment are ordered by episode id in natural
  order ("e9" before "e10"), for repeats, for the earliest episode of an RHI and
  for episode numbers.
"""

from __future__ import annotations

import pandas as pd
import pytest
from builders import LA, LA2, child, disc, episode, link, load, rhi

from analysis.definitions import linkage
from analysis.disclosure import Disclosure
from analysis.definitions.populations import Params, Populations, chronological, rhi_cohorts, rhi_police_risk
from analysis.publish.build import build_publication

PERIOD = dict(period_start="2017-04-01", period_end="2018-03-31")


@pytest.fixture(scope="module")
def ds(tmp_path_factory):
    return load(
        tmp_path_factory.mktemp("rhiprops"),
        # T turns 18 on 2018-01-10: t1 (medium, aged 17) is kept, t2 (high, aged 18) is set aside.
        children=[child("T", "female", "2000-01-10"), child("X", "male", "2003-05-05"),
                  child("N", "female", "2004-02-02")],
        episodes=[
            episode("t1", "T", "2017-12-01 20:00", risk="medium", legal="looked_after"),
            episode("t2", "T", "2018-01-20 20:00", risk="high", legal="looked_after"),
            # X: one RHI over a medium episode in LA and a high one in LA2
            episode("x1", "X", "2017-09-01 20:00", risk="medium", la=LA, legal="child_in_need"),
            episode("x2", "X", "2017-09-03 20:00", risk="high", la=LA2, legal="looked_after"),
            # N: e10 and e9 start at the same moment; e9 is high (out of scope), e10 low
            episode("e10", "N", "2017-10-01 20:00", risk="low", legal="child_in_need"),
            episode("e9", "N", "2017-10-01 20:00", risk="high", legal="looked_after"),
        ],
        rhis=[rhi("rT", "T", completed_at="2018-02-01 10:00"),
              rhi("rX", "X", completed_at="2017-09-10 10:00"),
              rhi("rN", "N", completed_at="2017-10-05 10:00")],
        links=[link("rT", "t1"), link("rT", "t2"), link("rX", "x1"), link("rX", "x2"),
               link("rN", "e10"), link("rN", "e9")],
        disclosures=[disc("rT", "cse_victim"), disc("rX", "cce_victim"), disc("rN", "mental_health")],
    )


def test_the_adult_episode_is_set_aside(ds):
    reasons = ds.episodes.set_index("episode_id")["set_aside"]
    assert pd.isna(reasons["t1"]) and not pd.isna(reasons["t2"])


def test_set_aside_episode_does_not_grade_the_rhi(ds):
    assert rhi_police_risk(ds)["rT"] == "medium"


def test_grade_is_the_same_in_every_authority(ds):
    assert rhi_police_risk(ds)["rX"] == "high"
    for la in (LA, LA2):
        assert rhi_police_risk(ds.subset_la(la))["rX"] == "high", la
    # the authority's own tables: rX is in LA's scope through x1 (medium) and counts under high
    rt = linkage.rhi_table(Populations(ds.subset_la(LA), Params(**PERIOD, la_code=LA)))
    assert rt.set_index("rhi_id").loc["rX", "police_risk"] == "high"


def test_cohort_is_the_same_in_every_authority(ds):
    # no legal status on the RHI: the earliest episode it addresses (x1, child in need) decides, even in LA2
    assert rhi_cohorts(ds)["rX"] == "open_to_services"
    assert rhi_cohorts(ds.subset_la(LA2))["rX"] == "open_to_services"


def test_subset_properties_cover_only_its_rhis(ds):
    assert set(rhi_police_risk(ds.subset_la(LA2)).index) == {"rX"}


def _published_grade_counts(pub, scope, ds=None):
    """RHIs by police grade as the scope's report counts them: the published RHI-level table where its level
    publishes it (all authorities); for an authority, whose plan leaves that table out, the RHI table its
    report's tables are built from (``linkage.rhi_table`` on the authority's records)."""
    if scope != "all":
        rt = linkage.rhi_table(linkage.linkage_populations(ds.subset_la(scope), Params(**PERIOD, la_code=scope)))
        counts = rt["police_risk"].value_counts()
        return {level: int(counts.get(level, 0)) for level in ("high", "medium", "low")}
    table = pub.table(scope, "prevalence_by_risk_rhis")
    rows = table[(table["cohort"] == "all") & (table["outcome"] == "cce")].set_index("police_risk")
    return {level: rows.loc[level, "denominator"] for level in ("high", "medium", "low") if level in rows.index}


def test_published_reports_agree_on_the_grade(ds):
    params = Params(**PERIOD)
    pub = build_publication(ds, params, ["all", LA, LA2], Disclosure(suppress=False))
    everyone = _published_grade_counts(pub, "all")
    first = _published_grade_counts(pub, LA, ds)
    # all authorities: rX (high), rN (high: e9), rT (medium: t2 set aside)
    assert everyone["high"] == 2 and everyone["medium"] == 1
    # LA holds rX (through x1), rN and rT: graded as in the whole dataset
    assert first["high"] == 2 and first["medium"] == 1
    # LA2 holds rX only, through x2 (the linkage analysis takes every grade): high there too
    second = _published_grade_counts(pub, LA2, ds)
    assert second["high"] == 1 and second["medium"] == 0


def test_ties_are_broken_by_natural_episode_order():
    frame = pd.DataFrame({"episode_id": ["e10", "e9", "a2", "e1"],
                          "missing_start": pd.to_datetime(["2018-01-01"] * 3 + ["2017-01-01"])})
    assert list(chronological(frame)["episode_id"]) == ["e1", "a2", "e9", "e10"]


def test_tie_decides_repeat_and_earliest_episode(ds):
    pop = Populations(ds, Params(**PERIOD))
    profile = pop.in_scope_profile.set_index("episode_id")
    # e9 (high) comes first in natural order, so e10 (low, in scope) is N's repeat episode
    assert bool(profile.loc["e10", "repeat"]) is True
    # rN has no legal status: its earliest episode is e9 (looked after), not e10 (child in need)
    assert rhi_cohorts(ds)["rN"] == "looked_after"
    rt = linkage.rhi_table(pop).set_index("rhi_id")
    assert rt.loc["rN", "episode_number"] == 2       # e10 is N's second notified episode
