"""Every table a report shows, computed for one scope and registered as cells of the publication.

Each function computes a table with the package's own definitions (the same
functions the notebooks used to call) and says which cell each count is, so
that a quantity shown in several tables (RHI children in a cohort, in-scope
episodes, the RHIs of a police grade) is one cell. Table names are the names
of the CSV files a report writes.
"""

from __future__ import annotations

from functools import partial

import pandas as pd

from analysis import vocab
from analysis.definitions.accounting import record_flow
from analysis.definitions.figures import FIGURES, FigureContext, compute_figures, population_sizes
from analysis.definitions.indicators import prevalence_table
from analysis.definitions.populations import Populations
from analysis.definitions.profiles import age_sex_profile, repeat_missing_profile
from analysis.publish.cells import TOTAL, key
from analysis.publish.publication import Publication
from analysis.timing import stage

# Populations of the figures catalogue under this module's names.
POPULATION = {"medium_low_episodes": "in_scope_episodes", "rhi_episodes_medium_low": "rhi_episodes",
              "all_missing_episodes": "notified_episodes", "all_missing_children": "notified_children"}
NOT_PUBLISHED = {"max_episodes_one_child": "one child's own value: not published"}
PCT = ("pct", "ci_low", "ci_high")


def register_scope(pub: Publication, scope: str, ds, params) -> None:
    """Compute and register every per-scope table (``ds`` already restricted to the scope)."""
    pop = Populations(ds, params)
    K = partial(key, scope)
    flow(pub, scope, K, pop)
    prevalence_by_cohort(pub, scope, K, pop)
    if pub.wants(scope, "age_sex_profile"):
        age_sex(pub, scope, K, pop)
    if pub.wants(scope, "repeat_missing"):
        repeat_missing(pub, scope, K, pop)
    replication(pub, scope, K, ds, params, pop)
    linkage_tables(pub, scope, K, ds, params)
    delivery_tables(pub, scope, K, ds, params)
    from analysis.publish.years import register_years, scope_years   # issue 18: the years side by side
    register_years(pub, scope, K, ds, params)
    pub.years[scope] = [y.label for y in scope_years(ds, params)]   # what a report says with one year or none


def _pct_derived(frame, count_keys, den_keys) -> dict:
    based = [tuple(k for k in pair if k is not None) for pair in zip(count_keys, den_keys)]
    return {c: based for c in PCT if c in frame.columns}


# --- notebook 01 ---------------------------------------------------------------------------------

FLOW_STAGES = {  # (unit, stage) -> (unit, population) of the stage's key
    ("episodes", "episode rows read"): ("episodes", "rows_read"),
    ("episodes", "notified episodes"): ("episodes", "notified_episodes"),
    ("episodes", "risk-coded episodes"): ("episodes", "risk_coded_episodes"),
    ("episodes", "in-scope episodes"): ("episodes", "in_scope_episodes"),
    ("episodes", "RHI episodes"): ("episodes", "rhi_episodes"),
    ("RHIs", "RHI rows read"): ("rhis", "rows_read"),
    ("RHIs", "completed RHIs"): ("rhis", "completed_rhis"),
    ("RHIs", "in-scope RHIs"): ("rhis", "in_scope_rhis"),
    ("children", "child rows read"): ("children", "rows_read"),
    ("children", "RHI children"): ("children", "rhi_children"),
    ("disclosures", "disclosure rows read"): ("disclosures", "rows_read"),
    ("disclosures", "disclosures at in-scope RHIs"): ("disclosures", "in_scope_disclosures"),
    ("links", "rhi_episodes rows read"): ("links", "rows_read"),
    ("links", "links used"): ("links", "links_used"),
}


def flow(pub, scope, K, pop) -> None:
    """The record flow: stages are population cells; an exclusion is a cell of the stage it leaves."""
    table = record_flow(pop)
    keys, stage_of = [], {}
    chains: dict[str, list] = {}
    for row in table.itertuples(index=False):
        unit = row.unit
        if row.kind == "stage":
            u, population = FLOW_STAGES[(unit, row.stage)]
            k = K(u, population)
            chains.setdefault(unit, []).append(("stage", k))
            stage_of[unit] = (u, population)
        elif row.kind == "excluded":
            u, population = stage_of[unit]
            graded = row.stage.startswith("graded ") and unit == "episodes"
            k = (K(u, "risk_coded_episodes", police_grade=row.stage.split()[1]) if graded
                 else K(u, population, f"excluded: {row.stage}: {row.reason}".replace(",", ";")))   # no comma in a key
            chains[unit].append(("excluded", k))
        elif row.stage.startswith("cohort: "):
            cohort = next(c for c in vocab.COHORTS if vocab.COHORT_LABELS[c] == row.stage[len("cohort: "):])
            k = K("children", "rhi_children", cohort=cohort)
        else:
            k = K("children", "rhi_children", "in_several_cohorts")
        keys.append(k)
    pub.add_table(scope, "record_flow", table, {"count": keys})
    for chain in chains.values():
        previous, between = None, []
        for kind, k in chain:
            if kind == "excluded":
                between.append(k)
                continue
            if previous is not None:
                pub.store.relate("sum", previous, between + [k])
            previous, between = k, []
    several = K("children", "rhi_children", "in_several_cohorts")
    if several in pub.store.values:
        pub.store.relate("le", K("children", "rhi_children"), [several])


def prevalence_by_cohort(pub, scope, K, pop) -> None:
    table = prevalence_table(pop)
    counts, dens = [], []
    for row in table.itertuples(index=False):
        cohort = {} if row.cohort == "all" else {"cohort": row.cohort}
        c, d = K("children", "rhi_children", row.indicator, **cohort), K("children", "rhi_children", **cohort)
        pub.store.proportion(c, row.count, d, row.denominator)
        counts.append(c), dens.append(d)
    pub.add_table(scope, "prevalence_by_cohort", table, {"count": counts, "denominator": dens},
                  _pct_derived(table, counts, dens))


def age_sex(pub, scope, K, pop) -> None:
    table = age_sex_profile(pop)
    keys = [K("episodes", "in_scope_episodes", age_band=r.age_band, sex=r.sex) for r in table.itertuples()]
    pub.add_table(scope, "age_sex_profile", table, {"episodes": keys})
    # Margins are implied by the table; registering them declares the relations the figures use.
    for band, n in table.groupby("age_band")["episodes"].sum().items():
        pub.store.add(K("episodes", "in_scope_episodes", age_band=band), n)
    for sex, n in table.groupby("sex")["episodes"].sum().items():
        pub.store.add(K("episodes", "in_scope_episodes", sex=sex), n)
    pub.store.relate("sum", K("episodes", "in_scope_episodes"), keys)


def repeat_missing(pub, scope, K, pop) -> None:
    table = repeat_missing_profile(pop)
    kids = [K("children", "in_scope_children", episodes_per_child=b) for b in table["episodes_per_child"]]
    eps = [K("episodes", "in_scope_episodes", episodes_per_child=b) for b in table["episodes_per_child"]]
    pub.add_table(scope, "repeat_missing", table, {"children": kids, "episodes": eps})
    pub.store.add(K("children", "in_scope_children"), int(table["children"].sum()))
    # episodes of a band lie between its floor and ceiling times its children: analysis.publish.identities


# --- the replication table -----------------------------------------------------------------------

def figure_keys(K, fid: str, fig):
    """(count key, denominator key) of a figure of the catalogue, or None if it is not published."""
    if fid in NOT_PUBLISHED:
        return None
    unit, population = fig.unit, POPULATION.get(fig.population, fig.population)
    indicators = vocab.INDICATORS + tuple(vocab.DERIVED_INDICATORS)
    prefixes = {"lac": "looked_after", "ots": "open_to_services", "nk": "not_known"}
    head, _, rest = fid.partition("_")
    if fid in indicators:
        return K("children", "rhi_children", fid), K("children", "rhi_children")
    if head in prefixes and rest in indicators:
        return K("children", "rhi_children", rest, cohort=prefixes[head]), K("children", "rhi_children", cohort=prefixes[head])
    if fid.startswith("high_rhi_"):
        return K("children", "rhi_children_high", fid[len("high_rhi_"):]), K("children", "rhi_children_high")
    if fid.startswith("cohort_"):
        return K("children", "rhi_children", cohort=fid[len("cohort_"):]), K("children", "rhi_children")
    if fid in ("high_share_of_coded", "medium_share_of_coded", "low_share_of_coded"):
        return K("episodes", "risk_coded_episodes", police_grade=head), K("episodes", "risk_coded_episodes")
    simple = {
        "medium_low_share_of_coded": (K("episodes", "in_scope_episodes"), K("episodes", "risk_coded_episodes")),
        "no_risk_code_share": (K("episodes", "notified_episodes", "excluded: no risk code: police_risk blank"),
                               K("episodes", "notified_episodes")),
        "aged_14_16": (K(unit, population, age_band="14-16"), K(unit, population)),
        "aged_10_or_under": (K(unit, population, age_band="10 or under"), K(unit, population)),
        "girls": (K(unit, population, sex="female"), K(unit, population)),
        "girls_among_aged_14_17": (K(unit, "in_scope_episodes", age_band="14-17", sex="female"),
                                   K(unit, "in_scope_episodes", age_band="14-17")),
        "boys_among_aged_13_or_under": (K(unit, "in_scope_episodes", age_band="13 or under", sex="male"),
                                        K(unit, "in_scope_episodes", age_band="13 or under")),
        "episodes_of_children_with_15_plus": (K(unit, "in_scope_episodes", episodes_per_child="15+"),
                                              K(unit, "in_scope_episodes")),
        "children_with_15_plus_episodes": (K("children", "in_scope_children", episodes_per_child="15+"),
                                           K("children", "in_scope_children")),
        "children_missing_from_care": (K(unit, population, cohort="looked_after"), K(unit, population)),
        "not_known_share_of_children": (K(unit, population, cohort="not_known"), K(unit, population)),
        "lac_share_of_incidents": (K(unit, population, cohort="looked_after"), K(unit, population)),
        "not_known_share_of_incidents": (K(unit, population, cohort="not_known"), K(unit, population)),
        "lac_missing_2_plus": (K(unit, "notified_children", "missing_2_plus", cohort="looked_after"),
                               K(unit, "notified_children", cohort="looked_after")),
        "other_missing_2_plus": (K(unit, "notified_children", "missing_2_plus", cohort="not_looked_after"),
                                 K(unit, "notified_children", cohort="not_looked_after")),
        "not_known_missing_2_plus": (K(unit, "notified_children", "missing_2_plus", cohort="not_known"),
                                     K(unit, "notified_children", cohort="not_known")),
        "cse_among_cce_victims": (K(unit, "rhi_children_cce_victims", "cse_victim"), K(unit, "rhi_children_cce_victims")),
        "high_episodes_girls": (K(unit, "high_episodes", sex="female"), K(unit, "high_episodes")),
        "high_children_missing_more_than_once": (K("children", "high_children", "missing_2_plus"),
                                                 K("children", "high_children")),
    }
    if fid in simple:
        return simple[fid]
    if fid.startswith("high_episodes_"):
        return K(unit, "high_episodes", cohort=fid[len("high_episodes_"):]), K(unit, "high_episodes")
    return K(unit, population, fid), K(unit, population)


def replication(pub, scope, K, ds, params, pop: Populations) -> None:
    """The figures of the study and the population sizes, with the identities between them declared."""
    ctx = FigureContext(ds, params, main=pop)   # the scope's populations, computed once
    raw = compute_figures(ds, params, control=_off(), context=ctx)
    rows, counts, dens = [], [], []
    for fid, f in raw["figures"].items():
        keys = figure_keys(K, fid, FIGURES[fid])
        if keys is None:
            continue
        c, d = keys
        pub.store.proportion(c, f["count"], d, f["denominator"])
        rows.append({"id": fid, "count": f["count"], "denominator": f["denominator"], "pct": f["pct"],
                     "ci_low": f["ci_low"], "ci_high": f["ci_high"]})
        counts.append(c), dens.append(d)
    table = pd.DataFrame(rows)
    pub.add_table(scope, "replicated_figures", table, {"count": counts, "denominator": dens},
                  _pct_derived(table, counts, dens))
    _replication_identities(pub, K, ctx)
    sizes = population_sizes(ctx)
    srows, skeys = [], []
    size_keys = {"notified_episodes": (K("episodes", "notified_episodes"), K("children", "notified_children")),
                 "risk_coded_episodes": (K("episodes", "risk_coded_episodes"), None),
                 "medium_low_episodes": (K("episodes", "in_scope_episodes"), K("children", "in_scope_children")),
                 "high_episodes": (K("episodes", "high_episodes"), K("children", "high_children")),
                 "rhi_episodes_all": (K("episodes", "notified_episodes", "with_completed_rhi"), None),
                 "rhi_episodes_medium_low": (K("episodes", "rhi_episodes"), None),
                 "rhi_children": (K("children", "rhi_children"), None),
                 "rhi_children_high": (K("children", "rhi_children_high"), None),
                 "in_scope_rhis": (K("rhis", "in_scope_rhis"), None)}
    size_keys.update({f"rhi_children_{c}": (K("children", "rhi_children", cohort=c), None) for c in vocab.COHORTS})
    for name, size in sizes.items():
        n_key, child_key = size_keys[name]
        srows.append({"population": name, "unit": size["unit"], "n": size["n"], "children": size.get("children")})
        skeys.append((n_key, child_key))
    stable = pd.DataFrame(srows)
    pub.add_table(scope, "population_sizes", stable, {"n": [a for a, _ in skeys], "children": [b for _, b in skeys]})
    notified = K("episodes", "notified_episodes")
    pub.store.proportion(K("episodes", "notified_episodes", "with_completed_rhi"), sizes["rhi_episodes_all"]["n"],
                         notified, sizes["notified_episodes"]["n"])


def _replication_identities(pub, K, ctx) -> None:
    """Whole partitions and equalities behind the figures, so that no level is left derivable but undeclared."""
    store = pub.store
    per_child = ctx.notified_children
    status = per_child["status"]
    for cohort in vocab.COHORTS:
        members = per_child[status == cohort]
        store.proportion(K("children", "notified_children", "missing_2_plus", cohort=cohort), int((members["episodes"] >= 2).sum()),
                         K("children", "notified_children", cohort=cohort), len(members))
    for measure in (TOTAL, "missing_2_plus"):
        store.relate("sum", K("children", "notified_children", measure, cohort="not_looked_after"),
                     [K("children", "notified_children", measure, cohort=c) for c in ("open_to_services", "not_known")])
    episode_cohort = ctx.notified_cohort
    for cohort in vocab.COHORTS:
        store.add(K("episodes", "notified_episodes", cohort=cohort), int((episode_cohort == cohort).sum()))
    high = ctx.high.in_scope
    high_cohort = high["legal_status"].map(vocab.COHORT_OF_LEGAL_STATUS).fillna("not_known")
    for cohort in vocab.COHORTS:
        store.add(K("episodes", "high_episodes", cohort=cohort), int((high_cohort == cohort).sum()))
    store.relate("sum", K("episodes", "risk_coded_episodes", police_grade="high"), [K("episodes", "high_episodes")])
    store.relate("sum", K("children", "rhi_children", "cce_victim"), [K("children", "rhi_children_cce_victims")])
    profile = ctx.main.in_scope_profile
    for label, bands in (("14-17", ("14-16", "17")), ("13 or under", ("10 or under", "11-13"))):
        for sex in (TOTAL, "female", "male"):
            sub = profile[profile["age_band"].isin(bands)]
            n = len(sub) if sex == TOTAL else int((sub["sex"] == sex).sum())
            store.add(K("episodes", "in_scope_episodes", age_band=label, sex=sex), n)
            store.relate("sum", K("episodes", "in_scope_episodes", age_band=label, sex=sex),
                         [K("episodes", "in_scope_episodes", age_band=b, sex=sex) for b in bands])
    in_scope_levels = [K("episodes", "risk_coded_episodes", police_grade=lv) for lv in ctx.params.risk_levels]
    for lv in vocab.RISK_ORDER:
        store.add(K("episodes", "risk_coded_episodes", police_grade=lv), int((ctx.main.risk_coded["police_risk"] == lv).sum()))
    store.relate("sum", K("episodes", "in_scope_episodes"), in_scope_levels)


def _off():
    from analysis.disclosure import Disclosure

    return Disclosure(suppress=False)


# --- the comparison across authorities (notebook 03) ---------------------------------------------

FUNNEL_MEASURES = {  # measure: (unit, population, counted measure)
    "rhi_completion": ("episodes", "notified_episodes", "with_completed_rhi"),
    "cse_victim": ("children", "rhi_children", "cse_victim"),
    "cse_red_flag_any": ("children", "rhi_children", "cse_red_flag_any"),
    "cce_victim": ("children", "rhi_children", "cce_victim"),
    "mental_health": ("children", "rhi_children", "mental_health"),
}


def register_compare(pub: Publication, ds, params, la_codes) -> None:
    """Funnel tables: each authority's own cells and the all-authorities cell, nothing else."""
    values = pub.store.values
    for measure, (unit, population, counted) in FUNNEL_MEASURES.items():
        rows, counts, dens = [], [], []
        for scope in list(la_codes) + ["all"]:
            c, d = key(scope, unit, population, counted), key(scope, unit, population)
            if c not in values or d not in values:
                continue
            rows.append({"unit": scope, "count": values[c], "denominator": values[d]})
            counts.append(c), dens.append(d)
        table = pd.DataFrame(rows, columns=["unit", "count", "denominator"])
        pub.add_table("compare", f"funnel_{measure}", table, {"count": counts, "denominator": dens})


# --- notebook 02: police grade and disclosures -----------------------------------------------------

def linkage_tables(pub, scope, K, ds, params) -> None:
    """Prevalence by grade (RHIs, children), screening, tests, models, hidden risk, episode bands, grades."""
    from analysis.stats import association, models
    from analysis.definitions import linkage

    pops = linkage.linkage_populations(ds, params)
    rt = linkage.rhi_table(pops)
    # The harm groups and serious harm only: by grade x cohort x unit, every indicator would make most
    # cells of an authority too small to publish (the indicators by cohort are in prevalence_by_cohort).
    headline = list(vocab.HARM_GROUPS) + [linkage.SERIOUS]
    outcomes = headline
    for unit in ("rhis", "children"):
        if not pub.wants(scope, f"prevalence_by_risk_{unit}"):
            continue
        t = linkage.prevalence_by(rt, outcomes, unit=unit, combined=linkage.MEDIUM_OR_LOW)
        counts, dens = [], []
        for r in t.itertuples(index=False):
            dims = {**({} if r.cohort == "all" else {"cohort": r.cohort}),
                    **({} if r.police_risk == "all" else {"police_grade": r.police_risk})}
            c, d = K(unit, f"graded_{unit}", r.outcome, **dims), K(unit, f"graded_{unit}", **dims)
            pub.store.proportion(c, r.count, d, r.denominator)
            counts.append(c), dens.append(d)
        pub.add_table(scope, f"prevalence_by_risk_{unit}", t, {"count": counts, "denominator": dens},
                      _pct_derived(t, counts, dens))
    if pub.wants(scope, "screening"):
        _screening(pub, scope, K, rt, linkage)
    if pub.wants(scope, "screening_children"):
        _screening_children(pub, scope, K, rt, linkage)
    for unit, frame, population in (("rhis", rt, "graded_rhis"),
                                    ("children", linkage.child_highest_grade(rt, outcomes), "graded_children_highest")):
        if not pub.wants(scope, f"association_{unit}"):
            continue
        family = "RHI level, police grade" if unit == "rhis" else "child level (highest grade), police grade"
        table = association.association_table(frame, outcomes, family=family)
        _association(pub, scope, K, table, unit, population, f"association_{unit}")
        if unit == "children":
            for o in outcomes:
                for m in (TOTAL, o, "not_" + o):
                    pub.store.relate("sum", K("children", "graded_children", m),
                                     [K("children", population, m, police_grade=lv) for lv in linkage.LINKAGE_LEVELS])
    if pub.wants(scope, "prevalence_by_episode_band"):
        _episode_bands(pub, scope, K, rt, linkage, headline)
    if pub.wants(scope, "models_odds_ratios"):
        with stage("publication: models"):   # also counted in "publication: tables"
            fitted = models.odds_ratio_table(models.fit_harm_models(rt, headline))
        _models(pub, scope, K, fitted)
    if pub.wants(scope, "hidden_risk"):
        _hidden_risk(pub, scope, K, linkage.hidden_risk(pops, rt))
    if pub.wants(scope, "grades_by_episode_count"):
        _grades(pub, scope, K, linkage.grades_by_episode_count(pops, rt), linkage.MANY_EPISODES)


def _episode_bands(pub, scope, K, rt, linkage, headline) -> None:
    """Prevalence by episode band (RHI level) and its tests."""
    from analysis.stats import association

    bands = linkage.prevalence_by(rt, headline, unit="rhis", group="episode_band", levels=linkage.EPISODE_BANDS)
    counts, dens = [], []
    for r in bands.itertuples(index=False):
        dims = {**({} if r.cohort == "all" else {"cohort": r.cohort}),
                **({} if r.episode_band == "all" else {"episode_number": r.episode_band})}
        c, d = K("rhis", "graded_rhis", r.outcome, **dims), K("rhis", "graded_rhis", **dims)
        pub.store.proportion(c, r.count, d, r.denominator)
        counts.append(c), dens.append(d)
    pub.add_table(scope, "prevalence_by_episode_band", bands, {"count": counts, "denominator": dens},
                  _pct_derived(bands, counts, dens))
    band_tests = association.association_table(rt, headline, group="episode_band", levels=linkage.EPISODE_BANDS,
                                               scores={b: i for i, b in enumerate(linkage.EPISODE_BANDS, 1)},
                                               family="RHI level, episode band")
    _association(pub, scope, K, band_tests, "rhis", "graded_rhis", "association_episode_band",
                 dim="episode_number", levels=linkage.EPISODE_BANDS)


def _screening(pub, scope, K, rt, linkage) -> None:
    """A 'high' grade as a test for serious harm, RHI level: every count is a cell of the grade x harm cube."""
    s = linkage.SERIOUS
    for cohort in ["all"] + list(vocab.COHORTS):
        sub = rt if cohort == "all" else rt[rt["cohort"] == cohort]
        ml = sub[sub["police_risk"].isin(["medium", "low"])]
        dims = {} if cohort == "all" else {"cohort": cohort}
        pub.store.proportion(K("rhis", "graded_rhis", s, police_grade="medium_or_low", **dims), int(ml[s].sum()),
                             K("rhis", "graded_rhis", police_grade="medium_or_low", **dims), len(ml))
    t = linkage.screening(rt, "rhis")
    cells = _screening_cells(s)
    counts, dens = [], []
    for r in t.itertuples(index=False):
        dims = {} if r.cohort == "all" else {"cohort": r.cohort}
        (cm, cg), (dm, dg) = cells[r.metric]
        counts.append(K("rhis", "graded_rhis", cm, police_grade=cg, **dims))
        dens.append(K("rhis", "graded_rhis", dm, police_grade=dg, **dims))
    derived = _pct_derived(t, counts, dens)
    derived["design_effect"] = derived["pct"]
    pub.add_table(scope, "screening", t, {"count": counts, "denominator": dens}, derived)


SCREENING_CELLS = {"sensitivity": (("{s}", "high"), ("{s}", TOTAL)),
                   "specificity": (("not_{s}", "medium_or_low"), ("not_{s}", TOTAL)),
                   "ppv": (("{s}", "high"), (TOTAL, "high")),
                   "npv": (("not_{s}", "medium_or_low"), (TOTAL, "medium_or_low"))}


def _screening_cells(s: str) -> dict:
    """(measure, grade) of the count and denominator of each screening metric, for serious harm ``s``."""
    return {m: tuple((a.format(s=s), g) for a, g in pair) for m, pair in SCREENING_CELLS.items()}


def _screening_children(pub, scope, K, rt, linkage) -> None:
    """Child level, each child's first in-scope RHI: the grade (high, medium or low) x harm cube of those RHIs."""
    s, pop = linkage.SERIOUS, "first_rhi_children"
    cells = _screening_cells(s)
    first = linkage.first_rhis(rt)
    for grade, part in (("high", first[first["police_risk"] == "high"]),
                        ("medium_or_low", first[first["police_risk"].isin(["medium", "low"])]), (TOTAL, first)):
        pub.store.proportion(K("children", pop, s, police_grade=grade), int(part[s].sum()),
                             K("children", pop, police_grade=grade), len(part))
    for m in (s, "not_" + s, TOTAL):
        pub.store.relate("sum", K("children", pop, m), [K("children", pop, m, police_grade="high"),
                                                         K("children", pop, m, police_grade="medium_or_low")])
    pub.store.relate("sum", K("children", "graded_children"), [K("children", pop)])   # every RHI child, once
    t = linkage.screening(rt, "children", cohorts=False)   # by cohort, a child's first RHI differs by cohort
    counts, dens = [], []
    for r in t.itertuples(index=False):
        (cm, cg), (dm, dg) = cells[r.metric]
        counts.append(K("children", pop, cm, police_grade=cg))
        dens.append(K("children", pop, dm, police_grade=dg))
    pub.add_table(scope, "screening_children", t, {"count": counts, "denominator": dens}, _pct_derived(t, counts, dens))


def _association(pub, scope, K, table, unit, population, name, dim="police_grade", levels=("high", "medium", "low")):
    """Counts of a group x disclosed table are cells; each test rests on its row, the q-values on every row."""
    count_cols, rows_based = {}, []
    for lv in levels:
        count_cols[f"{lv}_count"] = [K(unit, population, o, **{dim: lv}) for o in table["outcome"]]
        count_cols[f"{lv}_denominator"] = [K(unit, population, **{dim: lv}) for _ in table["outcome"]]
    for i, o in enumerate(table["outcome"]):
        for lv in levels:
            c, d = count_cols[f"{lv}_count"][i], count_cols[f"{lv}_denominator"][i]
            pub.store.proportion(c, table.at[i, f"{lv}_count"], d, table.at[i, f"{lv}_denominator"])
        row = tuple(k for lv in levels for k in (count_cols[f"{lv}_count"][i], count_cols[f"{lv}_denominator"][i],
                                                    count_cols[f"{lv}_count"][i].but(measure="not_" + o)))
        if unit == "rhis" and dim == "police_grade":
            # a clustered test is made only when every grade has RHIs of at least five children, and its reason
            # says which do not: it rests on the number of children of each grade too (issue 28)
            row += tuple(K("children", "graded_children", police_grade=lv) for lv in levels)
        rows_based.append(row)
    family = tuple(k for row in rows_based for k in row)
    derived = {c: rows_based for c in ("test_reason", "p_value", "trend_reason", "trend_z", "trend_p_value",
                                       "design_effect", "trend_design_effect")
               if c in table.columns}
    derived.update({c: [family] * len(table) for c in ("q_value_bh", "trend_q_value_bh") if c in table.columns})
    pub.add_table(scope, name, table, count_cols, derived)


def _models(pub, scope, K, ors) -> None:
    """Model sizes are cells; estimates rest on the grade x outcome cells of their outcome."""
    if ors.empty:
        return
    rhis = [K("rhis", "graded_rhis")] * len(ors)
    kids = [K("children", "graded_children")] * len(ors)
    events = [K("rhis", "graded_rhis", o) for o in ors["outcome"]]
    based = []
    grades = ("high", "medium", "low")
    for o, term in zip(ors["outcome"], ors["term"]):
        row = tuple(K("rhis", "graded_rhis", m, police_grade=lv) for lv in grades
                    for m in (o, "not_" + o, TOTAL)) + (K("rhis", "graded_rhis", o), K("children", "graded_children"))
        if str(term).startswith("police_risk="):
            # a grade's row is estimated only when the grade and the reference have at least five children, and its
            # note says when not: it rests on their numbers of children (the reference: any grade without a term)
            level = str(term).split("=", 1)[1]
            named = {str(t).split("=", 1)[1] for oo, t in zip(ors["outcome"], ors["term"])
                     if oo == o and str(t).startswith("police_risk=")}
            row += tuple(K("children", "graded_children", police_grade=lv) for lv in grades
                         if lv == level or lv not in named)
        based.append(row)
    family = tuple(dict.fromkeys(k for row in based for k in row))      # the q-values rest on every model
    columns = ("status", "log_odds", "se", "odds_ratio", "ci_low", "ci_high", "p_value", "df", "note", "warnings",
               "interval_method", "p_value_method", "covariance", "limitation")
    derived = {c: based for c in columns if c in ors.columns}
    derived.update({c: [family] * len(ors) for c in ("q_value_bh", "bh_family") if c in ors.columns})
    pub.add_table(scope, "models_odds_ratios", ors, {"rhis": rhis, "children": kids, "events": events}, derived)


def _hidden_risk(pub, scope, K, h) -> None:
    from analysis.stats.proportions import proportion

    p = proportion(h.disclosed.count, h.disclosed.denominator)
    rows = [{"figure": "children graded medium or low on every episode who disclosed serious harm",
             "count": p.count, "denominator": p.denominator, "pct": p.pct, "ci_low": p.ci_low, "ci_high": p.ci_high},
            {"figure": "RHI children with any episode not graded medium or low (excluded)",
             "count": h.not_all_medium_low, "denominator": h.rhi_children, "pct": None, "ci_low": None, "ci_high": None},
            {"figure": "episodes (all graded medium or low) of the children who disclosed serious harm",
             "count": h.episodes_of_disclosers, "denominator": h.episodes, "pct": None, "ci_low": None, "ci_high": None}]
    table = pd.DataFrame(rows)
    ml, eps = "all_medium_low_children", "episodes_of_all_medium_low_children"
    counts = [K("children", ml, "serious_harm_any"), K("children", "graded_children", "not_all_medium_low"),
              K("episodes", eps, "of_disclosers")]
    dens = [K("children", ml), K("children", "graded_children"), K("episodes", eps)]
    pub.store.proportion(counts[0], rows[0]["count"], dens[0], rows[0]["denominator"])
    pub.store.proportion(counts[2], rows[2]["count"], dens[2], rows[2]["denominator"])
    pub.add_table(scope, "hidden_risk", table, {"count": counts, "denominator": dens}, _pct_derived(table, counts, dens))
    pub.store.relate("sum", dens[1], [counts[1], dens[0]])
    # Episodes of the disclosers are at least one per discloser: analysis.publish.identities


def _grades(pub, scope, K, table, many) -> None:
    counts, dens, kids = [], [], []
    for r in table.itertuples(index=False):
        group = "many" if r.children_group.startswith(str(many)) else "fewer"
        population = f"episodes_of_graded_children_{group}"
        c, d = K("episodes", population, f"graded {r.police_risk}"), K("episodes", population)
        pub.store.proportion(c, r.count, d, r.denominator)
        k = K("children", "graded_children", f"{group}_notified_episodes")
        counts.append(c), dens.append(d), kids.append(k)
    pub.add_table(scope, "grades_by_episode_count", table, {"count": counts, "denominator": dens, "children": kids},
                  _pct_derived(table, counts, dens))
    groups = sorted(set(kids))
    pub.store.relate("sum", K("children", "graded_children"), groups)
    for d in dict.fromkeys(dens):
        pub.store.relate("sum", d, [c for c, dd in zip(counts, dens) if dd == d])
    # episodes of a group are at least (many or 1) per child: analysis.publish.identities


# --- notebook 04: delivery of RHIs -------------------------------------------------------------------

SCORECARD_UNITS = {"children": ("children", "missing_children"), "episodes": ("episodes", "notified_episodes"),
                   "offered": ("episodes", "notified_episodes"), "completed": ("episodes", "notified_episodes"),
                   "repeat": ("episodes", "notified_episodes")}


def scorecard_measure(measure: str) -> tuple[str, str, str]:
    """(unit, population, measure key) of a scorecard row: 'episodes with an RHI offered' -> rhi_offered."""
    words = measure.split()
    unit, population = SCORECARD_UNITS[words[0]]
    if measure in ("episodes", "children missing"):
        return unit, population, TOTAL
    if measure == "episodes with an RHI completed":   # the RHI episodes of the record flow: one cell
        return unit, population, "with_completed_rhi"
    if " with an RHI " in measure:
        return unit, population, "rhi_" + words[-1]
    if measure == "offered episodes declined":
        return unit, population, "offered_declined"
    if "within 72 h" in measure:
        return unit, population, "within_72h_" + ("return" if measure.endswith("return") else "offer")
    if measure == "repeat episodes":
        return unit, population, "repeat"
    return unit, population, measure.replace(" ", "_")


def delivery_tables(pub, scope, K, ds, params) -> None:
    """The delivery indicators (notebook 04), every count a cell; free-text places are not published."""
    from analysis.definitions import kpis

    t = kpis.all_kpis(ds, params, _off())
    card = t["scorecard"]
    counts, dens = [], []
    for r in card.itertuples(index=False):
        unit, population, measure = scorecard_measure(r.measure)
        dims = {} if r.group == "all" else {r.group: "not_recorded" if r.value == "not recorded" else r.value}
        c = K(unit, population, measure, **dims)
        if pd.isna(r.denominator):
            pub.store.add(c, r.count)
            counts.append(c), dens.append(None)
            continue
        du, dp, dm = scorecard_measure(_denominator_measure(r.measure))
        d = K(du, dp, dm, **dims)
        if "within 72 h" in r.measure:   # over the completed episodes whose clock is known
            timed = K(du, dp, f"{dm}_timed_{measure.rsplit('_', 1)[-1]}", **dims)
            pub.store.relate("le", d, [timed])
            d = timed
        pub.store.proportion(c, r.count, d, int(r.denominator))
        counts.append(c), dens.append(d)
    pub.add_table(scope, "delivery_scorecard", card, {"count": counts, "denominator": dens},
                  _pct_derived(card, counts, dens))
    pub.store.relate("sum", K("children", "missing_children"), [K("children", "notified_children")])
    _timeliness(pub, scope, K, t["timeliness"], t["time_to_interview"])
    for name, column in (("decline_reasons", "reason"), ("follow_up", "follow_up")):
        _category_table(pub, scope, K, t[name], column, f"delivery_{name}", "rhis", f"{name}_rhis")
    _monthly(pub, scope, K, t["monthly"])


def _denominator_measure(measure: str) -> str:
    if measure.startswith("children"):
        return "children missing"
    if measure == "offered episodes declined":
        return "episodes with an RHI offered"
    if measure.startswith("completed episodes"):
        return "episodes with an RHI completed"
    return "episodes"


def _with_rest(pub, total, parts, values) -> None:
    """Categories of a total: total = the parts + the rest (a cell no output shows), where the rest is not negative."""
    rest = int(pub.store.values[total]) - sum(int(v) for v in values)
    if rest >= 0:
        r = total.but(measure=(total.measure + ": " if total.measure != TOTAL else "") + "remainder not shown")
        pub.store.add(r, rest)
        pub.store.relate("sum", total, list(parts) + [r])


def _category_table(pub, scope, K, table, column, name, unit, population) -> None:
    counts = [K(unit, population, str(v)) for v in table[column]]
    den = K(unit, population)
    for c, r in zip(counts, table.itertuples(index=False)):
        pub.store.proportion(c, r.count, den, int(r.denominator))
    dens = [den] * len(table)
    pub.add_table(scope, name, table, {"count": counts, "denominator": dens}, _pct_derived(table, counts, dens))
    if len(table):
        _with_rest(pub, den, counts, table["count"])


def _timeliness(pub, scope, K, timeliness, spread) -> None:
    counts, dens = [], []
    for r in timeliness.itertuples(index=False):
        population = "timed_from_return" if "return" in r.clock else "timed_from_offer"
        c, d = K("rhis", population, "within_72h"), K("rhis", population)
        pub.store.proportion(c, r.within_72h_count, d, int(r.within_72h_denominator))
        counts.append(c), dens.append(d)
    # The median and quartiles say how many RHIs lie in the hour bands on either side of them: they rest on the
    # bands as well as on the RHIs timed (the bands are published at the levels that publish this table).
    bands = {d: tuple(K("rhis", d.population, f"hours {h}") for h in spread["hours"])
             if pub.wants(scope, "delivery_time_to_interview") else () for d in dens}
    based = [(d,) + bands[d] for d in dens]
    pct = [(c, d) for c, d in zip(counts, dens)]
    pub.add_table(scope, "delivery_timeliness", timeliness,
                  {"rhis_timed": dens, "within_72h_count": counts, "within_72h_denominator": dens},
                  {"median_hours": based, "quartiles_hours": based, "within_72h_pct": pct,
                   "within_72h_ci_low": pct, "within_72h_ci_high": pct})
    if not pub.wants(scope, "delivery_time_to_interview"):
        return
    cols = {}
    for column, population in (("from_return", "timed_from_return"), ("from_offer", "timed_from_offer")):
        keys = [K("rhis", population, f"hours {h}") for h in spread["hours"]]
        for k, v in zip(keys, spread[column]):
            pub.store.add(k, v)
        cols[column] = keys
        if K("rhis", population) in pub.store.values:
            _with_rest(pub, K("rhis", population), keys, spread[column])
    pub.add_table(scope, "delivery_time_to_interview", spread, cols)


def _monthly(pub, scope, K, table) -> None:
    cols, derived = {}, {}
    measures = {"episodes": TOTAL, "offered_count": "rhi_offered", "completed_count": "with_completed_rhi",
                "within_72h_count": "within_72h_return"}
    for column, measure in measures.items():
        keys = [K("episodes", "notified_episodes", measure, month=m) for m in table["month"]]
        for k, v in zip(keys, table[column]):
            pub.store.add(k, v)
        cols[column] = keys
        total = K("episodes", "notified_episodes", measure)
        if total in pub.store.values:
            _with_rest(pub, total, keys, table[column])
    for pct, (num, den) in {"offered_pct": ("offered_count", "episodes"),
                            "completed_pct": ("completed_count", "episodes"),
                            "within_72h_pct": ("within_72h_count", "completed_count")}.items():
        derived[pct] = list(zip(cols[num], cols[den]))
        for a, b in zip(cols[num], cols[den]):   # a month's count over its base: the complement is a cell too
            rest = a.but(measure="not_" + a.measure)
            pub.store.add(rest, pub.store.values[b] - pub.store.values[a])
            pub.store.relate("sum", b, [a, rest])
    pub.add_table(scope, "delivery_monthly", table, cols, derived)
