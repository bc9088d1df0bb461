"""Linkage of police grading to disclosures: every figure checked against a hand count on a small dataset.

The dataset (``study_tables``) is built so that each figure can be worked out by hand:

RHI  child  grade   cohort            disclosures                       episode no.
r1   c1     high    looked after      cse_victim                        1
r2   c1     medium  not known         mental_health                     2
r3   c2     low     open to services  cce_victim, rf_older_associates   1
r4   c3     medium  not known         -                                 1
r5   c4     low     not known         self_harm_risk (addresses e6, e7) 2
r6   c5     medium  not known         -  (c5 also has a no-apparent-risk episode)
r7   c6     high    not known         suicide_risk                      1
r8   c7     declined: not an in-scope RHI
"""

from __future__ import annotations

import json
import re

import nbformat
import pandas as pd
import pytest

import builders as b
from analysis import Params, vocab
from analysis.definitions import linkage
from analysis.render import narrative
from analysis.disclosure import SUPPRESSED, Disclosure
from analysis.stats.proportions import wilson_interval

NOTEBOOK = "notebooks/02_police_risk_and_disclosures.ipynb"


def study_tables(extra_la: bool = False):
    children = [b.child("c1"), b.child("c2", sex="male"), b.child("c3"), b.child("c4", dob="2006-01-01"),
                b.child("c5", sex="male"), b.child("c6"), b.child("c7")]
    episodes = [
        b.episode("e1", "c1", "2018-01-10 10:00", risk="high", legal="looked_after"),
        b.episode("e2", "c1", "2018-02-10 10:00", risk="medium"),
        b.episode("e3", "c2", "2018-01-12 10:00", risk="low", legal="child_in_need"),
        b.episode("e4", "c3", "2018-01-15 10:00", risk="medium"),
        b.episode("e5", "c4", "2018-01-05 10:00", risk="low"),
        b.episode("e6", "c4", "2018-02-05 10:00", risk="low"),
        b.episode("e7", "c4", "2018-03-05 10:00", risk="low"),
        b.episode("e8", "c5", "2018-01-20 10:00", risk="medium"),
        b.episode("e9", "c5", "2018-02-20 10:00", risk="no_apparent_risk"),
        b.episode("e10", "c6", "2018-01-25 10:00", risk="high"),
        b.episode("e11", "c7", "2018-01-25 10:00", risk="medium"),
    ]
    rhis = [b.rhi(f"r{i}", c) for i, c in enumerate(["c1", "c1", "c2", "c3", "c4", "c5", "c6"], start=1)]
    rhis.append(b.rhi("r8", "c7", status="declined"))
    links = [b.link("r1", "e1"), b.link("r2", "e2"), b.link("r3", "e3"), b.link("r4", "e4"), b.link("r5", "e6"),
             b.link("r5", "e7"), b.link("r6", "e8"), b.link("r7", "e10"), b.link("r8", "e11")]
    disclosures = [b.disc("r1", "cse_victim"), b.disc("r2", "mental_health"), b.disc("r3", "cce_victim"),
                   b.disc("r3", "rf_older_associates"), b.disc("r5", "self_harm_risk"), b.disc("r7", "suicide_risk")]
    return dict(children=children, episodes=episodes, rhis=rhis, links=links, disclosures=disclosures)


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    ds = b.load(tmp_path_factory.mktemp("study"), **study_tables())
    pops = linkage.linkage_populations(ds, Params())
    return ds, pops, linkage.rhi_table(pops)


def cell(table, **where):
    mask = pd.Series(True, index=table.index)
    for key, value in where.items():
        mask &= table[key] == value
    assert mask.sum() == 1, where
    return table[mask].iloc[0]


def test_rhi_table_grade_cohort_episode_number(study):
    _, pops, rt = study
    assert pops.params.risk_levels == ("high", "medium", "low")
    rt = rt.set_index("rhi_id")
    assert sorted(rt.index) == ["r1", "r2", "r3", "r4", "r5", "r6", "r7"]
    assert rt["police_risk"].to_dict() == {"r1": "high", "r2": "medium", "r3": "low", "r4": "medium",
                                           "r5": "low", "r6": "medium", "r7": "high"}
    assert rt.loc["r1", "cohort"] == "looked_after" and rt.loc["r3", "cohort"] == "open_to_services"
    assert rt.loc["r5", "episode_number"] == 2 and rt.loc["r5", "episode_band"] == "2-4"
    assert rt.loc["r2", "episode_band"] == "2-4" and rt.loc["r7", "episode_band"] == "1"
    assert rt.loc["r3", "cse_any"] and not rt.loc["r5", "cse_any"]          # red flag counts as CSE
    assert rt[linkage.SERIOUS].to_dict() == {"r1": True, "r2": False, "r3": True, "r4": False, "r5": True,
                                             "r6": False, "r7": True}


def test_episode_band_edges():
    bands = linkage.episode_band(pd.Series([1, 2, 4, 5, 14, 15, 40]))
    assert list(bands) == ["1", "2-4", "2-4", "5-14", "5-14", "15+", "15+"]


@pytest.mark.parametrize("unit, level, outcome, count, den", [
    ("rhis", "high", linkage.SERIOUS, 2, 2), ("rhis", "medium", linkage.SERIOUS, 0, 3),
    ("rhis", "low", linkage.SERIOUS, 2, 2), ("rhis", "all", "cse_any", 2, 7),
    ("children", "medium", "mental_health_any", 1, 3),   # c1 counts at medium through r2 only
    ("children", "high", "mental_health_any", 1, 2),   # c6: suicide_risk
    ("children", "all", linkage.SERIOUS, 4, 6),         # c1 (r1), c2 (r3), c4 (r5), c6 (r7); not c3, c5
    ("children", "low", "cse_red_flag_any", 1, 2),
])
def test_prevalence_by_risk_matches_hand_count(study, unit, level, outcome, count, den):
    _, _, rt = study
    table = linkage.prevalence_by(rt, [outcome], unit=unit)
    row = cell(table, cohort="all", police_risk=level, outcome=outcome)
    assert (row["count"], row["denominator"]) == (count, den)
    low, high = wilson_interval(count, den)
    assert row["ci_low"] == pytest.approx(100 * low) and row["ci_high"] == pytest.approx(100 * high)


def test_cohort_prevalence_and_empty_group_statement(study):
    _, _, rt = study
    table = linkage.prevalence_by(rt, [linkage.SERIOUS], unit="children")
    lac = cell(table, cohort="looked_after", police_risk="all", outcome=linkage.SERIOUS)
    assert (lac["count"], lac["denominator"]) == (1, 1)
    empty = cell(table, cohort="open_to_services", police_risk="high", outcome=linkage.SERIOUS)
    assert empty["denominator"] == 0 and pd.isna(empty["pct"]) and empty["statement"].startswith("no estimate")
    nk = cell(table, cohort="not_known", police_risk="medium", outcome=linkage.SERIOUS)
    assert (nk["count"], nk["denominator"]) == (0, 3)   # c1 (r2), c3, c5


def test_empty_cohort_sentence_not_nan(study):
    _, _, rt = study
    only_nk = rt[rt["cohort"] == "not_known"]
    table = linkage.prevalence_by(only_nk, [linkage.SERIOUS], unit="rhis")
    text = narrative.describe_prevalence(table, linkage.SERIOUS, "rhis", cohort="looked_after")
    assert "no estimate" in text and "nan" not in text.lower()


def test_suppression_primary_and_secondary(study):
    _, _, rt = study
    table = linkage.prevalence_by(rt, [linkage.SERIOUS], unit="rhis", cohorts=False)
    shown = linkage.suppress_table(table, Disclosure(True, 2), {"police_risk": linkage.LINKAGE_LEVELS})
    # min_cell 2: only counts of 1 are small. none here at RHI level except none -> nothing suppressed
    assert (shown["count"] != SUPPRESSED).all()
    big = linkage.suppress_table(table, Disclosure(True, 3), {"police_risk": linkage.LINKAGE_LEVELS})
    # high 2/2 and low 2/2 are small (count 2 < 3): suppressed; medium 0/3 is a zero and may stay
    assert cell(big, police_risk="high")["count"] == SUPPRESSED
    assert cell(big, police_risk="medium")["count"] == 0
    off = linkage.suppress_table(table, Disclosure(False, 5), {"police_risk": linkage.LINKAGE_LEVELS})
    assert cell(off, police_risk="high")["count"] == 2


def test_secondary_suppression_when_one_part_small():
    table = pd.DataFrame([
        {"cohort": "all", "police_risk": lv, "outcome": "x", "count": c, "denominator": 100, "pct": 1.0,
         "ci_low": 0.0, "ci_high": 2.0} for lv, c in [("high", 3), ("medium", 20), ("low", 30), ("all", 53)]])
    out = linkage.suppress_table(table, Disclosure(True, 5), {"police_risk": linkage.LINKAGE_LEVELS})
    assert cell(out, police_risk="high")["count"] == SUPPRESSED
    assert cell(out, police_risk="medium")["count"] == SUPPRESSED   # smallest other part, so high is not recoverable
    assert cell(out, police_risk="low")["count"] == 30


def test_hidden_risk_hand_count(study):
    _, pops, rt = study
    h = linkage.hidden_risk(pops, rt)
    # c2, c3, c4 graded medium/low on every episode; c1, c6 had high, c5 a no-apparent-risk episode.
    assert (h.rhi_children, h.not_all_medium_low) == (6, 3)
    assert (h.disclosed.count, h.disclosed.denominator) == (2, 3)      # c2 (cce), c4 (self-harm)
    assert (h.episodes, h.episodes_of_disclosers, h.median_episodes_disclosers) == (5, 4, 2.0)
    text = narrative.describe_hidden_risk(h, Disclosure(False, 5))
    assert "2 of 3" in text and "4 episodes" in text
    assert "2 of 3" not in narrative.describe_hidden_risk(h, Disclosure(True, 5))


def test_hidden_risk_configurable_serious_set(study):
    _, pops, rt = study
    h = linkage.hidden_risk(pops, rt, serious=("cce_victim",))
    assert (h.disclosed.count, h.disclosed.denominator) == (1, 3)


def test_screening_rhi_and_child_level(study):
    _, _, rt = study
    rhis = linkage.screening(rt, "rhis").query("cohort == 'all'").set_index("metric")
    # RHIs: TP r1 r7; FP none; FN r3 r5; TN r2 r4 r6
    expected = {"sensitivity": (2, 4), "specificity": (3, 3), "ppv": (2, 2), "npv": (3, 5)}
    assert {m: (rhis.loc[m, "count"], rhis.loc[m, "denominator"]) for m in expected} == expected
    kids = linkage.screening(rt, "children").query("cohort == 'all'").set_index("metric")
    # children, each by their first in-scope RHI: c1 r1 (high, cse_victim) TP; c2 r3 FN; c3 r4 TN; c4 r5 FN;
    # c5 r6 TN; c6 r7 TP. (c1's later r2, medium with mental_health only, is not used.)
    expected = {"sensitivity": (2, 4), "specificity": (2, 2), "ppv": (2, 2), "npv": (2, 4)}
    assert {m: (kids.loc[m, "count"], kids.loc[m, "denominator"]) for m in expected} == expected
    # NPV's RHIs (r2 to r6) are of five different children: the Korn-Graubard interval is Clopper-Pearson's
    from statsmodels.stats.proportion import proportion_confint

    low, _ = proportion_confint(3, 5, method="beta")
    assert rhis.loc["npv", "ci_low"] == pytest.approx(100 * low) and rhis.loc["npv", "design_effect"] == pytest.approx(1)
    assert "Korn and Graubard" in rhis.loc["npv", "ci_method"] and "one RHI per child" in kids.loc["npv", "ci_method"]


def rhi_frame(rows):
    """An RHI table by hand: (child, rhi, grade, first episode start, first episode id, serious harm)."""
    frame = pd.DataFrame(rows, columns=["child_id", "rhi_id", "police_risk", "first_episode_start", "first_episode_id",
                                        linkage.SERIOUS])
    frame["first_episode_start"] = pd.to_datetime(frame["first_episode_start"])
    frame["cohort"] = "not_known"
    return frame


@pytest.mark.parametrize("high_first", [True, False])
def test_child_level_screening_never_pairs_the_grade_of_one_rhi_with_the_disclosure_at_another(high_first):
    # The example: child X has an RHI graded high with no disclosure and one graded low with serious harm.
    # "Any RHI high" and "serious harm at any RHI" would make X a true positive. By X's first RHI:
    # high (no harm) first -> false positive; low (harm) first -> false negative; never a true positive.
    # Child Y (one RHI, high, harm) is the only true positive; child Z (one RHI, low, none) a true negative.
    dates = ("2018-01-01", "2018-02-01") if high_first else ("2018-02-01", "2018-01-01")
    rt = rhi_frame([("X", "r1", "high", dates[0], "e1", False), ("X", "r2", "low", dates[1], "e2", True),
                    ("Y", "r3", "high", "2018-01-05", "e3", True), ("Z", "r4", "low", "2018-01-06", "e4", False)])
    kids = linkage.screening(rt, "children", cohorts=False).set_index("metric")
    if high_first:   # TP Y, FP X, TN Z: sensitivity 1/1, specificity 1/2, PPV 1/2, NPV 1/1
        expected = {"sensitivity": (1, 1), "specificity": (1, 2), "ppv": (1, 2), "npv": (1, 1)}
    else:            # TP Y, FN X, TN Z: sensitivity 1/2, specificity 1/1, PPV 1/1, NPV 1/2
        expected = {"sensitivity": (1, 2), "specificity": (1, 1), "ppv": (1, 1), "npv": (1, 2)}
    assert {m: (kids.loc[m, "count"], kids.loc[m, "denominator"]) for m in expected} == expected
    low, high = wilson_interval(*expected["ppv"])
    assert (kids.loc["ppv", "ci_low"], kids.loc["ppv", "ci_high"]) == (pytest.approx(100 * low), pytest.approx(100 * high))


def test_first_rhi_breaks_ties_by_episode_id_in_natural_order():
    rt = rhi_frame([("X", "r1", "low", "2018-01-01 10:00", "e10", True),
                    ("X", "r2", "high", "2018-01-01 10:00", "e9", False)])
    assert linkage.first_rhis(rt)["rhi_id"].tolist() == ["r2"]          # e9 before e10 (as text e10 would win)
    with pytest.raises(ValueError, match="first_episode_start"):
        linkage.first_rhis(rt.drop(columns="first_episode_start"))


def test_rhi_level_screening_intervals_allow_for_several_rhis_per_child():
    # RHIs with serious harm: child A two high (TP, TP), B two low (FN, FN), C one high one low (TP, FN).
    # Sensitivity 3 of 6; by hand (tests/test_association.py) the design effect is 5/3, so the interval is
    # Korn and Graubard's: Clopper-Pearson at half of 3.6 (t_5 / t_2)^2 rather than at 3 of 6.
    from scipy import stats

    rt = rhi_frame([("A", "r1", "high", "2018-01-01", "e1", True), ("A", "r2", "high", "2018-01-02", "e2", True),
                    ("B", "r3", "low", "2018-01-01", "e3", True), ("B", "r4", "low", "2018-01-02", "e4", True),
                    ("C", "r5", "high", "2018-01-01", "e5", True), ("C", "r6", "low", "2018-01-02", "e6", True),
                    ("D", "r7", "low", "2018-01-01", "e7", False)])
    sens = cell(linkage.screening(rt, "rhis", cohorts=False), metric="sensitivity")
    assert (sens["count"], sens["denominator"]) == (3, 6) and sens["design_effect"] == pytest.approx(5 / 3)
    n_star = 3.6 * (stats.t.ppf(0.025, 5) / stats.t.ppf(0.025, 2)) ** 2
    low, high = stats.beta.ppf(0.025, n_star / 2, n_star / 2 + 1), stats.beta.ppf(0.975, n_star / 2 + 1, n_star / 2)
    assert (sens["ci_low"], sens["ci_high"]) == (pytest.approx(100 * low), pytest.approx(100 * high))
    assert sens["ci_high"] - sens["ci_low"] > 100 * (wilson_interval(3, 6)[1] - wilson_interval(3, 6)[0])
    spec = cell(linkage.screening(rt, "rhis", cohorts=False), metric="specificity")   # 1 of 1: not estimable d
    assert spec["design_effect"] == pytest.approx(1) and "not estimable" in spec["ci_method"]


def test_screening_without_high_risk_says_not_estimable(tmp_path):
    tables = study_tables()
    for ep in tables["episodes"]:
        if ep["police_risk"] == "high":
            ep["police_risk"] = "medium"
    ds = b.load(tmp_path, **tables)
    rt = linkage.rhi_table(linkage.linkage_populations(ds, Params()))
    table = linkage.screening(rt, "rhis")
    ppv = cell(table, cohort="all", metric="ppv")
    assert ppv["statement"] == "not estimable: no high-risk RHIs" and pd.isna(ppv["pct"])
    sens = cell(table, cohort="all", metric="sensitivity")
    assert (sens["count"], sens["denominator"]) == (0, 4) and sens["statement"] == ""
    kids = linkage.screening(rt, "children")
    assert cell(kids, cohort="all", metric="ppv")["statement"] == "not estimable: no children whose first RHI was graded high"
    text = narrative.describe_screening(linkage.suppress_table(table, Disclosure()), "rhis")
    assert "not estimable: no high-risk RHIs" in text and "nan" not in text.lower()


def test_child_highest_grade(study):
    _, _, rt = study
    frame = linkage.child_highest_grade(rt, [linkage.SERIOUS]).set_index("child_id")
    assert frame.loc["c1", "police_risk"] == "high" and bool(frame.loc["c1", linkage.SERIOUS])
    assert frame.loc["c4", "police_risk"] == "low" and len(frame) == 6


def test_grades_of_children_with_many_episodes(study):
    _, pops, rt = study
    table = linkage.grades_by_episode_count(pops, rt, many=3)
    many = table[table["children_group"] == "3 or more episodes"]
    assert many["children"].iloc[0] == 1                          # c4
    assert cell(many, police_risk="low")[["count", "denominator"]].tolist() == [3, 3]
    others = table[table["children_group"] == "fewer than 3"]
    # c1 (high, medium), c2 low, c3 medium, c5 (medium, no apparent risk), c6 high: 7 episodes
    assert cell(others, police_risk="medium")[["count", "denominator"]].tolist() == [3, 7]
    assert cell(others, police_risk="no_apparent_risk")["count"] == 1


def test_period_and_la_respected(tmp_path):
    tables = study_tables()
    tables["episodes"][2]["la_code"] = b.LA2      # e3 (c2's only episode) to another LA
    ds = b.load(tmp_path, **tables)
    rt = linkage.rhi_table(linkage.linkage_populations(ds, Params(la_code=b.LA)))
    assert "r3" not in set(rt["rhi_id"]) and len(rt) == 6
    rt = linkage.rhi_table(linkage.linkage_populations(ds, Params(period_end=pd.Timestamp("2018-01-31"))))
    assert set(rt["rhi_id"]) == {"r1", "r3", "r4", "r6", "r7"}


def test_no_child_ids_in_shareable_tables(study):
    _, pops, rt = study
    outcomes = linkage.outcome_names(pops.ds)
    for table in (linkage.prevalence_by(rt, outcomes, "children"), linkage.screening(rt, "children"),
                  linkage.grades_by_episode_count(pops, rt)):
        assert not table.astype(str).isin(set(rt["child_id"])).any().any()
        assert "child_id" not in table.columns


# --- the notebook end to end -------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("la", [None, b.LA])
def test_notebook_runs(tmp_path, la):
    import papermill as pm

    tables = study_tables()
    tables["episodes"][3]["la_code"] = b.LA2     # e4 (c3) in a second LA
    data = b.write(tmp_path / "data", **tables)
    out = tmp_path / "out"
    pm.execute_notebook(NOTEBOOK, tmp_path / "run.ipynb", kernel_name="python3", progress_bar=False,
                        parameters={"data_path": str(data), "la_code": la, "output_dir": str(out)})
    figures = json.loads((out / "figures.json").read_text())
    assert figures["disclosure_control"]["suppressed"] is True
    assert "linkage" in figures
    from analysis.publish.plan import publishes_table

    scope = la or "all"      # an authority publishes the tables of its plan (analysis.publish.plan), no others
    names = ("prevalence_by_risk_rhis", "prevalence_by_risk_children", "association_rhis",
             "screening", "hidden_risk", "models_odds_ratios")
    written = [name for name in names if publishes_table(scope, name)]
    assert "prevalence_by_risk_children" in written and (la is None) == (len(written) == len(names))
    for name in names:
        assert (out / "tables" / f"{name}.csv").exists() == (name in written), name
    for name in written:
        table = pd.read_csv(out / "tables" / f"{name}.csv", dtype=str, keep_default_na=False)
        assert len(table)
        assert not table.isin([f"c{i}" for i in range(1, 8)]).any().any()     # no child ids
    prev = pd.read_csv(out / "tables" / f"{written[0] if la is None else 'prevalence_by_risk_children'}.csv",
                       dtype=str, keep_default_na=False)
    numeric = pd.to_numeric(prev["count"], errors="coerce")
    assert not ((numeric > 0) & (numeric < 5)).any()                       # small counts suppressed
    assert {"denominator", "ci_low", "ci_high"} <= set(prev.columns)
    nb = nbformat.read(tmp_path / "run.ipynb", as_version=4)
    text = "\n".join(str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", ""))
                      + str(o.get("data", {}).get("text/html", ""))
                      for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    drawn = [fig for fig in ("prevalence_by_risk", "forest_plot", "screening_metrics")
             if (out / "figures" / f"{fig}.png").exists()]
    for fig in drawn:   # PNG only: an SVG copy is made only when a batch is asked for it (rhi batch --svg)
        assert not (out / "figures" / f"{fig}.svg").exists()
    # on seven children nearly every cell is suppressed: a chart is drawn, or one line says why not (its cells
    # are suppressed, or its table is not published at an authority's level)
    assert text.count("is not drawn") + text.count("not shown for one local authority") >= 3 - len(drawn)
    assert not re.search(r"\bc[1-7]\b", text)            # no child id printed


def test_prevalence_plot_with_zero_percent_group(study):
    import matplotlib
    matplotlib.use("Agg")
    _, _, rt = study
    table = linkage.prevalence_by(rt, [linkage.SERIOUS], unit="rhis")     # medium: 0 of 3 (Wilson low ~1e-15)
    fig = linkage.plot_prevalence(linkage.suppress_table(table, Disclosure(False)), [linkage.SERIOUS])
    assert len(fig.axes) == 4
    screen = linkage.suppress_table(linkage.screening(rt, "rhis"), Disclosure(False))
    assert len(linkage.plot_screening(screen).axes) == 1
