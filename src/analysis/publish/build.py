"""Build a run's publication: every scope's tables, then one suppression for all of them."""

from __future__ import annotations

from dataclasses import replace

from analysis.disclosure import Disclosure
from analysis.publish.cells import ALL_SCOPE
from analysis.publish.identities import declare as declare_identities
from analysis.publish.publication import Publication
from analysis.publish.tables import register_compare, register_scope


def build_publication(ds, params, scopes, control: Disclosure, progress: bool = False,
                      compare: bool = False, unavailable=(), jobs: int = 1) -> Publication:
    """The publication of a run over ``scopes`` (authority codes and/or ``all``), suppressed once.

    With ``compare``, the comparison across authorities (scope ``compare``) is
    registered too: it shows the authorities' own cells, so it can never
    disagree with their reports. ``unavailable`` names the contract fields the
    dataset's source does not hold (its import report): cells resting on them
    are published as 'x', not 0 (see :mod:`analysis.publish.availability`).
    With ``jobs`` > 1 the scopes' tables are computed in that many forked
    processes and merged in scope order: the same publication as one process.
    """
    from tqdm import tqdm

    from analysis.timing import stage

    pub = Publication(control, (params.period_start, params.period_end), unavailable, params.risk_levels)
    scopes = list(scopes)
    bar = tqdm(total=len(scopes), desc="tables", unit="scope", disable=not progress)
    with stage("publication: tables"):
        if jobs > 1 and len(scopes) > 1:
            _register_in_parallel(pub, ds, params, scopes, jobs, bar)
        else:
            for scope in scopes:
                _register(pub, ds, params, scope)
                bar.update(1)
        bar.close()
        if compare:
            register_compare(pub, ds, params, [s for s in scopes if s != ALL_SCOPE])
        _zero_fill(pub, scopes)
        declare_identities(pub.store, scopes, params.risk_levels)
    pub.finish()
    return pub


def _register(pub: Publication, ds, params, scope: str) -> None:
    if scope == ALL_SCOPE:
        register_scope(pub, scope, ds, replace(params, la_code=None))
    else:
        register_scope(pub, scope, ds.subset_la(scope), replace(params, la_code=scope))


_FORKED: dict = {}   # what forked workers inherit: the dataset is never pickled


def _register_in_parallel(pub: Publication, ds, params, scopes, jobs: int, bar) -> None:
    """Each scope's tables in a forked worker; merged in ``scopes`` order, so the cells, relations and tables are
    those one process would make (a cell given two values by two scopes raises, as in one process)."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    from analysis import timing

    _FORKED.update(ds=ds, params=params, control=pub.control, period=pub.period, unavailable=pub.unavailable)
    sizes = ds.episodes["la_code"].value_counts()
    order = sorted(scopes, key=lambda s: -(len(ds.episodes) if s == ALL_SCOPE else int(sizes.get(s, 0))))
    parts = {}
    try:
        with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("fork")) as pool:
            for scope, fragment, stages in pool.map(_register_fragment, order):   # biggest first: better packing
                parts[scope] = fragment
                timing.absorb({f"{k} (summed over workers)": v for k, v in stages.items()})
                bar.update(1)
    finally:
        _FORKED.clear()
    for scope in scopes:
        _merge(pub, parts.pop(scope))


def _register_fragment(scope: str):
    from analysis import timing

    timing.take()
    part = Publication(_FORKED["control"], _FORKED["period"], _FORKED["unavailable"])
    _register(part, _FORKED["ds"], _FORKED["params"], scope)
    store = part.store
    return scope, (store.values, dict(store.shown_in), store.explicit, part.tables, part.years), timing.take()


def _merge(pub: Publication, fragment) -> None:
    values, shown_in, explicit, tables, years = fragment
    store = pub.store
    for k, value in values.items():
        store.add(k, value)
    for k, where in shown_in.items():
        store.shown_in[k].update(where)
    store.explicit.extend(explicit)
    pub.tables.update(tables)
    pub.years.update(years)


def tables_of(pub: Publication, scope: str) -> dict:
    """Every table of one scope as published."""
    return {name: pub.table(s, name) for s, name in sorted(pub.tables) if s == scope}


def _zero_fill(pub: Publication, scopes) -> None:
    """Exclusions a scope's record flow leaves out because they are 0 are cells of value 0 there."""
    store = pub.store
    done = set()   # an exclusion met again in another scope would only find its cells there already
    for k in list(store.values):
        if k.measure.startswith("excluded: "):
            other = k.but(scope=ALL_SCOPE)
            if other in done:
                continue
            done.add(other)
            for scope in scopes:
                store.values.setdefault(k.but(scope=scope), 0)
