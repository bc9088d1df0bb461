"""What a source cannot supply is published as 'x' (not available), never as 0.

A dataset imported from an SSDA903 return has no police grades and no RHIs:
its notified episodes and children are real counts, while every count built on
a grade or an RHI is 0 in the records and must read 'x' in the publication.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
from builders import child, episode, load

from analysis.disclosure import Disclosure
from analysis.definitions.populations import Params
from analysis.importers.report import unavailable_fields
from analysis.publish.availability import needs_grade, needs_rhis
from analysis.publish.build import build_publication
from analysis.publish.cells import BREAKDOWNS, Key
from analysis.publish.files import write_publication

NO_GRADES_NO_RHIS = ["episodes.police_risk", "rhis", "rhi_episodes", "disclosures"]


@pytest.fixture(scope="module")
def ds(tmp_path_factory):
    kids = [child(f"k{i}", dob="2004-01-01") for i in range(12)]
    eps = [episode(f"e{i}", f"k{i % 12}", f"2017-{(i % 9) + 1:02d}-03 20:00", risk="", legal="looked_after")
           for i in range(30)]
    return load(tmp_path_factory.mktemp("no_rhis"), children=kids, episodes=eps)


@pytest.fixture(scope="module")
def pubs(ds):
    control = Disclosure(suppress=False)
    return (build_publication(ds, Params(), ["all"], control, unavailable=NO_GRADES_NO_RHIS),
            build_publication(ds, Params(), ["all"], control))


def _flow(pub):
    return pub.table("all", "record_flow").set_index("stage")["count"]


def test_counts_the_source_holds_are_shown(pubs):
    flow = _flow(pubs[0])
    assert flow["notified episodes"] == 30 and flow["episode rows read"] == 30


def test_counts_built_on_grades_or_rhis_are_x_not_zero(pubs):
    flow = _flow(pubs[0])
    for stage in ("risk-coded episodes", "in-scope episodes", "RHI episodes", "RHI rows read", "completed RHIs",
                  "RHI children", "links used"):
        assert flow[stage] == "x", stage
    # without the import report's list the same cells are plain zeros (the data are the same)
    plain = _flow(pubs[1])
    assert plain["RHI rows read"] == 0 and plain["risk-coded episodes"] == 0


def test_percentages_on_an_unavailable_count_are_x(pubs):
    card = pubs[0].table("all", "delivery_scorecard")
    card = card[(card["group"] == "all")].set_index("measure")
    row = card.loc["episodes with an RHI offered"]
    assert row["count"] == "x" and row["pct"] == "x"
    assert card.loc["episodes", "count"] == 30


def test_cells_file_carries_x(pubs, tmp_path):
    folder = write_publication(pubs[0], tmp_path / "pub", "2017")
    cells = pd.read_csv(folder / "cells.csv", dtype=str, keep_default_na=False)
    rhis = cells[cells["unit"] == "rhis"]
    assert len(rhis) and (rhis["value"] == "x").all()
    total = (cells[list(BREAKDOWNS)] == "Total").all(axis=1)
    notified = cells[(cells["population"] == "notified_episodes") & (cells["measure"] == "Total") & total]
    assert notified["value"].tolist() == ["30"]


def test_rules_by_hand():
    total = Key("all", "episodes", "notified_episodes")
    assert not needs_grade(total) and not needs_rhis(total)
    assert needs_grade(Key("all", "episodes", "in_scope_episodes"))
    assert needs_grade(total.but(police_grade="medium"))
    assert needs_rhis(Key("all", "episodes", "notified_episodes", "rhi_offered"))
    assert needs_rhis(Key("all", "rhis", "rows_read"))


def test_fields_come_from_the_import_report(tmp_path):
    assert unavailable_fields(tmp_path) == []          # not imported: nothing is unavailable
    (tmp_path / "import_report.json").write_text(json.dumps(
        {"unavailable_detail": [{"field": "rhis", "why": "none in the return"}, {"field": "episodes.police_risk"}]}))
    assert unavailable_fields(tmp_path) == ["rhis", "episodes.police_risk"]
    (tmp_path / "import_report.json").write_text("{not json")
    assert unavailable_fields(tmp_path) == []
