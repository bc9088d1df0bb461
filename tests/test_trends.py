"""Reporting years and ``rhi trends`` (issue 18): intervals, tests, flags, suppression, detection.

The detection tests have two layers, to stay cheap:

- the statistic path (:func:`analysis.definitions.trends.analyse_series`, exactly what
  ``rhi trends`` runs after counting) on counts simulated over many seeds:
  the false flag rate under no change, and the detection of a planted one;
- a few full runs: synthetic years (with and without a planted change)
  through ``rhi synth`` / :func:`generate_study_years` and ``rhi trends``.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from typer.testing import CliRunner

import builders as b
from analysis.stats import association
from analysis.cli import app
from analysis.disclosure import Disclosure
from analysis.definitions.populations import Params
from analysis.synth.study import generate_study
from analysis.synth.years import generate_study_years, parse_plant
from analysis.definitions.trends import (NO_CHANGE, analyse_series, change_test, compute_trends, newcombe_difference,
                             trend_test, worst_case_design_effect, year_section)
from analysis.dataset.io import write_dataset
from analysis.dataset.validate import load_dataset
from analysis.definitions.years import TrendsError, reporting_years, year_bounds, year_label

runner = CliRunner()


# --- reporting years -----------------------------------------------------------------------------

def test_dfe_year_bounds_and_labels():
    assert year_label(2017) == "2017-18" and year_label(1999) == "1999-00" and year_label(2017, 1) == "2017"
    assert year_bounds(2017) == (pd.Timestamp("2017-04-01"), pd.Timestamp("2018-03-31"))
    assert year_bounds(2019, 3) == (pd.Timestamp("2019-03-01"), pd.Timestamp("2020-02-29"))   # leap year
    assert year_bounds(2018, 1) == (pd.Timestamp("2018-01-01"), pd.Timestamp("2018-12-31"))


def _two_year_dataset(tmp_path, first="2016-04-03 10:00", last="2018-03-20 10:00"):
    children = [b.child("C1"), b.child("C2", sex="male")]
    episodes = [b.episode("E1", "C1", first), b.episode("E2", "C2", "2017-01-10 10:00"),
                b.episode("E3", "C1", "2017-05-01 10:00"), b.episode("E4", "C2", last)]
    rhis = [b.rhi("R1", "C1", completed_at="2016-04-05 10:00"), b.rhi("R2", "C1", completed_at="2017-05-03 10:00")]
    links = [b.link("R1", "E1"), b.link("R2", "E3")]
    return b.load(tmp_path / "d", children=children, episodes=episodes, rhis=rhis, links=links,
                  disclosures=[b.disc("R1", "cce_victim")])


def test_years_cover_the_span_and_partial_years_are_flagged(tmp_path):
    ds = _two_year_dataset(tmp_path)
    years = reporting_years(ds)
    assert [y.label for y in years] == ["2016-17", "2017-18"]
    assert not any(y.partial for y in years)
    late = reporting_years(ds, Params(period_start=pd.Timestamp("2016-06-01")))
    assert late[0].partial and "2016-06-01" in late[0].note
    calendar = reporting_years(ds, start_month=1)
    assert [y.label for y in calendar] == ["2016", "2017", "2018"]
    assert calendar[0].partial and "days after the year began" in calendar[0].note      # data start in April
    assert calendar[-1].partial and "days before the year ended" in calendar[-1].note   # data end in March
    extract = reporting_years(ds, extracted_on="2018-02-01")
    assert extract[-1].partial and "extract was made on 2018-02-01" in extract[-1].note


def test_a_year_without_episodes_is_flagged(tmp_path):
    ds = b.load(tmp_path / "g", children=[b.child("C1")],
                episodes=[b.episode("E1", "C1", "2015-04-05 10:00"), b.episode("E2", "C1", "2017-04-10 10:00"),
                          b.episode("E3", "C1", "2018-03-25 10:00")])
    years = reporting_years(ds)
    assert [(y.label, y.partial) for y in years] == [("2015-16", False), ("2016-17", True), ("2017-18", False)]
    assert years[1].note.startswith("no episode has a missing_start in this year")
    used = compute_trends(ds, control=Disclosure(suppress=False), progress=False)["years"]
    assert [y["compared"] for y in used] == [True, False, True]


def test_partial_first_year_of_the_study_is_flagged_and_not_compared(tmp_path):
    ds = _two_year_dataset(tmp_path, first="2016-07-01 10:00")
    result = compute_trends(ds, progress=False)
    assert [y["partial"] for y in result["years"]] == [True, False]
    assert result["figures"]["cce_victim"]["change"] is None
    assert any("2016-17 is partial" in n for n in result["notes"])
    assert result["figures"]["cce_victim"]["verdict"] == "not compared: fewer than two complete years"
    forced = compute_trends(ds, include_partial=True, control=Disclosure(suppress=False), progress=False)
    assert forced["figures"]["cce_victim"]["change"]["from"] == "2016-17"
    assert any("compared because --include-partial" in n for n in forced["notes"])


def test_each_year_applies_the_definitions_within_the_year(tmp_path):
    """C1's episode of 2017-05 is a repeat over the whole span, but the first of its year."""
    ds = _two_year_dataset(tmp_path)
    result = compute_trends(ds, control=Disclosure(suppress=False), progress=False)
    repeat = result["figures"]["repeat_episodes"]["years"]
    assert repeat["2016-17"]["count"] == 0 and repeat["2017-18"]["count"] == 0
    whole = compute_trends(ds, Params(), start_month=1, control=Disclosure(suppress=False), include_partial=True,
                           progress=False)
    assert whole["figures"]["cce_victim"]["years"]["2016"]["count"] == 1


def test_no_data_is_a_clear_error(tmp_path):
    ds = _two_year_dataset(tmp_path)
    with pytest.raises(TrendsError, match="no episode .* has a missing_start in the period"):
        reporting_years(ds, Params(period_start=pd.Timestamp("2019-01-01")))
    with pytest.raises(TrendsError, match="--year-start-month 13"):
        reporting_years(ds, start_month=13)


# --- statistics ----------------------------------------------------------------------------------

@pytest.mark.parametrize("counts, expected", [
    # Newcombe (1998), Statistics in Medicine 17:873-890, Table II, method 10 (later minus earlier).
    ((48, 80, 56, 70), (0.0524, 0.3339)),
    ((3, 10, 9, 10), (0.1705, 0.8090)),
    ((0, 29, 5, 56), (-0.0381, 0.1926)),
    ((0, 20, 0, 10), (-0.1611, 0.2775)),
    ((0, 10, 0, 10), (-0.2775, 0.2775)),
])
def test_newcombe_interval_matches_the_published_examples(counts, expected):
    _, low, high = newcombe_difference(*counts)
    assert (round(low, 4), round(high, 4)) == expected


def test_change_test_is_the_score_test_or_fisher():
    res = change_test(30, 214, 45, 214)
    chi2, p, _, _ = stats.chi2_contingency([[30, 184], [45, 169]], correction=False)
    assert res.method == "two-sample score test"
    assert res.pvalue == pytest.approx(p, rel=1e-12) and res.statistic ** 2 == pytest.approx(chi2, rel=1e-12)
    assert res.statistic > 0
    small = change_test(1, 20, 6, 20)
    assert small.method == "Fisher's exact test"
    assert small.pvalue == pytest.approx(stats.fisher_exact([[6, 14], [1, 19]]).pvalue)
    assert not change_test(0, 10, 0, 12).tested and not change_test(3, 0, 1, 5).tested


def test_trend_test_is_cochran_armitage_over_year_scores():
    res = trend_test([10, 20, 30], [100, 100, 100])
    ref = association.cochran_armitage([10, 20, 30], [100, 100, 100], [0, 1, 2])
    assert res.statistic == pytest.approx(ref.statistic) and res.pvalue == pytest.approx(ref.pvalue)
    assert res.statistic > 0 and res.pvalue < 0.001
    assert not trend_test([1, 2], [10, 10]).tested
    gap = trend_test([10, 20, 30], [100, 100, 100], scores=[0, 1, 3])     # a year left out between
    ref = association.cochran_armitage([10, 20, 30], [100, 100, 100], [0, 1, 3])
    assert gap.statistic == pytest.approx(ref.statistic) and gap.statistic != pytest.approx(res.statistic)


def test_worst_case_design_effect():
    assert worst_case_design_effect(pd.Series(["a", "b", "c"])) == 1.0
    assert worst_case_design_effect(pd.Series(["a"] * 9 + ["b"])) == pytest.approx((81 + 1) / 10)


def test_the_kish_design_effect_is_not_an_upper_bound():
    # Hand-worked (issue 28): one child with 4 episodes, all counted; 12 children with one episode each, none counted.
    # p = 4/16; with every child's episodes alike the variance of p is sum m^2 (y_c - p)^2 / n^2, so the design
    # effect is (16 x 0.75^2 + 12 x 0.25^2) / (16 x 0.25 x 0.75) = 9.75 / 3 = 3.25, while Kish's sum m^2 / n is
    # 28/16 = 1.75: the count depends on the number of episodes, and the effective counts would be too large.
    child = pd.Series(["big"] * 4 + [f"s{i}" for i in range(12)])
    y = np.r_[[1] * 4, [0] * 12]
    by_hand = (16 * 0.75 ** 2 + 12 * 0.25 ** 2) / (16 * 0.25 * 0.75)
    assert by_hand == pytest.approx(3.25) and worst_case_design_effect(child) == pytest.approx(1.75)
    estimated = association.design_effect(y, child)       # with its G/(G - 1) and n/(n - 1) factors
    assert estimated == pytest.approx(by_hand * (13 / 12) / (16 / 15))
    assert estimated > worst_case_design_effect(child)
    from analysis.definitions.trends import CLUSTER_NOTE
    assert "not an upper bound" in CLUSTER_NOTE and "largest inflation" not in CLUSTER_NOTE


def test_fisher_on_effective_counts_is_not_called_exact():
    res = change_test(1 / 1.5, 20 / 1.5, 6 / 1.5, 20 / 1.5)              # effective counts, design effect 1.5
    assert res.method == "Fisher's test on rounded effective counts (approximate)" and "exact" not in res.method
    assert res.pvalue == pytest.approx(stats.fisher_exact([[4, 9], [1, 12]]).pvalue)


def test_clustered_episodes_are_not_flagged_as_if_independent():
    counts = [(300, 600), (360, 600)]
    plain = analyse_series({"f": {"counts": counts}}, ["a", "b"], (0, 1), [])
    clustered = analyse_series({"f": {"counts": counts, "design_effects": [8.0, 8.0]}}, ["a", "b"], (0, 1), [])
    assert plain["f"]["flags"] and plain["f"]["change"]["p_value"] < 0.002
    assert not clustered["f"]["flags"] and clustered["f"]["verdict"] == NO_CHANGE
    assert clustered["f"]["change"]["ci_low"] < 0 < clustered["f"]["change"]["ci_high"]


# --- flags and disclosure control ------------------------------------------------------------------

def test_flags_need_the_adjusted_test_and_give_the_direction():
    series = {"up": {"counts": [(20, 200), (60, 200)]}, "down": {"counts": [(60, 200), (20, 200)]},
              "same": {"counts": [(40, 200), (41, 200)]}, "n": {"kind": "count", "counts": [(3, 10), (4, 10)]}}
    out = analyse_series(series, ["2016-17", "2017-18"], (0, 1), [])
    assert out["up"]["flags"][0].startswith("increase from 2016-17 to 2017-18")
    assert out["down"]["flags"][0].startswith("decrease")
    assert out["same"]["verdict"] == NO_CHANGE and out["same"]["change"]["family_size"] == 3
    assert out["n"]["verdict"] == "not tested: a count, not a proportion"
    # Unadjusted p = 0.02 is not enough once adjusted over a family of 20 nulls.
    family = {f"null{i}": {"counts": [(50, 250), (50, 250)]} for i in range(19)}
    family["weak"] = {"counts": [(40, 250), (60, 250)]}
    weak = analyse_series(family, ["a", "b"], (0, 1), [])["weak"]
    assert 0.01 < weak["change"]["p_value"] < 0.05 and weak["change"]["q_value_bh"] > 0.05
    assert weak["verdict"] == NO_CHANGE


def test_a_suppressed_year_hides_the_difference_and_leaves_the_family():
    series = {"small": {"counts": [(3, 50), (20, 50)]}, "big": {"counts": [(20, 200), (45, 200)]},
              "rest": {"counts": [(46, 50), (30, 50)]}}
    out = analyse_series(series, ["a", "b", "c"][:2], (0, 1), [], control=Disclosure())
    small = out["small"]
    assert small["years"][0]["count"] == "c" and small["years"][0]["pct"] == "c"
    assert small["change"]["difference_points"] == "c" and small["change"]["p_value"] == "c"
    assert small["change"]["q_value_bh"] == "c" and not small["flags"]
    assert out["rest"]["years"][0]["count"] == "c"       # 46 of 50: the 4 without it are too few
    assert out["big"]["change"]["family_size"] == 1
    internal = analyse_series(series, ["a", "b"], (0, 1), [], control=Disclosure(suppress=False))
    assert internal["big"]["change"]["family_size"] == 3 and internal["small"]["change"]["p_value"] < 0.001


# --- detection: the statistic path over many seeds -------------------------------------------------

N_RHI, P_CCE = 214, 0.084     # study scale: RHI children per year, CCE share of the calibrated study


def _simulate(seed: int, factor: float, n_null: int, years: int = 2):
    """One simulated run: a CCE figure (last year x factor) and n_null figures with no change."""
    rng = np.random.default_rng(seed)
    series = {"cce": {"counts": [(int(rng.binomial(N_RHI, P_CCE * (factor if k == years - 1 else 1))), N_RHI)
                                 for k in range(years)]}}
    for i in range(n_null):
        p = rng.uniform(0.05, 0.6)
        series[f"null{i}"] = {"counts": [(int(rng.binomial(N_RHI, p)), N_RHI) for _ in range(years)]}
    trend = list(range(years)) if years >= 3 else []
    return analyse_series(series, [str(k) for k in range(years)], (years - 2, years - 1), trend,
                          control=Disclosure(suppress=False))


def test_false_flags_under_no_change_are_at_about_the_nominal_rate():
    """1,000 runs of 20 null figures, three years each.

    Per test (20,000 change and 20,000 trend tests): the unadjusted rejection rate
    at 0.05 is within 0.04 to 0.06 (the binomial standard error is 0.0015; the
    band allows for the discreteness of the tests). Per run: Benjamini-Hochberg
    over the one family of 40 tests controls the chance of any flag at 0.05 under
    no change at all; observed rate within 0.05 +- 3 standard errors (0.021), or below.
    """
    runs, rejected, tests, any_flag = 1000, {"change": 0, "trend": 0}, 0, 0
    for seed in range(runs):
        out = _simulate(seed, 1.0, 19, years=3)
        for entry in out.values():
            for part in ("change", "trend"):
                rejected[part] += entry[part]["p_value"] < 0.05
        tests += len(out)
        any_flag += any(entry["flags"] for entry in out.values())
    assert 0.04 <= rejected["change"] / tests <= 0.06
    assert 0.04 <= rejected["trend"] / tests <= 0.06
    assert any_flag / runs <= 0.05 + 3 * (0.05 * 0.95 / runs) ** 0.5


def test_a_planted_change_is_found_in_the_right_direction():
    """500 runs each with CCE x3, x4 or x0.2 in the last of two years, beside 30 null figures.

    Measured (docs/trends.md): found in 95%, 100% and 54% of runs. Asserted: at
    least 90%, 97% and 45% (about four standard errors below), and never a flag
    in the wrong direction.
    """
    for factor, word, least in ((3.0, "increase", 0.90), (4.0, "increase", 0.97), (0.2, "decrease", 0.45)):
        found = wrong = 0
        for seed in range(500):
            cce = _simulate(10_000 + seed, factor, 30)["cce"]
            found += bool(cce["flags"]) and cce["flags"][0].startswith(word)
            wrong += bool(cce["flags"]) and not cce["flags"][0].startswith(word)
        assert found / 500 >= least, (factor, found)
        assert wrong == 0


# --- full runs on synthetic years ----------------------------------------------------------------

@pytest.fixture(scope="module")
def base_year():
    return generate_study(2019)


def _years_dataset(tmp_path_factory, base_year, seed, plant):
    tables = generate_study_years(seed, 3, plant, make_year=lambda s: base_year)
    folder = tmp_path_factory.mktemp("years")
    write_dataset(tables, folder, fmt="csv", metadata={"synthetic": True})
    return load_dataset(folder)


@pytest.fixture(scope="module")
def planted(tmp_path_factory, base_year):
    return _years_dataset(tmp_path_factory, base_year, 7, {"cce_victim": 3.0})


@pytest.fixture(scope="module")
def unplanted(tmp_path_factory, base_year):
    return _years_dataset(tmp_path_factory, base_year, 8, None)


def test_synthetic_years_are_whole_dfe_years(planted, base_year, tmp_path):
    years = reporting_years(planted)
    assert [y.label for y in years] == ["2015-16", "2016-17", "2017-18"]
    assert not any(y.partial for y in years)
    assert planted.episodes["set_aside"].isna().all() and planted.rhi_episodes["set_aside"].isna().all()
    # Moving each child's record into its year keeps every figure that does not depend on disclosures.
    from analysis.definitions.figures import compute_figures

    write_dataset(base_year, tmp_path / "base", fmt="csv", metadata={"synthetic": True})
    study = compute_figures(load_dataset(tmp_path / "base"), control=Disclosure(suppress=False))["figures"]
    per_year = compute_trends(planted, control=Disclosure(suppress=False), progress=False)["figures"]
    for fid in ("girls", "aged_14_16", "repeat_episodes", "lac_missing_2_plus", "cohort_looked_after",
                "consent_all_shared", "high_children_missing_more_than_once"):
        for record in per_year[fid]["years"].values():
            assert (record["count"], record["denominator"]) == (study[fid]["count"], study[fid]["denominator"]), fid


def test_trends_finds_the_planted_change_on_synthetic_years(planted):
    result = compute_trends(planted, progress=False)
    cce = result["figures"]["cce_victim"]
    assert cce["flagged"] and cce["change"]["flag"].startswith("increase from 2016-17 to 2017-18")
    assert cce["change"]["difference_points"] > 0
    assert set(result["flagged"]) <= {"cce_victim", "lac_cce_victim", "ots_cce_victim", "nk_cce_victim"}


def test_trends_flags_little_without_a_planted_change(unplanted):
    """All authorities and each of the three: every figure varies by LA between years, nothing changed."""
    scopes = [None] + unplanted.la_codes
    flagged = [compute_trends(unplanted, Params(la_code=la), progress=False)["flagged"] for la in scopes]
    assert sum(bool(f) for f in flagged) <= 1, flagged


def test_year_section_reports_flagged_changes_in_words(planted):
    section = year_section(compute_trends(planted, progress=False))
    assert section["title"] == "This year against earlier years"
    panel = next(p for p in section["panels"] if p["figure"] == "cce_victim")
    assert [pt["year"] for pt in panel["points"]] == ["2015-16", "2016-17", "2017-18"]
    assert any("increase" in s and "cce_victim" in s for s in section["sentences"])
    assert section["sentences"][-1].startswith("No evidence of change in the other")


def test_dfe_years_against_england():
    from analysis.reference.dfe import load_dfe
    from analysis.definitions.trends import dfe_years_against_england

    frame = load_dfe()
    code = frame.loc[frame["geographic_level"] == "Local authority", "la_code"].iloc[0]
    rows = dfe_years_against_england(code)
    assert [r["year"] for r in rows] == sorted({int(y) for y in frame["year"]})
    assert all(r["england"]["status"] == "published" for r in rows)
    first = rows[0]["england"]
    assert first["ci_low"] < first["pct"] < first["ci_high"]
    with pytest.raises(TrendsError, match="no published DfE figure"):
        dfe_years_against_england("E99999999")


# --- the commands ------------------------------------------------------------------------------------

def test_plant_option_is_checked():
    assert parse_plant(["cce_victim:1.8", "cse_victim:0.5"]) == {"cce_victim": 1.8, "cse_victim": 0.5}
    for bad in ("cce_victim", "nonsense:2", "cce_victim:-1", "cse_red_flag_any:2"):
        with pytest.raises(ValueError, match="--plant"):
            parse_plant([bad])
    result = runner.invoke(app, ["synth", "--out", "/nonexistent/x", "--plant", "cce_victim:2"])
    assert result.exit_code == 2 and "--years 2 or more" in result.output


def test_synth_years_and_trends_from_the_command_line(tmp_path):
    """rhi synth --years 2 --plant ... then rhi trends --json: valid, shareable, the planted change found."""
    out = tmp_path / "two"
    result = runner.invoke(app, ["synth", "--out", str(out), "--years", "2", "--plant", "cce_victim:4", "--seed", "3"])
    assert result.exit_code == 0, result.output
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["years"] == 2 and meta["planted"] == {"cce_victim": 4.0} and "planted" in meta["description"]
    result = runner.invoke(app, ["trends", str(out), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["disclosure_control"]["suppressed"] is True
    assert "cce_victim" in data["flagged"]
    assert data["figures"]["cce_victim"]["change"]["difference_points"] > 0
    assert data["shared_children"]["rhi_children_in_both"] == 0
    ids = set(pd.read_csv(out / "children.csv", dtype=str)["child_id"])
    assert not any(i in result.output for i in ids)
    for fig in data["figures"].values():
        for rec in fig["years"].values():
            if isinstance(rec["count"], int):
                assert rec["count"] == 0 or rec["count"] >= 5
    text = runner.invoke(app, ["trends", str(out)])
    assert text.exit_code == 0 and "increase from 2016-17 to 2017-18" in text.output
    bad = runner.invoke(app, ["trends", str(out), "--year-start-month", "0"])
    assert bad.exit_code == 2 and "--year-start-month" in bad.output


def test_years_that_add_up_to_a_total_get_secondary_suppression():
    """Episodes are in one year each: with the total over the span published by rhi figures, one hidden
    year would be the total minus the others, so a second year is hidden too."""
    series = {"episodes": {"counts": [(3, 400), (50, 380), (40, 390)], "additive": True},
              "children": {"counts": [(3, 400), (50, 380), (40, 390)]},
              "two_hidden": {"counts": [(3, 400), (2, 380), (40, 390)], "additive": True}}
    out = analyse_series(series, ["a", "b", "c"], (1, 2), [0, 1, 2], control=Disclosure())
    ep = out["episodes"]["years"]
    assert ep[0]["count"] == "c" and ep[2]["count"] == "c" and ep[1]["count"] == 50     # 40 is the smallest other
    assert "secondary" in ep[2] and ep[2]["pct"] == "c"
    assert out["episodes"]["change"]["p_value"] == "c" and out["episodes"]["trend"]["p_value"] == "c"
    assert [r["count"] for r in out["children"]["years"]] == ["c", 50, 40]   # children may be in two years
    # Two hidden years adding up to 5: the total minus the years shown says 5, not small: nothing more.
    assert [r["count"] for r in out["two_hidden"]["years"]] == ["c", "c", 40]
    # Two hidden years adding up to 4 would both be shown to be small: a third year is hidden.
    tiny = analyse_series({"e": {"counts": [(3, 400), (1, 380), (40, 390)], "additive": True}}, ["a", "b", "c"],
                          (1, 2), [], control=Disclosure())["e"]
    assert [r["count"] for r in tiny["years"]] == ["c", "c", "c"]
    # The total over the span minus the years shown no longer gives the hidden year.
    shown = [r["count"] for r in ep if r["count"] != "c"]
    assert len(shown) == 1


def _attack(shown: list[dict], true: list[tuple[int, int]], span_count: int, span_den: int, min_cell: int = 5):
    """Bounds an attacker gets on each primary-suppressed year from the years shown and the span's total
    (the years add up to it), for the count and for its complement: [(smallest, largest), ...]."""
    hidden = [i for i, r in enumerate(shown) if r["count"] == "c"]
    if not hidden or 0 < span_count < min_cell or 0 < span_den - span_count < min_cell:
        return []     # nothing hidden, or the span's total is itself suppressed by `rhi figures`
    rest = [i for i in range(len(shown)) if i not in hidden]
    s_count = span_count - sum(shown[i]["count"] for i in rest)
    s_rest = (span_den - span_count) - sum(shown[i]["denominator"] - shown[i]["count"] for i in rest)
    bounds = []
    for i in hidden:
        c, d = true[i]
        others = sum(true[o][1] for o in hidden if o != i)
        for value, total in ((c, s_count), (d - c, s_rest)):
            if 0 < value < min_cell:
                bounds.append((max(0, total - others), min(d, total)))
    return bounds


def test_no_suppressed_year_is_pinned_or_shown_small_by_the_span_total():
    """2,000 random episode figures over three years, some with small counts: for every primary-suppressed
    year, the attacker's largest value is at least min_cell and above the smallest."""
    rng = np.random.default_rng(18)
    attacked = 0
    for _ in range(2000):
        dens = rng.integers(20, 400, size=3)
        counts = [int(rng.integers(0, 8)) if rng.random() < 0.4 else int(rng.integers(0, d + 1)) for d in dens]
        true = list(zip(counts, map(int, dens)))
        out = analyse_series({"f": {"counts": true, "additive": True}}, ["a", "b", "c"], (1, 2), [0, 1, 2],
                             control=Disclosure())["f"]
        for smallest, largest in _attack(out["years"], true, sum(counts), int(dens.sum())):
            attacked += 1
            assert largest >= 5 and smallest < largest, (true, out["years"])
    assert attacked > 300


def test_years_and_the_span_total_together_pin_no_suppressed_year(planted):
    """The same attack on synthetic authorities: `rhi figures` over the span and `rhi trends` together."""
    from analysis.definitions.figures import compute_figures

    checked = 0
    for la in planted.la_codes:
        params = Params(la_code=la)
        shown = compute_trends(planted, params, progress=False)["figures"]
        raw = compute_trends(planted, params, control=Disclosure(suppress=False), progress=False)["figures"]
        span = compute_figures(planted, params)["figures"]
        for fid, fig in shown.items():
            if fig["unit"] != "episodes" or fig["kind"] != "proportion" or span[fid]["count"] == "c":
                continue
            true = [(r["count"], r["denominator"]) for r in raw[fid]["years"].values()]
            for smallest, largest in _attack(list(fig["years"].values()), true, span[fid]["count"],
                                             span[fid]["denominator"]):
                assert largest >= 5 and smallest < largest, (la, fid)
                checked += 1
    assert checked > 0       # the synthetic authorities do have small episode counts in some years


def test_synthetic_years_are_the_same_for_the_same_seed(base_year):
    one = generate_study_years(5, 2, {"cce_victim": 2.0}, make_year=lambda s: base_year)
    two = generate_study_years(5, 2, {"cce_victim": 2.0}, make_year=lambda s: base_year)
    other = generate_study_years(6, 2, {"cce_victim": 2.0}, make_year=lambda s: base_year)
    assert all(one[name].equals(two[name]) for name in one)
    assert not one["disclosures"].equals(other["disclosures"])
    assert not base_year["children"]["child_id"].str.startswith("Y").any()   # the base year is not changed in place
