"""Profiles of the in-scope episodes: age and sex, and how often children went missing.

- age and sex: in-scope episodes by the study's age bands (age in whole years
  at missing_start) and the child's sex;
- repeat missing: children by the number of in-scope episodes they had in the
  period, in bands 1, 2-4, 5-14, 15+ (the study's heavy tail), with the
  episodes those children account for.
"""

from __future__ import annotations

import pandas as pd

from analysis import vocab
from analysis.definitions.populations import Populations

EPISODE_BANDS = ("1", "2-4", "5-14", "15+")


def episode_band(n: pd.Series) -> pd.Series:
    """Band a count of episodes: 1, 2-4, 5-14, 15+."""
    return pd.cut(n, bins=[0, 1, 4, 14, float("inf")], labels=list(EPISODE_BANDS)).astype(object)


def age_sex_profile(pop: Populations) -> pd.DataFrame:
    """In-scope episodes by age band and sex (all bands and sexes present, zeros included)."""
    prof = pop.in_scope_profile
    table = prof.groupby(["age_band", "sex"]).size().rename("episodes")
    index = pd.MultiIndex.from_product([list(vocab.AGE_BANDS), sorted(set(vocab.SEX.values()))],
                                       names=["age_band", "sex"])
    return table.reindex(index, fill_value=0).reset_index()


def repeat_missing_profile(pop: Populations) -> pd.DataFrame:
    """Children and their in-scope episodes by band of episodes per child."""
    per_child = pop.in_scope.groupby("child_id").size()
    banded = pd.DataFrame({"episodes": per_child, "band": episode_band(per_child)})
    table = banded.groupby("band").agg(children=("episodes", "size"), episodes=("episodes", "sum"))
    return table.reindex(list(EPISODE_BANDS), fill_value=0).rename_axis("episodes_per_child").reset_index()
