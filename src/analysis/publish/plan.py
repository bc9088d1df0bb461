"""The publication plan (``plan.yaml``): which cells each geographic level publishes, and what hiding one costs.

A run's scopes are at two levels: ``all`` (every authority of the run together)
and ``authority`` (one local authority). The plan says, per level, which tables
are published and which breakdown levels a cell may have (an authority: police
grade as high / medium or low, cohorts, two age bands; all authorities: every
breakdown). A cell outside its level's plan is not published at all: the table
rows built on it are left out, and a table left with no row is not published
for that scope (its report says where it is shown instead).

Costs (what readers lose when a cell is hidden) rank the candidates for
secondary suppression: a cell no output shows costs least, then a displayed
breakdown cell, then a coarse one, and an authority's population totals and
headline measures most, so they are hidden only when nothing else protects a
small count.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import yaml

from analysis.publish.cells import ALL_SCOPE, BREAKDOWNS, TOTAL, Key

ANY = "any"
COMPARE_SCOPE = "compare"


@lru_cache(maxsize=1)
def load_plan() -> dict:
    """The shipped plan, checked: every level names the breakdowns it restricts by their real names."""
    text = (resources.files("analysis") / "publish" / "plan.yaml").read_text(encoding="utf-8")
    plan = yaml.safe_load(text)
    for name, level in plan["levels"].items():
        breakdowns = level.get("breakdowns", ANY)
        if breakdowns != ANY:
            unknown = set(breakdowns) - set(BREAKDOWNS)
            if unknown:
                raise ValueError(f"plan.yaml, level {name}: unknown breakdown(s) {sorted(unknown)}")
    return plan


def level_of(scope: str) -> str:
    """``all`` for the all-authorities scope, ``authority`` for an authority (the comparison shows authorities' cells)."""
    return "all" if scope == ALL_SCOPE else "authority"


def level_label(scope: str) -> str:
    return load_plan()["levels"][level_of(scope)]["label"]


def publishes_table(scope: str, name: str) -> bool:
    """Whether ``scope``'s level publishes table ``name`` (the comparison's own tables always)."""
    if scope == COMPARE_SCOPE:
        return True
    tables = load_plan()["levels"][level_of(scope)].get("tables", ANY)
    return tables == ANY or name in tables


def where_shown(name: str) -> str:
    """What a table shows, for the line a report prints where its level does not publish it."""
    return load_plan()["tables"].get(name, name.replace("_", " "))


def publishes_cell(k: Key) -> bool:
    """Whether the plan of ``k``'s level publishes the cell: each breakdown Total or a listed level, and the
    measure one its population may show."""
    return _allowed(level_of(k.scope), k.population, k.measure, k.dims)


@lru_cache(maxsize=200_000)
def _allowed(level: str, population: str, measure: str, dims: tuple) -> bool:
    if (measure.startswith("not_") or measure == "outside") and \
            _base_population(population) not in load_plan()["complements_of"]:
        return False   # the complement of a delivery or process count: not a cell of its own (plan.yaml)
    rules = load_plan()["levels"][level]
    breakdowns = rules.get("breakdowns", ANY)
    narrower = rules.get("populations", {}).get(_base_population(population), {})
    for dim, value in zip(BREAKDOWNS, dims):
        if value == TOTAL:
            continue
        allowed = narrower.get(dim, ANY if breakdowns == ANY else breakdowns.get(dim, ANY))
        if allowed != ANY and value not in allowed:
            return False
    base = measure[4:] if measure.startswith("not_") else measure
    measures = narrower.get("measures")
    if measures is not None and measure != TOTAL and base not in measures:
        return False
    for dim, allowed in narrower.get("by", {}).items():
        if dims[BREAKDOWNS.index(dim)] != TOTAL and base not in allowed and measure not in allowed:
            return False
    return True


def _base_population(population: str) -> str:
    """A year's population (``rhi_children, year 2016-17``) follows its span's rules."""
    return population.split(",")[0]


# --- costs ------------------------------------------------------------------------------------------

def cost(k: Key, shown: bool) -> float:
    """What hiding cell ``k`` costs readers (``shown``: an output displays it)."""
    c = load_plan()["costs"]
    if not shown:
        return float(c["not_shown"])
    if _headline(k):
        return float(c["headline_all" if k.scope == ALL_SCOPE else "headline"])
    if _coarse(k):
        return float(c["coarse"])
    return float(c["shown"])


def _headline(k: Key) -> bool:
    what = (k.unit, k.population, k.measure)
    grade = k.get("police_grade")
    others = all(d == TOTAL for dim, d in zip(BREAKDOWNS, k.dims) if dim != "police_grade")
    return others and (grade == TOTAL and what in _headline_set("headline")
                       or grade in ("high", "medium_or_low", TOTAL) and what in _headline_set("headline_by_grade"))


@lru_cache(maxsize=2)
def _headline_set(name: str) -> frozenset:
    return frozenset(tuple(h) for h in load_plan()[name])


def _coarse(k: Key) -> bool:
    coarse = load_plan()["coarse"]
    broken = [(dim, v) for dim, v in zip(BREAKDOWNS, k.dims) if v != TOTAL]
    return len(broken) <= 1 and all(v in coarse.get(dim, ()) for dim, v in broken)


# --- the plan as a table (docs/publication.md shows it; a test keeps the two the same) ----------------------

def plan_markdown() -> str:
    """The plan as a Markdown table: each table a run can publish, and the levels that publish it."""
    plan = load_plan()
    names = sorted(set(plan["levels"]["authority"]["tables"]) | set(plan["tables"]))
    rows = ["| table | all authorities | one authority |", "|---|---|---|"]
    for name in names:
        marks = ["yes" if publishes_table(scope, name) else "no" for scope in (ALL_SCOPE, "authority")]
        rows.append(f"| `{name}` | {marks[0]} | {marks[1]} |")
    breakdowns = plan["levels"]["authority"]["breakdowns"]
    rows += ["", "| breakdown | one authority publishes |", "|---|---|"]
    for dim in BREAKDOWNS:
        levels = breakdowns.get(dim, ANY)
        rows.append(f"| {dim} | {'every level' if levels == ANY else ', '.join(levels) or 'Total only'} |")
    return "\n".join(rows)
