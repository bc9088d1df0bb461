"""The two rules of the linked suppression that only the publication snapshot used to catch, worked by hand on
a few cells, through the public entry points ``protect(values, relations, ...)`` and ``CellStore.relations()``.

1. A count of ``min_cell`` (5) is not small; 4 is. A small cell is protected when the largest value it can
   take given everything published is at least ``min_cell``: exactly 5 is enough.
2. ``medium_or_low`` is declared as medium + low, so a hidden medium count cannot be read off as
   medium_or_low minus low.
"""

from __future__ import annotations

from analysis.publish.cells import CellStore, Relation, key
from analysis.publish.suppression import protect

T, A, B, C = (key("all", "children", "rhi_children", m) for m in ("Total", "a", "b", "c"))


def test_a_count_of_min_cell_is_not_small_and_one_less_is():
    # Total 12 = a 5 + b 7: nothing is small, nothing is hidden.
    assert protect({T: 12, A: 5, B: 7}, [Relation("sum", T, (A, B))], min_cell=5).hidden == set()
    # Total 11 = a 4 + b 7: a is small; hiding it alone leaves a = 11 - 7, so b (or the total) goes too.
    done = protect({T: 11, A: 4, B: 7}, [Relation("sum", T, (A, B))], min_cell=5)
    assert done.primary == {A} and A in done.hidden and len(done.hidden) == 2


def test_a_largest_value_of_exactly_min_cell_protects():
    # Total 6 = a 4 + b 2, both small. Hidden together, with the total shown: a + b = 6 and each is at
    # least 1 (zeros are shown), so each can be anything from 1 to 5. The largest, 5, is min_cell:
    # both are protected and the total stays published.
    done = protect({T: 6, A: 4, B: 2}, [Relation("sum", T, (A, B))], min_cell=5)
    assert done.primary == {A, B} and done.hidden == {A, B}
    # With min_cell 6 the same two cells reach only 5: the total must be hidden as well.
    assert T in protect({T: 6, A: 4, B: 2}, [Relation("sum", T, (A, B))], min_cell=6).hidden


def grades(store: CellStore, values: dict) -> dict:
    """Episodes by police grade in one scope, with their Total and the medium_or_low subtotal."""
    keys = {}
    for grade, value in values.items():
        keys[grade] = store.add(key("all", "episodes", "risk_coded_episodes", police_grade=grade), value)
    return keys


def test_medium_or_low_is_declared_as_medium_plus_low():
    store = CellStore()
    k = grades(store, {"Total": 19, "high": 6, "medium": 3, "low": 10, "no_apparent_risk": 0,
                       "medium_or_low": 13})
    relations = store.relations()
    assert Relation("sum", k["medium_or_low"], (k["medium"], k["low"])) in relations
    assert Relation("sum", k["Total"], (k["high"], k["medium"], k["low"], k["no_apparent_risk"])) in relations


def test_a_hidden_medium_count_cannot_be_read_off_medium_or_low():
    # medium 3 is small. The Total relation alone would be satisfied by hiding high (6, the smallest part
    # that gives medium room); then medium_or_low 13 and low 10 would both be published and medium = 13 - 10.
    # The subtotal relation makes the suppression hide low or medium_or_low too.
    store = CellStore()
    k = grades(store, {"Total": 19, "high": 6, "medium": 3, "low": 10, "no_apparent_risk": 0,
                       "medium_or_low": 13})
    done = protect(store.values, store.relations(), min_cell=5)
    assert k["medium"] in done.hidden
    assert done.hidden & {k["low"], k["medium_or_low"]}, "medium = medium_or_low - low would be published"
    # ... and without any relation of medium_or_low it would not be: the case is one that tells the two apart.
    without = [r for r in store.relations() if k["medium_or_low"] not in (r.total, *r.parts)]
    assert not protect(store.values, without, min_cell=5).hidden & {k["low"], k["medium_or_low"]}
