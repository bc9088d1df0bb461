"""Build a run's publication: every scope's tables, then one suppression for all of them."""

from __future__ import annotations

from dataclasses import replace

from analysis.disclosure import Disclosure
from analysis.publish.cells import ALL_SCOPE
from analysis.publish.publication import Publication
from analysis.publish.tables import register_compare, register_scope


def build_publication(ds, params, scopes, control: Disclosure, progress: bool = False,
                      compare: bool = False, unavailable=()) -> Publication:
    """The publication of a run over ``scopes`` (authority codes and/or ``all``), suppressed once.

    With ``compare``, the comparison across authorities (scope ``compare``) is
    registered too: it shows the authorities' own cells, so it can never
    disagree with their reports. ``unavailable`` names the contract fields the
    dataset's source does not hold (its import report): cells resting on them
    are published as 'x', not 0 (see :mod:`analysis.publish.availability`).
    """
    from tqdm import tqdm

    from analysis.timing import stage

    pub = Publication(control, (params.period_start, params.period_end), unavailable)
    for scope in tqdm(list(scopes), desc="tables", unit="scope", disable=not progress):
        with stage("publication: tables"):
            if scope == ALL_SCOPE:
                register_scope(pub, scope, ds, replace(params, la_code=None))
            else:
                register_scope(pub, scope, ds.subset_la(scope), replace(params, la_code=scope))
    with stage("publication: tables"):
        if compare:
            register_compare(pub, ds, params, [s for s in scopes if s != ALL_SCOPE])
        _zero_fill(pub, scopes)
    pub.finish()
    return pub


def tables_of(pub: Publication, scope: str) -> dict:
    """Every table of one scope as published."""
    return {name: pub.table(s, name) for s, name in sorted(pub.tables) if s == scope}


def _zero_fill(pub: Publication, scopes) -> None:
    """Exclusions a scope's record flow leaves out because they are 0 are cells of value 0 there."""
    store = pub.store
    for k in list(store.values):
        if k.measure.startswith("excluded: "):
            for scope in scopes:
                store.values.setdefault(k.but(scope=scope), 0)
