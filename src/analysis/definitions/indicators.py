"""Prevalence of disclosed indicators among RHI children, overall and by cohort.

Definition (contract, section 3): child-level prevalence = RHI children with
the indicator recorded at any of their in-scope RHIs, over RHI children;
cohort prevalence = children in the cohort with the indicator recorded at an
in-scope RHI of that cohort, over children in the cohort. Each row carries
count, denominator, percentage and a 95% Wilson interval.
"""

from __future__ import annotations

import pandas as pd

from analysis import vocab
from analysis.disclosure import Disclosure, suppress_counts
from analysis.definitions.populations import Populations
from analysis.stats.proportions import wilson_arrays

GROUP_OF = {i: g for g, members in vocab.INDICATOR_GROUPS.items() for i in members}
GROUP_OF.update({d: "CSE red flags" for d in vocab.DERIVED_INDICATORS})


def _with_intervals(frame: pd.DataFrame) -> pd.DataFrame:
    low, high = wilson_arrays(frame["count"], frame["denominator"])
    frame["pct"] = (100 * frame["count"] / frame["denominator"].where(frame["denominator"] > 0)).astype(float)
    frame["ci_low"], frame["ci_high"] = 100 * low, 100 * high
    return frame


def prevalence_table(pop: Populations, indicators=None) -> pd.DataFrame:
    """Long table: indicator, group, cohort ('all' or a cohort), count, denominator, pct, ci_low, ci_high."""
    indicators = list(indicators or (list(pop.ds.indicators) + list(vocab.DERIVED_INDICATORS)))
    overall = pop.child_indicators
    rows = [{"indicator": i, "cohort": "all", "count": int(overall[i].sum()), "denominator": len(overall)}
            for i in indicators]
    by_cohort = pop.cohort_indicators
    cohort_level = by_cohort.index.get_level_values("cohort") if len(by_cohort) else pd.Index([])
    for cohort in vocab.COHORTS:
        members = by_cohort[cohort_level == cohort]
        rows += [{"indicator": i, "cohort": cohort, "count": int(members[i].sum()), "denominator": len(members)}
                 for i in indicators]
    table = pd.DataFrame(rows)
    table.insert(1, "group", table["indicator"].map(GROUP_OF).fillna("declared"))
    return _with_intervals(table)


def suppress_prevalence(table: pd.DataFrame, control: Disclosure) -> pd.DataFrame:
    """Disclosure control on a prevalence table: small counts and what is built on them become 'c'."""
    out = suppress_counts(table, ["count"], control, linked={"count": ["pct", "ci_low", "ci_high"]})
    small_den = suppress_counts(table, ["denominator"], control,
                                linked={"denominator": ["count", "pct", "ci_low", "ci_high"]})
    mask = small_den["denominator"] == "c"
    out.loc[mask] = small_den.loc[mask]
    # The complement (denominator - count) is as disclosive as the count.
    rest = table["denominator"] - table["count"]
    complement = (rest > 0) & (rest < control.min_cell) if control.suppress else rest != rest
    out.loc[complement, ["count", "pct", "ci_low", "ci_high"]] = "c"
    return out
