"""The run's open data (issue 27): DfE's screener accepts it, and it says truthfully what it covers.

Three publications, as the issue asks: the default run (the shared ``default_run`` batch), a three-year
synthetic run and the study's records under real authority codes. Each passes every check of DfE's screener
that ``tests/dfe_screener.py`` ports (eesyscreener 0.3.1; each check names its source file there) with no
failure and no warning; the checks are shown to fail on files that break them, the old format included. Then
the geography, the years, the labels and the indicators are checked against the publication's own cells.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

import dfe_screener
from analysis.definitions.populations import Params
from analysis.disclosure import Disclosure
from analysis.publish import labels, tidy
from analysis.publish.build import build_publication
from analysis.publish.cells import ALL_SCOPE
from analysis.publish.files import time_period_of, write_publication
from analysis.reference import geography

DFE_CSV = Path(__file__).resolve().parents[1] / "src" / "analysis" / "data" / "dfe_cla_missing_by_la.csv"
REAL = {"E08999901": "E08000025", "E08999902": "E08000035", "E08999903": "E06000010"}   # Birmingham, Leeds, Hull
SLOW = pytest.mark.slow


def _publish(data: Path, out: Path) -> Path:
    """What ``rhi batch`` writes to ``publication/`` for the all-authorities and authority reports of ``data``."""
    from analysis.dataset.validate import load_dataset

    ds = load_dataset(data)
    params = Params()
    pub = build_publication(ds, params, [ALL_SCOPE] + list(ds.la_codes), Disclosure(), jobs=1)
    write_publication(pub, out, *time_period_of(ds.episodes["missing_start"].min(), None),
                      coverage=tidy.coverage_of(ds, params), synthetic=True)
    return out


@pytest.fixture(scope="module")
def three_years(tmp_path_factory) -> Path:
    from analysis.synth.command import write_synthetic

    base = tmp_path_factory.mktemp("open-data-three-years")
    return _publish(write_synthetic(base / "data", years=3), base / "publication")


@pytest.fixture(scope="module")
def real_codes(tmp_path_factory) -> Path:
    """The default study's records with its three fictitious codes replaced by three real authorities' codes."""
    from analysis.synth.command import write_synthetic

    base = tmp_path_factory.mktemp("open-data-real-codes")
    data = write_synthetic(base / "data", seed=2019)
    for path in Path(data).glob("*.csv"):
        text = path.read_text()
        for fake, real in REAL.items():
            text = text.replace(fake, real)
        path.write_text(text)
    return _publish(data, base / "publication")


def _screen(folder: Path) -> list:
    return dfe_screener.screen(folder / "rhi_publication.csv", folder / "rhi_publication.meta.csv", DFE_CSV)


def _not_passed(folder: Path) -> list:
    return [(r.check, r.result, r.message, r.source) for r in _screen(folder) if r.result != "PASS"]


def _data(folder: Path) -> pd.DataFrame:
    return pd.read_csv(folder / "rhi_publication.csv", dtype=str, keep_default_na=False)


# --- the screener's checks ---------------------------------------------------------------------------------------

def test_the_default_run_passes_the_screeners_checks(default_run):
    folder = default_run.out / "publication"
    results = _screen(folder)
    assert len(results) > 50, "every stage ran"
    assert _not_passed(folder) == []


@SLOW
def test_a_three_year_run_passes_the_screeners_checks(three_years):
    assert _not_passed(three_years) == []


@SLOW
def test_a_run_of_real_authority_codes_passes_the_screeners_checks(real_codes):
    assert _not_passed(real_codes) == []


def _write(folder: Path, data: pd.DataFrame, meta: pd.DataFrame) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    data.to_csv(folder / "rhi_publication.csv", index=False)
    meta.to_csv(folder / "rhi_publication.meta.csv", index=False)
    return folder


def _small():
    """A small file that passes: two authorities, one filter, one indicator."""
    data = pd.DataFrame({
        "time_period": "201718", "time_identifier": "Financial year", "geographic_level": "Local authority",
        "country_code": "E92000001", "country_name": "England", "region_code": "E12000005",
        "region_name": "West Midlands", "old_la_code": "330", "new_la_code": "E08000025", "la_name": "Birmingham",
        "sex": ["Total", "Female", "Male"], "count": ["10", "6", "c"]})
    meta = pd.DataFrame([
        {"col_name": "sex", "col_type": "Filter", "label": "Sex", "indicator_grouping": "", "indicator_unit": "",
         "indicator_dp": "", "filter_hint": "Sex as recorded", "filter_grouping_column": ""},
        {"col_name": "count", "col_type": "Indicator", "label": "Number", "indicator_grouping": "",
         "indicator_unit": "", "indicator_dp": 0, "filter_hint": "", "filter_grouping_column": ""}])
    return data, meta


@pytest.mark.parametrize("change, check, result", [
    (lambda d, m: (d.drop(columns="old_la_code"), m), "geog_level_present", "FAIL"),
    (lambda d, m: (d.assign(la_name=["Birmingham", "", "Birmingham"]), m), "geog_level_completed", "FAIL"),
    (lambda d, m: (d.assign(la_name="Birmingham City"), m), "geog_la_combos", "FAIL"),
    (lambda d, m: (d.assign(region_name="Midlands"), m), "geog_region_combos", "FAIL"),
    (lambda d, m: (d.drop(columns=["region_code", "region_name"]), m), "geog_region_for_la", "WARNING"),
    (lambda d, m: (d.assign(sex=["All", "Female", "Male"]), m), "filter_defaults", "WARNING"),
    (lambda d, m: (d.assign(count=["10", "", "c"]), m), "ind_invalid_entry", "FAIL"),
    (lambda d, m: (d.assign(time_period="2017-18"), m), "time_period_num", "FAIL"),
    (lambda d, m: (d.assign(time_period="201719"), m), "time_period_six", "FAIL"),
    (lambda d, m: (d.assign(sex=["Total", "Female", "Female"]), m), "general_dupes", "FAIL"),
    (lambda d, m: (d.assign(sex=["Total", "Female ", "Male"]), m), "filter_whitespace", "FAIL"),
    (lambda d, m: (d.assign(geographic_level="National"), m), "geog_overcompleted_cols", "FAIL"),
    (lambda d, m: (d.assign(count_female=d["count"]), pd.concat([m, m.iloc[[1]].assign(col_name="count_female",
                                                                                       label="Girls")])),
     "col_ind_smushed", "FAIL"),
    (lambda d, m: (d.assign(extra=["a", "b", "c"]), m), "cross_data_to_meta", "WARNING"),
    (lambda d, m: (d, m.assign(indicator_dp="")), "meta_ind_dp_set", "WARNING"),
])
def test_each_check_the_project_relies_on_can_fail(tmp_path, change, check, result):
    data, meta = _small()
    assert _not_passed(_write(tmp_path / "good", data, meta)) == []
    bad = _write(tmp_path / "bad", *change(data, meta))
    assert (check, result) in [(c, r) for c, r, _, _ in _not_passed(bad)]


def test_the_old_format_fails_as_the_screener_said(tmp_path):
    """The file before issue 27 (National and authority rows, new_la_code without old_la_code) fails where DfE's
    screener failed it: the first geography stage, for old_la_code."""
    data, meta = _small()
    old = pd.concat([data, data.assign(geographic_level="National", new_la_code="", la_name="", old_la_code="",
                                       region_code="", region_name="")]).drop(columns="old_la_code")
    failed = _not_passed(_write(tmp_path, old, meta))
    assert [(c, r) for c, r, _, _ in failed] == [("geog_level_present", "FAIL")]
    assert "old_la_code" in failed[0][2] and failed[0][3] == "R/precheck_geog_level_present.R"


# --- geography -----------------------------------------------------------------------------------------------------

def test_no_row_says_england_unless_every_english_authority_is_in_the_data(default_run):
    data = _data(default_run.out / "publication")
    assert set(data["geographic_level"]) == {"Local authority"}, "three authorities are not England"
    cells = pd.read_csv(default_run.out / "publication" / "cells.csv", dtype=str, keep_default_na=False)
    assert set(cells.loc[cells["scope"] == ALL_SCOPE, "geographic_level"]) == {"Authorities in the dataset"}
    guidance = (default_run.out / "publication" / "data-guidance.txt").read_text()
    assert "not in this file" in guidance and "cells.csv (scope all)" in guidance


def test_synthetic_codes_are_written_as_not_available_with_a_label(default_run):
    data = _data(default_run.out / "publication")
    assert set(data["new_la_code"]) == {"x"} and set(data["old_la_code"]) == {"x"}
    assert set(data["la_name"]) == {f"Authority {c} (not a code DfE publishes)" for c in REAL}
    assert set(data["region_code"]) == {"x"} and set(data["region_name"]) == {"Not available"}


@SLOW
def test_real_codes_get_dfe_names_old_codes_and_regions(real_codes):
    data = _data(real_codes)
    got = set(data[["old_la_code", "new_la_code", "la_name", "region_code", "region_name"]].itertuples(
        index=False, name=None))
    rows = list(csv.DictReader(DFE_CSV.open(newline="", encoding="utf-8")))
    for old, new, name, region_code, region_name in got:     # each as DfE published it, read here from its file
        assert any(r["la_code_old"] == old and new in (r["la_code"], r["la_code_latest"]) and r["la_name"] == name
                   and r["region_code"] == region_code and r["region_name"] == region_name for r in rows)
    assert {g[1] for g in got} == set(REAL.values())


def test_the_total_is_england_only_over_every_english_authority():
    year = geography.dfe_years()[-1]
    label = f"{year - 1}-{str(year)[2:]}"
    every = [code for code, _ in geography.english_authorities(year)]
    assert tidy.all_geography(every, [label])[0] == "National"
    assert tidy.all_geography(every[1:], [label])[0] is None, "one authority short is not England"
    assert tidy.all_geography(every + ["E08999901"], [label])[0] is None, "England and a fictitious one is not"
    assert tidy.all_geography(every, ["2030-31"])[0] is None, "a year DfE's list does not cover: no claim"
    north_east = [code for code, _ in geography.region_authorities(year, "E12000001")]
    level, columns, _ = tidy.all_geography(north_east, [label])
    assert (level, columns) == ("Regional", {"region_code": "E12000001", "region_name": "North East"})
    assert tidy.all_geography(north_east[:-1], [label])[0] is None


# --- time ----------------------------------------------------------------------------------------------------------

@SLOW
def test_a_three_year_run_has_one_time_period_per_year(three_years):
    data = _data(three_years)
    assert sorted(set(data["time_period"])) == ["201516", "201617", "201718"]
    assert set(data["time_identifier"]) == {"Financial year"}
    assert not data["population"].str.contains("year 20").any(), "no year inside a filter"
    meta = pd.read_csv(three_years / "rhi_publication.meta.csv", dtype=str, keep_default_na=False)
    whole = meta.loc[meta["col_name"].str.endswith("_since_201516"), "col_name"].tolist()
    assert whole == [n + "_since_201516" for n in ("count", "count_without", "percent", "percent_ci_lower",
                                                   "percent_ci_upper")]
    earlier = data[data["time_period"] != "201718"]
    assert set(earlier["count_since_201516"]) == {"z"}, "the whole period ends in the last year"
    last = data[data["time_period"] == "201718"]
    assert (last["count_since_201516"] != "z").all()


def test_a_part_year_is_named_in_a_footnote(default_run):
    guidance = (default_run.out / "publication" / "data-guidance.txt").read_text()
    assert "2017-18 is a part year: its records start on 1 July 2017 and end on 31 March 2018" in guidance


# --- labels and indicators -----------------------------------------------------------------------------------------

def test_filters_hold_labels_without_commas_and_every_code_has_its_own_label(default_run):
    folder = default_run.out / "publication"
    data = _data(folder)
    meta = pd.read_csv(folder / "rhi_publication.meta.csv", dtype=str, keep_default_na=False)
    filters = meta.loc[meta["col_type"] == "Filter", "col_name"].tolist()
    for f in filters:
        assert not data[f].str.contains(",").any(), f
    assert "Looked after" in set(data["cohort"]) and "looked_after" not in set(data["cohort"])
    cells = pd.read_csv(folder / "cells.csv", dtype=str, keep_default_na=False)
    for column, kind in (("unit", "unit"), ("measure", "measure"), ("police_grade", "police_grade"),
                         ("cohort", "cohort"), ("age_band", "age_band"), ("sex", "sex"), ("setting", "setting"),
                         ("episode_number", "episode_number"), ("episodes_per_child", "episodes_per_child"),
                         ("month", "month")):
        missing = {c for c in set(cells[column]) if not c.startswith("not_") and c != "outside"
                   and not labels.has_label(kind, c)}
        assert not missing, (column, missing)
    populations = {p.split(", year ")[0] for p in cells["population"] if "remainder" not in p}
    assert {p for p in populations if not labels.has_label("population", p)} == set()


def test_complements_are_an_indicator_and_filters_add_up(default_run):
    folder = default_run.out / "publication"
    data = _data(folder)
    for (_, population), measures in data.groupby(["la_name", "population_code"])["measure_code"]:
        beside = {m for m in set(measures) if m.startswith("not_") and m[len("not_"):] in set(measures)}
        assert not beside, (population, beside)     # a complement is never a level beside its count
    # Every row not broken down: its count and complement are the cells of cells.csv (read here by key).
    cells = pd.read_csv(folder / "cells.csv", dtype=str, keep_default_na=False)
    whole = [c for c in ("police_grade", "cohort", "age_band", "sex", "setting", "episode_number",
                         "episodes_per_child", "month")]
    by_key = {(r.scope, r.unit, r.population, r.measure): r.value
              for r in cells[(cells[whole] == "Total").all(axis=1)].itertuples()}
    breakdowns = [c for c in tidy.FILTERS if c in data and c not in ("population", "population_code", "measure",
                                                                     "measure_code")]
    checked = 0
    for r in data[(data[breakdowns] == "Total").all(axis=1)].itertuples():
        scope = r.la_name.split()[1]
        unit, population = r.population_code.split(": ")
        assert r.count == by_key[(scope, unit, population, r.measure_code)]
        rest = "outside" if r.measure_code == "Total" else "not_" + r.measure_code
        total = by_key.get((scope, unit, population, "Total"))
        if (scope, unit, population, rest) in by_key:
            assert r.count_without == by_key[(scope, unit, population, rest)]
        elif r.measure_code != "Total" and total is not None:   # the rest of a delivery count: not a cell of its
            expected = (str(int(total) - int(r.count)) if total.isdigit() and r.count.isdigit()   # own (plan.yaml)
                        else "x" if "x" in (total, r.count) else "c")
            assert r.count_without == expected
        else:
            assert r.count_without == "z"
        checked += 1
    assert checked > 50


def test_subtotals_are_a_filter_of_their_own_and_each_filter_adds_up():
    """Hand-worked: episodes by grade (high 7, medium 5, low 8, medium or low 13, Total 20) and a measure with its
    complement. police_grade holds High, Medium and Low, which add up to Total; police_grade_group holds High and
    Medium or low, which add up to Total too; the complement is count_without, not a level of measure."""
    from analysis.publish.cells import key
    from analysis.publish.files import cell_ids, statistics
    from analysis.publish.publication import Publication

    from types import SimpleNamespace

    pub = Publication(Disclosure(suppress=False))
    values = {"high": 7, "medium": 5, "low": 8, "medium_or_low": 13, "Total": 20}
    for grade, n in values.items():
        pub.store.add(key(ALL_SCOPE, "episodes", "in_scope_episodes", police_grade=grade), n)
    pub.store.proportion(key(ALL_SCOPE, "episodes", "in_scope_episodes", "repeat"), 6,
                         key(ALL_SCOPE, "episodes", "in_scope_episodes"), 20)
    pub.finish()
    ids = cell_ids(pub)
    year = geography.dfe_years()[-1]
    every = [code for code, _ in geography.english_authorities(year)]     # the total over them is England
    coverage = tidy.Coverage(years=[SimpleNamespace(label=f"{year - 1}-{str(year)[2:]}", partial=False)],
                             authorities=every)
    od = tidy.build(pub, ids, statistics(pub, ids), coverage)
    data = od.data
    assert set(data["geographic_level"]) == {"National"} and set(data["country_name"]) == {"England"}
    assert set(data["time_period"]) == {f"{year - 1}{str(year)[2:]}"}
    by_grade = data[(data["measure_code"] == "Total") & (data["police_grade_group"] == "Total")]
    grades = dict(zip(by_grade["police_grade"], by_grade["count"].astype(int)))
    assert grades == {"High": 7, "Medium": 5, "Low": 8, "Total": 20}
    assert sum(v for k, v in grades.items() if k != "Total") == grades["Total"]
    by_group = data[(data["measure_code"] == "Total") & (data["police_grade"] == "Total")]
    groups = dict(zip(by_group["police_grade_group"], by_group["count"].astype(int)))
    assert groups == {"High": 7, "Medium or low": 13, "Total": 20}
    repeat = data[data["measure_code"] == "repeat"].iloc[0]
    assert (repeat["count"], repeat["count_without"]) == ("6", "14")
    assert "not_repeat" not in set(data["measure_code"])


def test_percentages_are_as_printed_with_their_decimals(default_run):
    folder = default_run.out / "publication"
    data = _data(folder)
    meta = pd.read_csv(folder / "rhi_publication.meta.csv", dtype=str, keep_default_na=False).set_index("col_name")
    assert meta.loc["percent", "indicator_unit"] == "%" and meta.loc["percent", "indicator_dp"] == "1"
    assert meta.loc["count", "indicator_dp"] == "0"
    shown = data.loc[~data["percent"].isin(["c", "x", "z"]), "percent"]
    assert len(shown) > 100 and shown.str.fullmatch(r"\d+\.\d").all()
    counts = data.loc[~data["count"].isin(["c", "x", "z"]), "count"]
    assert counts.str.fullmatch(r"\d+").all(), "counts are whole numbers"
    # A percentage is its count over the population (count + count_without), rounded to one decimal.
    both = data[~data[["count", "count_without", "percent"]].isin(["c", "x", "z"]).any(axis=1)]
    both = both[both["measure_code"] != "Total"]
    assert len(both) > 100
    for r in both.itertuples():
        n, rest = int(r.count), int(r.count_without)
        assert float(r.percent) == pytest.approx(round(100 * n / (n + rest), 1), abs=0.051)


@pytest.mark.parametrize("code, expected", [("E08000025", ("330", "E08000025", "Birmingham")),
                                            ("", ("x", "x", "Not available"))])
def test_an_annex_a_workbook_is_its_authority_not_england(tmp_path, code, expected):
    """An Annex A workbook is one authority's: its total is written as that authority (x and 'Not available', DfE's
    convention for an unknown location, when the workbook names none), and passes the checks."""
    from analysis.definitions import annex_a

    t = annex_a.example_table(n=300).assign(la_code=code)
    pub, _ = annex_a.build(t, Disclosure())
    folder = write_publication(pub, tmp_path, "202324", coverage=tidy.Coverage(authorities=[code] if code else []))
    data = _data(folder)
    assert set(data["geographic_level"]) == {"Local authority"}
    assert set(data[["old_la_code", "new_la_code", "la_name"]].itertuples(index=False, name=None)) == {expected}
    assert _not_passed(folder) == []


# --- numbers as printed in every CSV and the spreadsheet -----------------------------------------------------------

def test_table_csvs_and_the_spreadsheet_hold_numbers_as_printed(tmp_path):
    from openpyxl import load_workbook

    from analysis.render.report import printed_table
    from analysis.render.spreadsheet import write_report_workbook

    table = pd.DataFrame({"outcome": ["cse", "cce"], "count": [1276.0, 3.0], "pct": [27.59, 4.0],
                          "p_value": [0.0004, 0.0412], "odds_ratio": [1.23456, "c"],
                          "published": [17.52190237797247, None]})
    out = printed_table(table)
    assert out["count"].tolist() == ["1276", "3"]
    assert out["pct"].tolist() == ["27.6", "4.0"]
    assert out["p_value"].tolist() == ["<0.001", "0.041"]
    assert out["p_value_exact"].tolist() == ["0.0004", "0.0412"]
    assert out["odds_ratio"].tolist() == ["1.23", "c"]
    assert out["published"].tolist() == ["17.5", ""]
    (tmp_path / "tables").mkdir()
    out.to_csv(tmp_path / "tables" / "t.csv", index=False)
    book = write_report_workbook(tmp_path, title="t", source="s", period="p", statement="st", secondary=None,
                                 notes=[])
    sheet = load_workbook(book)["Table_1"]
    header = [c.value for c in sheet[3]]
    row = {h: sheet.cell(row=4, column=i + 1) for i, h in enumerate(header)}
    # the spreadsheet's headers are the words a report uses (analysis.render.words)
    assert row["Number"].value == 1276 and isinstance(row["Number"].value, int)
    assert row["p-value"].value == "<0.001"
    assert row["%"].value == pytest.approx(27.6) and row["%"].number_format == "#,##0.0"


def test_statistics_csv_holds_p_values_as_printed_with_the_exact_value(tmp_path):
    from analysis.publish.cells import key
    from analysis.publish.files import statistics, cell_ids
    from analysis.publish.publication import Publication

    pub = Publication(Disclosure(suppress=False))
    a, b = key("all", "children", "rhi_children", "x"), key("all", "children", "rhi_children")
    pub.add_table("all", "t", pd.DataFrame({"count": [40], "denominator": [100], "pct": [40.0], "p_value": [0.00002],
                                             "q_value_bh": [0.2345]}),
                  {"count": [a], "denominator": [b]}, {"pct": [(a, b)], "p_value": [(a, b)], "q_value_bh": [(a, b)]})
    pub.finish()
    stats = statistics(pub, cell_ids(pub)).set_index("statistic")
    assert stats.loc["p_value", "value"] == "<0.001" and float(stats.loc["p_value", "exact"]) == 0.00002
    assert stats.loc["q_value_bh", "value"] == 0.234 or str(stats.loc["q_value_bh", "value"]) == "0.234"
    assert stats.loc["percent", "value"] == 40.0
