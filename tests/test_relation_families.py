"""Each family of relations a reader can derive from the definitions (contract, section 4), as a regression test.

For every family, a small hand-built set of true counts in which one small count
is recoverable through that family alone:

- **ignored**: the suppression runs without the family's relations (as the
  publication did before they were declared), and the cheapest partner it
  hides is one the family sees through. The independent audit, which derives
  the family from the definitions on its own (``analysis.attack.knowledge``),
  recovers the small count (pinned, or proven below 5);
- **declared**: the family's relations are declared (``analysis.publish.identities``):
  the suppression protects the count, and the same audit finds no leak.

The counts are written out here and hand-worked in each case's comment.
"""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.attack import audit_publication
from analysis.disclosure import Disclosure
from analysis.publish import identities
from analysis.publish.cells import key
from analysis.publish.files import cell_ids, write_publication
from analysis.publish.publication import Publication

SCOPE = "all"


def K(unit, population, measure="Total", **dims):
    return key(SCOPE, unit, population, measure, **dims)


def publish(cells: dict, shown, relations, tmp_path, declare: bool, name: str):
    """A publication of ``cells`` ({key: true count}); ``shown`` are the cells a report displays (the others cost
    nothing to hide); ``relations`` those a table would declare: [(kind, total, parts)]."""
    pub = Publication(Disclosure(True, 5))
    for k, v in cells.items():
        pub.store.add(k, v)
    shown = list(shown)
    pub.add_table(SCOPE, "t", pd.DataFrame({"count": [cells[k] for k in shown]}), {"count": shown})
    for kind, total, parts in relations:
        pub.store.relate(kind, total, parts)
    if declare:
        identities.declare(pub.store, [SCOPE])
    pub.finish()
    folder = tmp_path / name
    write_publication(pub, folder, "201718")
    return pub, audit_publication(folder)


def check(cells, shown, relations, target, tmp_path):
    """The family ignored: the target is recovered, through a relation the audit derived itself; declared: it
    is hidden and nothing leaks."""
    pub, ignored = publish(cells, shown, relations, tmp_path, declare=False, name="ignored")
    target_id = cell_ids(pub)[target]
    leak = next((f for f in ignored.leaks if f["cell_id"] == target_id), None)
    assert leak is not None, f"the audit should recover {target} when the suppression ignores the family"
    assert leak["upper"] < 5 and cells[target] in range(leak["lower"], leak["upper"] + 1)
    assert any("(derived)" in t or t.startswith("relation d") for t in leak["through"]), leak["through"]
    pub, declared = publish(cells, shown, relations, tmp_path, declare=True, name="declared")
    assert target in pub.protection.hidden
    assert declared.ok and not declared.leaks, declared.leaks


def test_time_bands(tmp_path):
    # 25 RHIs timed: 13 within 72 hours (bands up to 24 h: 6, 24-48 h: 7, 48-72 h: 0), then 10, 2 and 0.
    # Ignoring that "within 72 h" is the first three bands, the 5-7 days band (2) gets the cheapest partner,
    # 24-48 h (not displayed): 6 + a + 0 + 10 + b + 0 = 25 leaves b anywhere from 1 to 8. But 13 = 6 + a + 0
    # gives a = 7, so b = 2.
    pop = "timed_from_return"
    bands = {"hours up to 24 h": 6, "hours 24-48 h": 7, "hours 48-72 h": 0, "hours 72 h-5 days": 10,
             "hours 5-7 days": 2, "hours over 7 days": 0}
    cells = {K("rhis", pop): 25, K("rhis", pop, "within_72h"): 13, K("rhis", pop, "not_within_72h"): 12}
    cells.update({K("rhis", pop, b): v for b, v in bands.items()})
    shown = [k for k in cells if k.measure != "hours 24-48 h"]
    relations = [("sum", K("rhis", pop), [K("rhis", pop, b) for b in bands]),
                 ("sum", K("rhis", pop), [K("rhis", pop, "within_72h"), K("rhis", pop, "not_within_72h")])]
    check(cells, shown, relations, K("rhis", pop, "hours 5-7 days"), tmp_path)


def test_episode_bands(tmp_path):
    # 70 children with in-scope episodes: 40 with one, 20 with 2-4, 8 with 5-14, 2 with 15 or more; their
    # episodes 40, 50, 60, 35 (185). Ignoring that a band's children have its floor to ceiling episodes each,
    # the 2 children of 15+ get the 8 of 5-14 as partner (c + d = 10): but 60 episodes of 5-14 need d >= 5
    # (60 / 14 rounded up), and 35 episodes of 15+ allow c <= 2 (35 / 15): the count is proven small.
    kids = {"1": 40, "2-4": 20, "5-14": 8, "15+": 2}
    eps = {"1": 40, "2-4": 50, "5-14": 60, "15+": 35}
    cells = {K("children", "in_scope_children"): 70, K("episodes", "in_scope_episodes"): 185}
    cells.update({K("children", "in_scope_children", episodes_per_child=b): v for b, v in kids.items()})
    cells.update({K("episodes", "in_scope_episodes", episodes_per_child=b): v for b, v in eps.items()})
    shown = [k for k in cells if k.get("episodes_per_child") != "5-14" or k.unit != "children"]
    check(cells, shown, [], K("children", "in_scope_children", episodes_per_child="15+"), tmp_path)


def test_units(tmp_path):
    # RHIs graded high: 10, 4 of them with CSE (small) and 6 without. Children graded high: 9, 3 with CSE at a
    # high RHI (small) and 6 with a high RHI without it. Ignoring that a child counted has at least one such RHI,
    # the two small counts get their cheapest partners (not displayed): the RHIs without CSE and the children
    # graded high. Then r + s = 10 leaves r up to 9; but s >= 6 (each of the 6 children has such an RHI), so
    # r <= 4.
    cells = {K("rhis", "graded_rhis", police_grade="high"): 10,
             K("rhis", "graded_rhis", "cse_any", police_grade="high"): 4,
             K("rhis", "graded_rhis", "not_cse_any", police_grade="high"): 6,
             K("children", "graded_children", police_grade="high"): 9,
             K("children", "graded_children", "cse_any", police_grade="high"): 3,
             K("children", "graded_children", "not_cse_any", police_grade="high"): 6}
    shown = [k for k in cells if k.measure != "not_cse_any" and k.measure != "Total" or k.unit == "rhis"
             and k.measure == "Total" or k.unit == "children" and k.measure == "not_cse_any"]
    relations = [("sum", K(u, f"graded_{u}", police_grade="high"),
                  [K(u, f"graded_{u}", "cse_any", police_grade="high"), K(u, f"graded_{u}", "not_cse_any",
                                                                          police_grade="high")])
                 for u in ("rhis", "children")]
    check(cells, shown, relations, K("rhis", "graded_rhis", "cse_any", police_grade="high"), tmp_path)


def test_grade_structure(tmp_path):
    # Children with an RHI of each grade: high 9, medium 55, low 6 (60 in all). By highest grade: high 9, medium
    # 49, low 2 (small). Ignoring that a child's highest grade is high exactly when the child has a high RHI,
    # the 2 gets its cheapest partner, the 9 children whose highest grade is high (not displayed): h + l = 11
    # leaves l up to 10. But h = 9 children with a high RHI, so l = 2.
    g = lambda pop, grade="Total": K("children", pop, police_grade=grade)  # noqa: E731
    cells = {g("graded_children"): 60, g("graded_children", "high"): 9, g("graded_children", "medium"): 55,
             g("graded_children", "low"): 6, g("graded_children_highest", "high"): 9,
             g("graded_children_highest", "medium"): 49, g("graded_children_highest", "low"): 2}
    shown = [k for k in cells if k != g("graded_children_highest", "high")]
    relations = [("sum", g("graded_children"), [g("graded_children_highest", lv) for lv in ("high", "medium", "low")])]
    check(cells, shown, relations, g("graded_children_highest", "low"), tmp_path)


def test_in_scope_against_graded(tmp_path):
    # 50 RHI children (in scope). Children with an RHI graded medium or low: 47 with CSE at one and 3 without
    # (small), 50 in all. Ignoring that those children are RHI children, the 3 gets its cheapest partner, their
    # total (not displayed): t = 47 + x leaves x anywhere. But t <= 50, so x <= 3.
    g = lambda m="Total": K("children", "graded_children", m, police_grade="medium_or_low")  # noqa: E731
    cells = {K("children", "rhi_children"): 50, g(): 50, g("cse_any"): 47, g("not_cse_any"): 3}
    shown = [k for k in cells if k != g()]
    check(cells, shown, [("sum", g(), [g("cse_any"), g("not_cse_any")])], g("not_cse_any"), tmp_path)


def test_cohorts(tmp_path):
    # 50 RHI children, none in more than one cohort: looked after 30, open to services 17, not known 3 (small).
    # Ignoring that a published 0 "in more than one cohort" makes the cohorts add up to the total, the 3 needs
    # no partner at all (the cohorts only overlap: 50 <= 30 + 17 + x, x <= 50). But 30 + 17 + x = 50: x = 3.
    c = lambda cohort="Total", m="Total": K("children", "rhi_children", m, cohort=cohort)  # noqa: E731
    cells = {c(): 50, c(m="in_several_cohorts"): 0, c("looked_after"): 30, c("open_to_services"): 17,
             c("not_known"): 3}
    check(cells, list(cells), [], c("not_known"), tmp_path)


def test_delivery(tmp_path):
    # 12 declined RHIs read; of the 10 declined RHIs that address a notified episode, 8 were declined by the
    # child and 2 by a parent or carer (small), no other reason. Ignoring that the reasons' RHIs are among the
    # declined RHIs read, the 2 gets its cheapest partner, the reasons' total (not displayed): t = 8 + p leaves p
    # anywhere. But t <= 12, so p <= 4.
    reasons = {"child_declined": 8, "parent_carer_declined": 2, "already_has_worker": 0, "no_reason_given": 0,
               "other": 0, "not recorded": 0}
    total = K("rhis", "decline_reasons_rhis")
    cells = {K("rhis", "rows_read", "excluded: status declined: RHI declined"): 12, total: 10}
    cells.update({K("rhis", "decline_reasons_rhis", r): v for r, v in reasons.items()})
    shown = [k for k in cells if k != total]
    relations = [("sum", total, [K("rhis", "decline_reasons_rhis", r) for r in reasons])]
    check(cells, shown, relations, K("rhis", "decline_reasons_rhis", "parent_carer_declined"), tmp_path)


def test_one_quantity_one_key():
    """'Episodes with an RHI completed' in the delivery scorecard and 'RHI episodes' of the comparison's funnel are
    one quantity: they are one cell, so a report cannot hide it in one table and print it in another."""
    from analysis.publish.tables import FUNNEL_MEASURES, scorecard_measure

    unit, population, measure = scorecard_measure("episodes with an RHI completed")
    assert (unit, population, measure) == FUNNEL_MEASURES["rhi_completion"]
