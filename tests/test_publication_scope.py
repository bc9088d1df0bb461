"""A run publishes what it was asked for, and says truthfully where each cell is shown.

- ``rhi batch DATA --la CODE`` publishes that authority's cells and nothing else: no other authority's cell,
  no all-authorities total (which, less the authority, would give the others), no comparison;
- on the default run (every authority, the real notebooks), every file a cell's ``shown_in`` names is a file
  the run wrote, and every table an authority's plan leaves out is neither in its folder nor in the
  publication for that authority.
"""

from __future__ import annotations

import pandas as pd

from analysis.publish.plan import load_plan, publishes_table
from test_batch import LAS, _run, make_dataset, make_notebooks


def test_a_run_for_one_authority_publishes_no_other(tmp_path):
    data, _ = make_dataset(tmp_path / "data", per_la=25)
    notebooks = make_notebooks(tmp_path / "notebooks", compare=True)
    out = tmp_path / "RUN"
    result = _run(data, out, notebooks, "--la", LAS[0])
    assert result.exit_code == 0, result.output
    cells = pd.read_csv(out / "publication" / "cells.csv", dtype=str, keep_default_na=False)
    assert set(cells["scope"]) == {LAS[0]}
    assert set(cells["new_la_code"]) == {LAS[0]}
    assert not (out / "compare").exists() and not (out / "all").exists()


def test_shown_in_names_only_files_the_run_wrote(default_run):
    cells = pd.read_csv(default_run.out / "publication" / "cells.csv", dtype=str, keep_default_na=False)
    named = {place.split("#")[0] for where in cells["shown_in"] if where for place in where.split(";")}
    assert named, "some cells should be shown somewhere"
    missing = sorted(p for p in named if not (default_run.out / p).is_file())
    assert not missing, f"shown_in names files the run did not write: {missing[:10]}"


def test_an_authority_shows_only_the_tables_of_its_plan(default_run):
    authority = next(p for p in default_run.out.iterdir() if p.is_dir() and p.name.startswith("E"))
    written = {p.stem for p in (authority / "tables").glob("*.csv")}
    left_out = set(load_plan()["tables"]) - set(load_plan()["levels"]["authority"]["tables"])
    assert left_out and not written & left_out
    cells = pd.read_csv(default_run.out / "publication" / "cells.csv", dtype=str, keep_default_na=False)
    mine = cells[cells["scope"] == authority.name]
    assert (mine["police_grade"].isin(["Total", "high", "medium_or_low"])).all()
    assert not mine["shown_in"].str.contains("#models_odds_ratios").any()
    assert publishes_table("all", "models_odds_ratios")


def test_the_headline_figures_are_published_where_they_are_not_small(default_run):
    """All authorities together compare the grades with numbers wherever a count is at least 5, and no authority's
    total of episodes or children is hidden (the costs of plan.yaml: headline figures are hidden last)."""
    from analysis.dataset.validate import load_dataset
    from analysis.definitions.populations import Params
    from analysis.disclosure import Disclosure
    from analysis.publish.build import build_publication

    ds = load_dataset(default_run.data)
    truth = build_publication(ds, Params(), ["all"] + list(ds.la_codes), Disclosure(False, 5), compare=True)
    cells = pd.read_csv(default_run.out / "publication" / "cells.csv", dtype=str, keep_default_na=False)
    shown = {tuple(r): v for *r, v in cells[["scope", "unit", "population", "measure", "police_grade", "cohort",
                                             "value"]].itertuples(index=False)}
    checked = 0
    for k, value in truth.store.values.items():
        if k.scope == "all" and k.population == "graded_children" and k.measure in ("Total", "serious_harm_any") \
                and k.get("police_grade") in ("high", "medium_or_low", "Total") and k.get("cohort") == "Total" \
                and all(d == "Total" for d in k.dims[2:]) and value >= 5:
            assert shown[(k.scope, k.unit, k.population, k.measure, k.get("police_grade"), "Total")] == str(value), k
            checked += 1
    assert checked >= 5
    for scope in ds.la_codes:
        for unit, population in (("episodes", "notified_episodes"), ("children", "notified_children"),
                                 ("children", "missing_children"), ("episodes", "in_scope_episodes"),
                                 ("children", "rhi_children")):
            assert shown[(scope, unit, population, "Total", "Total", "Total")].isdigit(), (scope, population)


def test_the_docs_show_the_plan_as_shipped():
    """docs/publication.md carries the plan as a table: the table is the one plan.yaml makes today."""
    import re
    from pathlib import Path

    from analysis.publish.plan import plan_markdown

    doc = (Path(__file__).resolve().parents[1] / "docs" / "publication.md").read_text(encoding="utf-8")
    shown = re.search(r"<!-- plan:start -->\n(.*?)\n<!-- plan:end -->", doc, flags=re.S)
    assert shown and shown.group(1) == plan_markdown()


def test_every_authority_headline_box_shows_its_delivery_figures_as_numbers(default_run):
    """Each authority report's key findings give its notified episodes and children and the episodes offered and
    completed an RHI as numbers (no 'c'), the same numbers as the publication's cells (the plan's headline costs:
    these are hidden last). benchmarks/bench_batch.py counts the same on the national run."""
    import re

    from bs4 import BeautifulSoup

    from analysis.publish.cells import BREAKDOWNS

    cells = pd.read_csv(default_run.out / "publication" / "cells.csv", dtype=str, keep_default_na=False)
    total = cells[(cells[list(BREAKDOWNS)] == "Total").all(axis=1)]
    value = {(r.scope, r.unit, r.population, r.measure): r.value for r in total.itertuples(index=False)}
    authorities = sorted(p.name for p in default_run.out.iterdir() if p.is_dir() and p.name.startswith("E"))
    assert authorities
    for la in authorities:
        page = BeautifulSoup((default_run.out / la / "report.html").read_text(), "html.parser")
        box = page.find("section", class_="headlines")
        lines = [" ".join(li.get_text(" ").split()) for li in box.find_all("li")]
        delivery = next(line for line in lines if "missing episodes of" in line and "were notified" in line)
        assert not re.search(r"\bc\b", delivery), (la, delivery)
        found = re.search(r"([\d,]+) missing episodes of ([\d,]+) children were notified.*?offered for ([\d,]+) of "
                          r"[\d,]+ .*?completed for ([\d,]+) of", delivery)
        assert found, (la, delivery)
        shown = [int(x.replace(",", "")) for x in found.groups()]
        expected = [value[(la, "episodes", "notified_episodes", "Total")],
                    value[(la, "children", "notified_children", "Total")],
                    value[(la, "episodes", "notified_episodes", "rhi_offered")],
                    value[(la, "episodes", "notified_episodes", "with_completed_rhi")]]
        assert shown == [int(v) for v in expected], (la, delivery)
