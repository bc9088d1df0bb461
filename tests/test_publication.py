"""The run's publication (issue 13): cells, relations, linked suppression, files.

Every check of protection here is made by the independent attacker
(``analysis.attack``), which shares no code with the suppression: each leak
the team found is rebuilt by hand, the attacker must find it when only the
small cells are hidden (primary suppression), and must not find it after the
suppression has run.
"""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.attack import audit_publication
from analysis.disclosure import Disclosure
from analysis.publish.cells import PublicationError, key
from analysis.publish.files import neutralise, write_publication
from analysis.publish.publication import Publication
from analysis.publish.suppression import Protection


def _publication(build) -> Publication:
    pub = Publication(Disclosure())
    build(pub)
    return pub


def _audit(pub: Publication, folder, primary_only: bool = False):
    if primary_only:
        pub.relations = pub.store.relations()
        small = {k for k, v in pub.store.values.items() if 0 < v < 5}
        pub.protection = Protection(small, small, 0, 0)
    else:
        pub.finish()
    write_publication(pub, folder, "201718")
    return audit_publication(folder)


def _shown(pub, scope, name, frame, column_keys):
    pub.add_table(scope, name, pd.DataFrame(frame), column_keys)


def age_sex(pub):
    """Girls 10 or under = 380 - 29 - 330 - 19 = 2: one small cell in a table with its total."""
    K = lambda **d: key("all", "episodes", "in_scope_episodes", **d)  # noqa: E731
    bands = {"10 or under": 2, "11-13": 29, "14-16": 330, "17": 19}
    keys = [K(age_band=b, sex="female") for b in bands]
    _shown(pub, "all", "girls", {"episodes": list(bands.values())}, {"episodes": keys})
    _shown(pub, "all", "total", {"episodes": [380]}, {"episodes": [K(sex="female")]})


def grades(pub):
    """high = c, medium = c, low = 30, total 32: two hidden cells that must both be 1."""
    K = lambda g: key("all", "rhis", "graded_rhis", police_grade=g)  # noqa: E731
    levels = {"high": 1, "medium": 1, "low": 30}
    _shown(pub, "all", "grades", {"n": list(levels.values()) + [32]}, {"n": [K(g) for g in levels] + [K("Total")]})


def grade_by_outcome(pub):
    """A grade x yes/no table with an 'all' row: protecting rows alone leaves 35 - 12 - 20 = 3."""
    rows = {"high": (3, 4), "medium": (12, 30), "low": (20, 40)}
    for grade, (yes, n) in rows.items():
        pub.store.proportion(key("all", "rhis", "graded_rhis", "cse", police_grade=grade), yes,
                             key("all", "rhis", "graded_rhis", police_grade=grade), n, where="all/t")
    pub.store.proportion(key("all", "rhis", "graded_rhis", "cse"), 35, key("all", "rhis", "graded_rhis"), 74,
                         where="all/t")


def across_reports(pub):
    """The all-authorities count minus the other authorities' counts gives the hidden one."""
    for scope, n in (("E08000001", 3), ("E08000002", 40), ("E08000003", 57), ("all", 100)):
        pub.store.add(key(scope, "episodes", "notified_episodes", "no_risk_code"), n, f"{scope}/flow")


@pytest.mark.parametrize("build", [age_sex, grades, grade_by_outcome, across_reports])
def test_the_attacker_finds_each_leak_before_the_suppression_and_none_after(build, tmp_path):
    before = _audit(_publication(build), tmp_path / "before", primary_only=True)
    assert before.leaks, "primary suppression alone should leave this leak"
    after = _audit(_publication(build), tmp_path / "after")
    assert after.ok, after.leaks


def test_a_relation_that_does_not_hold_is_a_bug_not_a_publication():
    pub = Publication(Disclosure())
    pub.store.add(key("all", "rhis", "graded_rhis", police_grade="high"), 2)
    for g, n in (("medium", 5), ("low", 6)):
        pub.store.add(key("all", "rhis", "graded_rhis", police_grade=g), n)
    pub.store.add(key("all", "rhis", "graded_rhis"), 14)     # 2 + 5 + 6 = 13: an RHI has one grade
    with pytest.raises(PublicationError, match="do not hold"):
        pub.finish()


def test_one_cell_has_one_value_wherever_it_is_shown():
    pub = Publication(Disclosure())
    pub.store.add(key("all", "children", "rhi_children"), 214)
    with pytest.raises(PublicationError, match="two values"):
        pub.store.add(key("all", "children", "rhi_children"), 218)


def test_published_tables_hide_percentages_built_on_hidden_counts(tmp_path):
    pub = _publication(grade_by_outcome)
    frame = pd.DataFrame({"count": [3, 12], "denominator": [4, 30], "pct": [75.0, 40.0]})
    counts = [key("all", "rhis", "graded_rhis", "cse", police_grade=g) for g in ("high", "medium")]
    dens = [key("all", "rhis", "graded_rhis", police_grade=g) for g in ("high", "medium")]
    pub.add_table("all", "t2", frame, {"count": counts, "denominator": dens},
                  {"pct": [(c, d) for c, d in zip(counts, dens)]})
    pub.finish()
    shown = pub.table("all", "t2")
    assert shown.loc[0, "count"] == "c" and shown.loc[0, "pct"] == "c"
    hidden_medium = pub.hidden(counts[1]) or pub.hidden(dens[1])
    assert (shown.loc[1, "pct"] == "c") == hidden_medium


def test_zeros_are_never_hidden_and_small_counts_never_shown(tmp_path):
    pub = _publication(grade_by_outcome)
    pub.store.add(key("all", "rhis", "graded_rhis", "cce", police_grade="high"), 0, "all/t")
    pub.finish()
    for k, v in pub.store.values.items():
        if v == 0:
            assert not pub.hidden(k)
        if 0 < v < 5:
            assert pub.hidden(k)


def test_text_that_a_spreadsheet_would_run_isneutraliseised():
    assert neutralise("=HYPERLINK(\"x\")") == "'=HYPERLINK(\"x\")"
    assert neutralise("@SUM(A1)") == "'@SUM(A1)" and neutralise("-2") == "-2" and neutralise(7) == 7


@st.composite
def two_way_tables(draw):
    rows, cols = draw(st.integers(2, 4)), draw(st.integers(2, 4))
    cells = draw(st.lists(st.lists(st.sampled_from([0, 1, 2, 3, 4, 6, 9, 15, 40]), min_size=cols, max_size=cols),
                          min_size=rows, max_size=rows))
    return cells


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(two_way_tables())
def test_two_way_tables_with_margins_are_always_protected(tmp_path_factory, cells):
    """Random age x sex tables with both margins and the grand total: the attacker never pins a small cell."""
    ages, sexes = ("10 or under", "11-13", "14-16", "17"), ("female", "male", "other", "unknown")
    pub = Publication(Disclosure())
    K = lambda **d: key("all", "episodes", "in_scope_episodes", **d)  # noqa: E731
    rows, cols = len(cells), len(cells[0])
    for i in range(rows):
        for j in range(cols):
            pub.store.add(K(age_band=ages[i], sex=sexes[j]), cells[i][j], "all/t")
    for i in range(rows):
        pub.store.add(K(age_band=ages[i], sex="Total"), sum(cells[i]), "all/t")
        pub.store.relate("sum", K(age_band=ages[i]), [K(age_band=ages[i], sex=sexes[j]) for j in range(cols)])
    for j in range(cols):
        pub.store.add(K(sex=sexes[j]), sum(cells[i][j] for i in range(rows)), "all/t")
        pub.store.relate("sum", K(sex=sexes[j]), [K(age_band=ages[i], sex=sexes[j]) for i in range(rows)])
    pub.store.add(K(), sum(map(sum, cells)), "all/t")
    pub.store.relate("sum", K(), [K(age_band=ages[i]) for i in range(rows)])
    result = _audit(pub, tmp_path_factory.mktemp("t"))
    assert result.ok, result.leaks
