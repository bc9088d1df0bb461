"""Years as cells of the run's publication: the section "This year against earlier years" (issue 18).

When a scope's data hold two or more reporting years (DfE years, 1 April to
31 March: :mod:`analysis.definitions.years`), each headline figure of the
section (``trends.HEADLINE``) is registered for each year as cells, so that
the run's one linked suppression and the independent audit (``rhi
audit-disclosure``) cover the years with everything else the run publishes:

- **years**: the run's reporting years (of every authority's records), the
  same in every scope, with zeros where an authority has no records, so that
  each authority's year is tied to all authorities' year; a scope compares
  only the years complete in its own records (as ``rhi trends --la`` does);
- **keys**: a year's cell is the figure's own cell (the key ``rhi figures``
  publishes for the whole span, see ``tables.figure_keys``) with the year in
  its population: ``rhi_children, year 2016-17``. The year is part of the
  population rather than a breakdown column, so a run without years writes the
  same files as before; the breakdown and geography relations of
  :mod:`analysis.publish.cells` (an authority's year against all authorities'
  year) then apply to year cells as to any other;
- **relations between the years and the span**, the strongest that holds in
  the data (each checked again when the publication is finished): an episode
  is in one year, so the years of an episode count add up to the span's count
  (``sum``); where a year's count can be smaller than its share of the span's
  (a repeat episode whose earlier episode is in the year before), the span is
  the years plus a remainder no output shows (``sum`` with that cell); a child
  can be in several years, so for children each year is at most the span and
  the span at most the sum of the years (``overlap``), or only each year at
  most the span (``le``) where even that is all that holds;
- **statistics**: each year's percentage and Wilson interval rest on its
  count and denominator; the change between the last two compared years
  (difference with Newcombe's interval, score or Fisher test) and the trend
  over three or more (Cochran-Armitage) rest on the cells of the years they
  use; the Benjamini-Hochberg adjusted p-values, and the verdicts built on
  them, rest on every cell of the family (the tests of the section's figures
  that the scope's plan publishes, whose years are not small), so that one suppressed cell in the family shows
  them as ``c``: an adjusted p-value depends on every p-value of its family.

With fewer than two reporting years nothing is registered, so the publication
of a one-year run is unchanged.
"""

from __future__ import annotations

import pandas as pd

from analysis.definitions import trends
from analysis.definitions.figures import FIGURES
from analysis.definitions.years import TrendsError, reporting_years
from analysis.publish.cells import Relation, complement, holds
from analysis.publish.plan import publishes_cell
from analysis.publish.tables import PCT, figure_keys

FIGURES_TABLE = "years_figures"
CHANGES_TABLE = "years_changes"
FLAG_WORDS = ("increase", "decrease", "rising", "falling")


def scope_years(ds, params) -> list:
    """The reporting years of a scope's data (DfE years), or [] when no episode has a missing_start."""
    try:
        return reporting_years(ds, params)
    except TrendsError:
        return []


def year_key(k, label: str):
    """The cell of key ``k`` within the reporting year ``label`` (the year is part of the population)."""
    return k.but(population=f"{k.population}, year {label}")


def run_years(ds, params) -> list:
    """The reporting years of the whole run (every authority's records), the same for every scope."""
    from dataclasses import replace

    return scope_years(ds.root, replace(params, la_code=None))


def compared_years(ds, params, labels) -> dict:
    """For each of the run's years, whether this scope compares it: "yes", or why not. A scope compares the years
    that are complete in its own records (as ``rhi trends --la`` does); a year without any of its records, or
    partial in them, is shown but not compared."""
    own = scope_years(ds, params)
    used, _ = trends.choose_years(own)
    complete = {own[i].label for i in used}
    present = {y.label for y in own if y.first_record is not None}
    return {label: "yes" if label in complete else "no: partial year" if label in present
            else "no: no records in this year" for label in labels}


def register_years(pub, scope: str, K, ds, params, figure_ids=trends.HEADLINE) -> None:
    """Register the section's year tables for one scope (when the run has two or more reporting years).

    Every scope registers the run's years, with zeros where it has no records, so that each authority's year
    is tied to all authorities' year (the geography relations need the cell in every authority)."""
    years = run_years(ds, params)
    if len(years) < 2:
        return
    labels = [y.label for y in years]
    status = compared_years(ds, params, labels)
    used = [i for i, label in enumerate(labels) if status[label] == "yes"]
    raw, _ = trends.year_counts(ds, params, years, progress=False)
    store = pub.store
    rows, counts, dens, series, cells_of, spans = [], [], [], {}, {}, []
    for fid in figure_ids:
        keys = figure_keys(K, fid, FIGURES[fid]) if fid in FIGURES else None
        if keys is None or fid not in raw[0]["figures"]:
            continue
        c, d = keys
        if not all(publishes_cell(year_key(k, labels[0])) for k in keys):
            continue   # a figure the scope's plan leaves out: neither shown nor in the family of tests
        per_year = []
        for label, r in zip(labels, raw):
            f = r["figures"][fid]
            yc, yd = year_key(c, label), year_key(d, label)
            store.proportion(yc, f["count"], yd, f["denominator"])
            rest = yc.but(measure=complement(yc.measure))
            # a statistic rests on the complement where the plan publishes it as a cell (complements_of);
            # elsewhere the complement is the difference of the count and denominator it already rests on
            per_year.append((yc, yd, rest) if publishes_cell(rest) else (yc, yd))
            rows.append({"figure": fid, "year": label, "compared": status[label],
                         "count": f["count"], "denominator": f["denominator"], "pct": f["pct"],
                         "ci_low": f["ci_low"], "ci_high": f["ci_high"]})
            counts.append(yc), dens.append(yd)
        cells_of[fid] = per_year
        spans += [c, d, c.but(measure=complement(c.measure))]
        series[fid] = {"kind": raw[0]["figures"][fid]["kind"],
                       "counts": [(r["figures"][fid]["count"], r["figures"][fid]["denominator"]) for r in raw],
                       "design_effects": trends._design_effects(raw, fid)}
    if not rows:
        return
    table = pd.DataFrame(rows)
    based = [(c, d) for c, d in zip(counts, dens)]
    pub.add_table(scope, FIGURES_TABLE, table, {"count": counts, "denominator": dens},
                  {column: based for column in PCT})
    for span in dict.fromkeys(spans):
        _relate_years(pub, span, [year_key(span, label) for label in labels])
    _changes(pub, scope, labels, used, series, cells_of)


def _relate_years(pub, span, parts) -> None:
    """The strongest relation between a span's cell and its years that holds (see the module's docstring)."""
    store = pub.store
    values = store.values
    if span not in values or not all(p in values for p in parts):
        return
    total, each = values[span], [values[p] for p in parts]
    if total == sum(each):
        store.relate("sum", span, parts)
        return
    if span.unit != "children" and total > sum(each):
        rest = span.but(population=f"{span.population}, remainder over the years")
        store.add(rest, total - sum(each))   # shown nowhere: hidden first when that protects a year
        store.relate("sum", span, list(parts) + [rest])
        return
    for kind in ("overlap", "le"):
        if holds(Relation(kind, span, tuple(parts)), values):
            store.relate(kind, span, parts)
            return


def _changes(pub, scope, labels, used, series, cells_of) -> None:
    """The change and trend of each figure, registered with the cells each number rests on."""
    change_pair = (used[-2], used[-1]) if len(used) >= 2 else None
    trend_years = used if len(used) >= 3 else []
    analysed = trends.analyse_series(series, labels, change_pair, trend_years, pub.control)
    rows, own, in_family = [], [], []
    for fid, entry in analysed.items():
        for part, indices in (("change", list(change_pair or ())), ("trend", trend_years)):
            res = entry.get(part)
            if not res:
                continue
            cells = tuple(k for i in indices for k in cells_of[fid][i])
            flag = res.get("flag")
            tested = res.get("tested") and res.get("q_value_bh") is not None
            verdict = (flag.split()[0] if flag else trends.NO_CHANGE) if tested else _short(res["reason"])
            rows.append({"figure": fid, "test": part,
                         "years": f"{res['from']} to {res['to']}" if part == "change"
                         else f"{res['years'][0]} to {res['years'][-1]}",
                         "method": res.get("method") or "", "verdict": verdict,
                         "difference_points": _round(res.get("difference_points")),
                         "difference_low": _round(res.get("ci_low")) if part == "change" else None,
                         "difference_high": _round(res.get("ci_high")) if part == "change" else None,
                         "p_value": res.get("p_value"), "q_value_bh": res.get("q_value_bh"),
                         "tests_in_family": res.get("family_size")})
            own.append(cells)
            in_family.append(bool(tested))
    if not rows:
        return
    family = tuple(dict.fromkeys(k for cells, member in zip(own, in_family) if member for k in cells))
    table = pd.DataFrame(rows)
    on_family = [family if member else cells for cells, member in zip(own, in_family)]
    derived = {c: own for c in ("method", "difference_points", "difference_low", "difference_high", "p_value")}
    derived.update({c: on_family for c in ("verdict", "q_value_bh", "tests_in_family")})
    pub.add_table(scope, CHANGES_TABLE, table, {}, derived)


def _round(value):
    return round(value, 1) if isinstance(value, float) else value


def _short(reason: str) -> str:
    """A test's reason without its details: 'not testable: ...' or 'not shown: ...'."""
    if "not shown" in reason:
        return "not shown: a compared year's count is suppressed"
    return reason.split(" (")[0].split("; ")[0]
