"""``rhi trends``: every figure of ``rhi figures`` year by year, and whether it changed.

For each reporting year (:mod:`analysis.definitions.years`) every figure is computed with the
contract's definitions applied within the year, as count, denominator,
percentage and 95% Wilson interval. Then, for each figure that is a proportion:

- **change between the last two complete years**: the difference in
  percentage points (later minus earlier) with Newcombe's hybrid score
  interval for a difference of independent proportions (Newcombe 1998,
  method 10: built from the two Wilson intervals), and a test of equal
  proportions: the two-sample score test (the pooled z test, the same as
  Pearson's chi-square without continuity correction) when every expected
  count of the 2x2 table is at least 5 (stricter than Cochran's rule, which allows
  some below 5), otherwise Fisher's exact test (two-sided); for figures over
  episodes the counts are effective counts (below), not whole numbers, and the
  test is Fisher's on those counts rounded, which is approximate and named so;
- **trend over three or more complete years**: the Cochran-Armitage test for a
  linear trend in proportions, scored by the years' positions in time (a year left out leaves a gap)
  (``analysis.stats.association.cochran_armitage``);
- **multiple testing**: Benjamini-Hochberg adjusted p-values (q-values) over
  one family holding every change test and every trend test of every figure
  (``analysis.stats.association.bh_adjust``), so that when nothing changed the
  chance of any flag is about ``alpha``. A figure is flagged (increase,
  decrease, rising, falling) only where its adjusted p-value is below
  ``alpha`` (default 0.05); otherwise it says "no evidence of change".

Years share children: a child who went missing in both years is in both
denominators. The interval and the tests treat the years as independent
samples; when a child's disclosures are positively correlated from one year to
the next (the usual case) that makes them conservative (wider, less often
significant), and the output says how many RHI children the two years share.

Disclosure control (on unless turned off): each year's figure is suppressed by
the project's rule (:func:`analysis.disclosure.suppress_figure`); a difference,
interval, test statistic or p-value built on a suppressed year is shown as
``c`` too, and such tests are left out of the Benjamini-Hochberg family,
because the other figures' adjusted p-values would otherwise carry information
about them. With control off the family is every testable figure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from analysis.stats import association
from analysis.disclosure import SUPPRESSED, Disclosure, suppress_figure
from analysis.definitions.populations import Params
from analysis.stats.proportions import wilson_interval
from analysis.definitions.years import DFE_START_MONTH, GRACE_DAYS, ReportingYear, TrendsError, describe_convention, reporting_years

ALPHA = 0.05
EXPECTED_MIN = 5
FISHER_ROUNDED = "Fisher's test on rounded effective counts (approximate)"
NO_CHANGE = "no evidence of change"
SHARED_CHILDREN_NOTE = (
    "Years share children: a child who went missing in both years counts in both. The interval and the tests "
    "treat the years as independent samples, which is conservative when a child's disclosures are positively "
    "correlated from year to year.")

CLUSTER_NOTE = (
    "episodes of one child are not independent: the interval and the test use effective counts (count and "
    "denominator divided by the design effect sum(m^2)/sum(m), m = a child's episodes in the population: the "
    "design effect when all of a child's episodes are alike and the proportion does not depend on how many episodes "
    "a child has); not an upper bound: where children with many episodes differ from the others the true design "
    "effect can be larger, and the comparison too liberal")

# The figures the report section shows as small multiples (issue 18, item 3).
HEADLINE = ("cse_victim", "cce_victim", "mental_health", "cse_red_flag_any", "substance_misuse",
            "repeat_episodes", "medium_low_share_of_coded", "one_to_one_offered_or_provided")


@dataclass(frozen=True)
class Result:
    method: str | None
    reason: str
    statistic: float | None = None
    pvalue: float | None = None

    @property
    def tested(self) -> bool:
        return self.pvalue is not None


# --- statistics ----------------------------------------------------------------------------------

def newcombe_difference(x1: int, n1: int, x2: int, n2: int, confidence: float = 0.95) -> tuple[float, float, float]:
    """Difference p2 - p1 (proportions) with Newcombe's hybrid score interval (1998, method 10).

    With (l_i, u_i) the Wilson interval of p_i: lower = d - sqrt((p2 - l2)^2 + (u1 - p1)^2),
    upper = d + sqrt((u2 - p2)^2 + (p1 - l1)^2).
    """
    if n1 <= 0 or n2 <= 0:
        raise ValueError("a difference of proportions needs two non-empty denominators")
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson_interval(x1, n1, confidence)
    l2, u2 = wilson_interval(x2, n2, confidence)
    d = p2 - p1
    return d, d - math.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2), d + math.sqrt((u2 - p2) ** 2 + (p1 - l1) ** 2)


def change_test(x1: int, n1: int, x2: int, n2: int) -> Result:
    """Equal proportions in two years: score test, or Fisher's exact test when an expected count is below 5."""
    if n1 == 0 or n2 == 0:
        return Result(None, "not testable: the denominator is 0 in one of the years")
    total, events = n1 + n2, x1 + x2
    if events in (0, total):
        which = "0%" if events == 0 else "100%"
        return Result(None, f"not testable: the proportion is {which} in both years, so there is no variation")
    expected = np.outer([n1, n2], [events, total - events]) / total
    if (expected >= EXPECTED_MIN).all():
        p = events / total
        z = (x2 / n2 - x1 / n1) / math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2))
        return Result("two-sample score test", f"every expected count is at least {EXPECTED_MIN} (the rule used here, stricter than Cochran's), "
                    "so the normal approximation holds; pooled z, two-sided (= Pearson chi-square, no continuity "
                    "correction)", z, math.erfc(abs(z) / math.sqrt(2)))
    small = int((expected < EXPECTED_MIN).sum())
    whole = all(float(v).is_integer() for v in (x1, n1, x2, n2))
    a1, b1, a2, b2 = (round(v) for v in (x1, n1, x2, n2))
    res = stats.fisher_exact([[a2, b2 - a2], [a1, b1 - a1]])
    if whole:
        return Result("Fisher's exact test", f"{small} of 4 expected counts are below {EXPECTED_MIN} (the rule used "
                      "here requires all at least 5), so an exact test is used (two-sided)", None, float(res.pvalue))
    return Result(FISHER_ROUNDED, f"{small} of 4 expected counts are below {EXPECTED_MIN} (the rule used here requires "
                  "all at least 5), so Fisher's test is used on the effective counts rounded to whole numbers "
                  "(two-sided); the effective counts are not counts of anything, so the p-value is approximate, not "
                  "exact", None, float(res.pvalue))


def trend_test(events, totals, scores=None) -> Result:
    """Cochran-Armitage test for a linear trend over years; ``scores`` (default 0, 1, 2, ...) are the years'
    positions, so that a year left out (partial) leaves a gap."""
    x, n = np.asarray(events, dtype=float), np.asarray(totals, dtype=float)
    scores = np.arange(len(n)) if scores is None else np.asarray(scores, dtype=float)
    used = int((n > 0).sum())
    if used < 3:
        return Result(None, f"not testable: {used} year(s) with a non-zero denominator; a trend needs three or more")
    if x.sum() in (0, n.sum()):
        return Result(None, "not testable: the proportion is 0% or 100% in every year")
    res = association.cochran_armitage(x, n, scores)
    if not res.tested:
        return Result(None, "not testable: " + res.reason.split(": ", 1)[-1])
    return Result(res.method, f"linear trend in the proportion over {used} years (scored by their position in "
                "time), normal approximation, two-sided", res.statistic, res.pvalue)


# --- the analysis of counts (what the simulation tests exercise) -----------------------------------

def analyse_series(series: dict[str, dict], labels: list[str], change_pair: tuple[int, int] | None,
                   trend_years: list[int], control: Disclosure | None = None, alpha: float = ALPHA) -> dict:
    """Change, trend and flags for figures given as counts per year.

    ``series``: figure id -> {"kind": "proportion"|"count", "counts": [(count, denominator), ...]} (one pair
    per year, in the order of ``labels``). ``change_pair``: indices of the two years compared (or None);
    ``trend_years``: indices of the years in the trend test (fewer than three: no trend test).
    An item may give ``design_effects`` (one per year, >= 1): its units are clustered (episodes of one
    child), and the interval and tests use effective counts (count / design effect, Kish).
    Returns figure id -> {"years": [...], "change": {...}, "trend": {...}, "verdict": str, "flags": [...]}.
    """
    control = control or Disclosure(suppress=False)
    out: dict[str, dict] = {}
    change_p: dict[str, float] = {}
    trend_p: dict[str, float] = {}
    for fid, item in series.items():
        kind = item.get("kind", "proportion")
        records = [_year_record(c, d, kind) for c, d in item["counts"]]
        shown = [suppress_figure(r, control) for r in records]
        if item.get("additive") and control.suppress:
            shown = secondary_across_years(shown, item["counts"], control.min_cell)
        entry = {"years": shown, "change": None, "trend": None}
        if kind == "count":
            reason = "not tested: a count, not a proportion"
            entry["change"] = {"tested": False, "reason": reason} if change_pair else None
            entry["trend"] = {"tested": False, "reason": reason} if len(trend_years) >= 3 else None
            out[fid] = entry
            continue
        deffs = item.get("design_effects") or [1.0] * len(item["counts"])
        effective = [(c / d, n / d) if d > 1 else (c, n) for (c, n), d in zip(item["counts"], deffs)]
        if change_pair is not None:
            i, j = change_pair
            (x1, n1), (x2, n2) = effective[i], effective[j]
            hidden = shown[i].get("suppressed") or shown[j].get("suppressed")
            entry["change"] = _change(x1, n1, x2, n2, labels[i], labels[j], hidden)
            if max(deffs[i], deffs[j]) > 1:
                entry["change"]["design_effects"] = [round(deffs[i], 3), round(deffs[j], 3)]
                entry["change"]["clustering"] = CLUSTER_NOTE
            if entry["change"]["tested"] and not hidden:
                change_p[fid] = entry["change"]["_p"]
        if len(trend_years) >= 3:
            counts = [effective[k] for k in trend_years]
            hidden = any(shown[k].get("suppressed") for k in trend_years)
            entry["trend"] = _trend(counts, [labels[k] for k in trend_years], hidden, trend_years)
            if max(deffs[k] for k in trend_years) > 1:
                entry["trend"]["design_effects"] = [round(deffs[k], 3) for k in trend_years]
                entry["trend"]["clustering"] = CLUSTER_NOTE
            if entry["trend"]["tested"] and not hidden:
                trend_p[fid] = entry["trend"]["_p"]
        out[fid] = entry
    # One Benjamini-Hochberg family: every change test and every trend test shown, so that under no change
    # at all the chance of any flag in a run is about alpha (two families would give about twice that).
    family = [(fid, "change", p) for fid, p in change_p.items()] + [(fid, "trend", p) for fid, p in trend_p.items()]
    for (fid, part, _), q in zip(family, association.bh_adjust([p for _, _, p in family])):
        out[fid][part]["q_value_bh"] = q
        out[fid][part]["family_size"] = len(family)
        out[fid][part]["flag"] = _direction(out[fid][part], part) if q < alpha else None
    for fid, entry in out.items():
        flags = []
        for part in ("change", "trend"):
            res = entry.get(part)
            if res is not None:
                res.pop("_p", None)
                res.setdefault("flag", None)
                if res.get("flag"):
                    flags.append(res["flag"])
        entry["flags"] = flags
        entry["verdict"] = "; ".join(flags) if flags else _no_flag_reason(entry)
    return out


def secondary_across_years(shown: list[dict], counts: list[tuple[int, int]], min_cell: int) -> list[dict]:
    """Secondary suppression for a figure whose years add up to its total over the span (episodes: each is in
    one year). ``rhi figures`` over the whole span publishes that total, so the hidden years add up to the total
    minus the years shown: one hidden year would be recovered, and several whose counts (or complements) add up
    to less than ``min_cell`` would all be shown to be small. Years are hidden, smallest first, until neither
    can happen; likewise for the denominators."""
    shown = [dict(r) for r in shown]
    for key in ("count", "denominator"):
        hidden = {i for i, r in enumerate(shown) if r.get(key) == SUPPRESSED}
        # The quantities whose sums over the hidden years an attacker learns: the denominators, or the counts
        # and their complements (with the denominators shown, each year's complement is known with its count).
        sides = [[d for _, d in counts]] if key == "denominator" else [[c for c, _ in counts],
                                                                        [d - c for c, d in counts]]
        while hidden:
            sums = [sum(side[i] for i in hidden) for side in sides]
            needs = [k for k, total in enumerate(sums)
                     if total > 0 and (len(hidden) == 1 or total < min_cell)]
            if not needs:
                break
            others = [i for i in range(len(shown)) if i not in hidden and any(sides[k][i] > 0 for k in needs)]
            if not others:
                break
            k = min(others, key=lambda i: (-sum(sides[n][i] > 0 for n in needs),
                                           min(sides[n][i] for n in needs if sides[n][i] > 0), i))
            for field in ("count", "pct", "ci_low", "ci_high") + (("denominator",) if key == "denominator" else ()):
                if field in shown[k]:
                    shown[k][field] = SUPPRESSED
            shown[k]["suppressed"] = True
            shown[k]["secondary"] = ("suppressed as well: the years add up to the total over the span, which "
                                     "would otherwise reveal or bound the suppressed year")
            hidden.add(k)
    return shown


def _year_record(count, denominator, kind) -> dict:
    count, denominator = int(count), int(denominator)
    if kind == "count" or denominator == 0:   # a count, or no denominator: no percentage
        pct = lo = hi = None
    else:
        lo, hi = wilson_interval(count, denominator)
        pct, lo, hi = 100 * count / denominator, 100 * lo, 100 * hi
    return {"count": count, "denominator": denominator, "pct": pct, "ci_low": lo, "ci_high": hi}


def _change(x1, n1, x2, n2, a: str, b: str, hidden: bool) -> dict:
    test = change_test(x1, n1, x2, n2)
    res = {"from": a, "to": b, "tested": test.tested, "method": test.method, "reason": test.reason}
    if hidden:
        res.update({"difference_points": SUPPRESSED, "ci_low": SUPPRESSED, "ci_high": SUPPRESSED,
                    "statistic": SUPPRESSED, "p_value": SUPPRESSED, "q_value_bh": SUPPRESSED,
                    "reason": test.reason + "; not shown: built on a suppressed count, and left out of the "
                                            "Benjamini-Hochberg family"})
        res["tested"] = False
        return res
    if n1 and n2:
        d, lo, hi = newcombe_difference(x1, n1, x2, n2)
        res.update({"difference_points": 100 * d, "ci_low": 100 * lo, "ci_high": 100 * hi,
                    "interval": "Newcombe hybrid score interval, 95% (independent years assumed)"})
    res.update({"statistic": test.statistic, "p_value": test.pvalue, "_p": test.pvalue})
    return res


def _trend(counts, labels, hidden: bool, scores=None) -> dict:
    test = trend_test([c for c, _ in counts], [d for _, d in counts], scores)
    res = {"years": labels, "tested": test.tested, "method": test.method, "reason": test.reason}
    if hidden:
        res.update({"statistic": SUPPRESSED, "p_value": SUPPRESSED, "q_value_bh": SUPPRESSED, "tested": False,
                    "reason": test.reason + "; not shown: a year's count is suppressed, and left out of the "
                                            "Benjamini-Hochberg family"})
        return res
    res.update({"statistic": test.statistic, "p_value": test.pvalue, "_p": test.pvalue})
    return res


def _direction(res: dict, part: str) -> str:
    q = association.format_p(res["q_value_bh"])
    if part == "change":
        word = "increase" if res["difference_points"] > 0 else "decrease"
        return (f"{word} from {res['from']} to {res['to']}: {res['difference_points']:+.1f} percentage points "
                f"(95% CI {res['ci_low']:+.1f} to {res['ci_high']:+.1f}; {res['method']}, BH-adjusted p {q})")
    word = "rising" if res["statistic"] > 0 else "falling"
    return f"{word} trend over {res['years'][0]} to {res['years'][-1]} (Cochran-Armitage, BH-adjusted p {q})"


def _no_flag_reason(entry: dict) -> str:
    parts = [p for p in (entry.get("change"), entry.get("trend")) if p]
    if any(p.get("tested") for p in parts):
        return NO_CHANGE
    if any(p.get("p_value") == SUPPRESSED for p in parts):
        return "not shown: a compared year's count is suppressed"
    reasons = [p["reason"] for p in parts]
    return reasons[0].split(" (")[0] if reasons else "not compared: fewer than two complete years"


# --- years of a dataset --------------------------------------------------------------------------

def choose_years(years: list[ReportingYear], include_partial: bool = False) -> tuple[list[int], list[str]]:
    """Indices of the years used in comparisons, and notes on the years left out."""
    used, notes = [], []
    for i, y in enumerate(years):
        if y.partial and not include_partial:
            notes.append(f"{y.label} is partial ({y.note}) and is not compared; --include-partial compares it")
        elif y.partial:
            used.append(i)
            notes.append(f"{y.label} is partial ({y.note}) but compared because --include-partial was given")
        else:
            used.append(i)
    return used, notes


def year_counts(ds, params: Params, years: list[ReportingYear], progress: bool | None = None):
    """Per year: raw figures (no suppression: internal), populations, and the RHI children's id set (internal)."""
    from tqdm import tqdm

    from analysis.definitions.figures import FigureContext, compute_figures

    raw, kids = [], []
    for y in tqdm(years, desc="reporting years", unit="year", disable=(None if progress is None else not progress)):
        ctx = FigureContext(ds, y.params(params))
        result = compute_figures(ds, y.params(params), control=Disclosure(suppress=False), context=ctx)
        result["design_effects"] = episode_design_effects(ctx)
        raw.append(result)
        kids.append(set(ctx.main.children["child_id"]))
    return raw, kids


def worst_case_design_effect(child_ids) -> float:
    """sum(m_c^2) / sum(m_c), m_c = units of child c: the design effect of a proportion when every child's
    units are alike (intra-child correlation 1) and the proportion does not depend on m_c (Kish).

    Not an upper bound: when the proportion varies with a child's number of units (children with many
    episodes more often graded medium, say) the design effect can exceed it (tests/test_trends.py has a
    hand-worked case), so comparisons on these effective counts can be too liberal.
    """
    m = np.asarray(child_ids.value_counts(), dtype=float) if len(child_ids) else np.zeros(0)
    return float((m ** 2).sum() / m.sum()) if m.sum() > 0 else 1.0


def episode_design_effects(ctx) -> dict[str, float]:
    """Worst-case design effect of each episode population of the figures (episodes clustered in children)."""
    main, high = ctx.main, ctx.high
    profile = main.in_scope_profile
    frames = {
        "notified_episodes": main.notified, "all_missing_episodes": main.notified,
        "risk_coded_episodes": main.risk_coded, "medium_low_episodes": main.in_scope,
        "medium_low_episodes_aged_14_17": profile[profile["age_band"].isin(["14-16", "17"])],
        "medium_low_episodes_aged_13_or_under": profile[profile["age_band"].isin(["10 or under", "11-13"])],
        "rhi_episodes_medium_low": main.rhi_episodes, "high_episodes": high.in_scope,
    }
    return {name: worst_case_design_effect(frame["child_id"]) for name, frame in frames.items()}


def compute_trends(ds, params: Params | None = None, start_month: int = DFE_START_MONTH,
                   control: Disclosure | None = None, include_partial: bool = False, alpha: float = ALPHA,
                   grace_days: int = GRACE_DAYS, extracted_on=None, progress: bool | None = None) -> dict:
    """Every figure per reporting year, the change between the last two compared years, the trend, the flags."""
    params = params or Params()
    control = control or Disclosure()
    if not 0 < alpha < 1:
        raise TrendsError(f"alpha {alpha}: expected a number between 0 and 1")
    years = reporting_years(ds, params, start_month, grace_days, extracted_on)
    used, notes = choose_years(years, include_partial)
    raw, kids = year_counts(ds, params, years, progress)
    labels = [y.label for y in years]
    change_pair = (used[-2], used[-1]) if len(used) >= 2 else None
    trend_years = used if len(used) >= 3 else []
    if change_pair is None:
        notes.append("no change is tested: fewer than two complete reporting years")
    if not trend_years:
        notes.append("no trend is tested: fewer than three complete reporting years")
    figure_ids = list(raw[0]["figures"])
    series = {fid: {"kind": raw[0]["figures"][fid]["kind"],
                    "counts": [(r["figures"][fid]["count"], r["figures"][fid]["denominator"]) for r in raw],
                    "design_effects": _design_effects(raw, fid),
                    "additive": raw[0]["figures"][fid]["unit"] == "episodes"}
              for fid in figure_ids}
    analysed = analyse_series(series, labels, change_pair, trend_years, control, alpha)
    figures = {}
    for fid in figure_ids:
        meta = raw[0]["figures"][fid]
        entry = analysed[fid]
        figures[fid] = {"label": meta["label"], "unit": meta["unit"], "population": meta["population"],
                        "kind": meta["kind"], "years": dict(zip(labels, entry["years"])),
                        "change": entry["change"], "trend": entry["trend"], "verdict": entry["verdict"],
                        "flagged": bool(entry["flags"])}
    shared = None
    if change_pair is not None:
        i, j = change_pair
        both = len(kids[i] & kids[j])
        hidden = control.suppress and any(control.is_small(v) for v in (both, len(kids[i]) - both,
                                                                         len(kids[j]) - both))
        shared = {"years": [labels[i], labels[j]], "rhi_children_in_both": SUPPRESSED if hidden else both,
                  "note": SHARED_CHILDREN_NOTE}
    return {
        "params": {"risk_levels": list(params.risk_levels), "la_code": params.la_code,
                   "year_start_month": start_month, "years": describe_convention(start_month),
                   "include_partial": include_partial, "alpha": alpha,
                   "period_start": None if params.period_start is None else f"{params.period_start:%Y-%m-%d}",
                   "period_end": None if params.period_end is None else f"{params.period_end:%Y-%m-%d}"},
        "years": [dict(y.as_dict(), compared=i in used) for i, y in enumerate(years)],
        "notes": notes,
        "methods": {
            "interval": "Wilson score interval, 95%, for each year",
            "difference": "later year minus earlier, percentage points; Newcombe hybrid score interval, 95%",
            "change_test": f"two-sample score test, or Fisher's exact test when an expected count is below "
                           f"{EXPECTED_MIN} (for figures over episodes, Fisher's test on the rounded effective counts, "
                           "which is approximate)",
            "trend_test": "Cochran-Armitage test for a linear trend over three or more compared years",
            "multiple_testing": f"Benjamini-Hochberg over one family: every change and trend test of every figure "
                                f"shown; flagged where the adjusted p-value is below {alpha}",
        },
        "shared_children": shared,
        "disclosure_control": {"suppressed": control.suppress, "min_cell": control.min_cell,
                               "statement": control.statement},
        "populations": {label: _suppressed_populations(r["populations"], control) for label, r in zip(labels, raw)},
        "figures": figures,
        "flagged": [fid for fid, f in figures.items() if f["flagged"]],
    }


def _design_effects(raw: list[dict], fid: str) -> list[float] | None:
    """Per year, the design effect of an episode figure (None for figures counting children)."""
    fig = raw[0]["figures"][fid]
    if fig["unit"] != "episodes":
        return None
    worst = [max(r["design_effects"].values()) for r in raw]
    return [r["design_effects"].get(fig["population"], w) for r, w in zip(raw, worst)]


def _suppressed_populations(pops: dict, control: Disclosure) -> dict:
    out = {}
    for name, pop in pops.items():
        pop = dict(pop)
        for key in ("n", "children"):
            if control.is_small(pop.get(key)):
                pop[key] = SUPPRESSED
        out[name] = pop
    return out


# --- what the report section "This year against earlier years" shows (issue 18, item 3) ---------------

def year_section(result: dict, figure_ids=HEADLINE) -> dict:
    """The content of the section "This year against earlier years", from a :func:`compute_trends` result.

    ``panels``: one small multiple per figure (every year's percentage with its
    interval, suppressed values as "c"); ``sentences``: the changes in plain
    words, one per flagged figure, then one saying that nothing else changed.
    """
    panels, sentences, quiet = [], [], []
    for fid in figure_ids:
        fig = result["figures"].get(fid)
        if fig is None:
            continue
        points = [{"year": label, **{k: rec.get(k) for k in ("count", "denominator", "pct", "ci_low", "ci_high")},
                   "partial": not meta["compared"]}
                  for (label, rec), meta in zip(fig["years"].items(), result["years"])]
        panels.append({"figure": fid, "label": fig["label"], "points": points, "verdict": fig["verdict"]})
        if fig["flagged"]:
            sentences.append(f"{fig['label'][0].upper()}{fig['label'][1:]}: {fig['verdict']}.")
        else:
            quiet.append(fig["label"])
    if quiet:
        sentences.append(f"No evidence of change in the other {len(quiet)} figure(s) shown "
                         f"({', '.join(quiet)}). No evidence of change is not evidence of no change: with a few "
                         "hundred children a year, only large changes can be detected (docs/trends.md).")
    return {"title": "This year against earlier years", "panels": panels, "sentences": sentences,
            "notes": list(result["notes"]) + ([result["shared_children"]["note"]] if result["shared_children"] else []),
            "disclosure_control": result["disclosure_control"]["statement"]}


def dfe_years_against_england(la_code: str | None, path=None) -> list[dict]:
    """The authority's published looked-after missing rate for every DfE year, beside England's.

    Each row: year, the authority's count/denominator/% with Wilson interval (or
    DfE's reason where it published no number), and England's. With ``la_code``
    None, England's alone (no ``la`` entry): the all-authorities report's context.
    """
    from analysis.reference.dfe import SYMBOLS, load_dfe
    from analysis.stats.proportions import proportion

    frame = load_dfe(path)
    # the authority's rows and England's, picked out once; then each year's from those few rows (file order kept)
    las = frame[(frame["geographic_level"] == "Local authority")
                & ((frame["la_code"] == la_code) | (frame["la_code_latest"] == la_code))]
    nations = frame[frame["geographic_level"] == "National"]
    rows = []
    for year in sorted({int(y) for y in frame["year"]}):
        la, england = las[las["year"] == str(year)], nations[nations["year"] == str(year)]
        row = {"year": year}
        for name, sub in ((("la", la),) if la_code else ()) + (("england", england),):
            if sub.empty:
                row[name] = {"status": "not in the DfE data for this year"}
                continue
            count, den = sub.iloc[0]["children_who_went_missing"], sub.iloc[0]["children_looked_after_during_year"]
            if not (str(count).isdigit() and str(den).isdigit()) or int(den) == 0 or int(count) > int(den):
                bad = count if not str(count).isdigit() else den
                row[name] = {"status": SYMBOLS.get(bad, f"not a number ({bad})")}
                continue
            row[name] = {"status": "published", **proportion(int(count), int(den)).as_dict()}
        rows.append(row)
    if la_code and not any(r["la"].get("status") == "published" for r in rows):
        raise TrendsError(f"{la_code}: no published DfE figure for this authority in any year")
    return rows


# --- text output and the command -----------------------------------------------------------------

def _cell(rec: dict) -> str:
    if rec.get("pct") is None:
        return f"{rec['count']!s}/{rec['denominator']!s}"
    if rec["pct"] == SUPPRESSED:
        return f"c/{rec['denominator']!s}"
    return f"{rec['pct']:.1f}% ({rec['count']}/{rec['denominator']})"


def format_text(result: dict) -> list[str]:
    lines = [result["disclosure_control"]["statement"], f"Years: {result['params']['years']}."]
    for y in result["years"]:
        lines.append(f"  {y['label']}: {y['start']} to {y['end']}" + (f" PARTIAL: {y['note']}" if y["partial"] else ""))
    lines += [f"Note: {n}" for n in result["notes"]]
    if result["shared_children"]:
        s = result["shared_children"]
        lines.append(f"RHI children in both {s['years'][0]} and {s['years'][1]}: {s['rhi_children_in_both']}. "
                     + s["note"])
    for key, text in result["methods"].items():
        lines.append(f"{key.replace('_', ' ')}: {text}")
    flagged = result["flagged"]
    lines.append(f"Flagged: {len(flagged)} figure(s)" + (": " + ", ".join(flagged) if flagged else
                                                          " (no evidence of change in any figure)"))
    labels = [y["label"] for y in result["years"]]
    lines.append(f"{'figure':40} " + " ".join(f"{label:>22}" for label in labels) + "  verdict")
    for fid, fig in result["figures"].items():
        cells = " ".join(f"{_cell(fig['years'][label]):>22}" for label in labels)
        lines.append(f"{fid:40} {cells}  {fig['verdict']}")
    return lines


def trends_command(ds, params: Params, path, start_month: int, as_json: bool, suppress: bool, min_cell: int,
                   include_partial: bool, alpha: float) -> None:
    import json

    import typer

    from analysis.dataset.io import extract_date

    day, origin = extract_date(path)
    extracted = day if origin.startswith("the extract date") else None
    try:
        result = compute_trends(ds, params, start_month, Disclosure(suppress, min_cell), include_partial, alpha,
                                extracted_on=extracted)
    except TrendsError as exc:
        typer.echo(f"rhi trends: {exc}", err=True)
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(result, indent=2, default=str))
        return
    for line in format_text(result):
        typer.echo(line)
