"""Several reporting years of the synthetic study, with an optional planted change (``rhi synth --years N``).

Each year is the calibrated study (``analysis.synth.study``, its own seed drawn
from the main one), moved into one DfE reporting year (1 April to 31 March):
the last year is 2017-18, the study's own, and the earlier years precede it.
Within a year every child's whole record (date of birth, episodes, RHIs) moves
by the same number of days, chosen per child from 0 to 91 days earlier, so
the study's nine months (July to March) fill the twelve of the year and every
age, duration and order within a child's record is kept.

The calibrated study allocates counts exactly, so every year would show the
same numbers and no test could ever be wrong under "no change". For years to
vary as real ones do, each indicator is redrawn in every year: within each
cohort (of the child's first in-scope RHI), the number of RHI children with
the indicator is drawn from a binomial distribution with the calibrated
proportion, and children gain or lose the indicator at random to meet it.
``plant`` multiplies that proportion in the last year (``cce_victim: 1.8``
makes CCE disclosure 1.8 times as likely), capped at 1. Only disclosures vary
between years; every other figure repeats the calibrated count, so its
change test finds exactly no difference.

Children, episodes and RHIs of different years are different records (ids
carry the year), unlike real data where a child may go missing in several
years; ``rhi trends`` states what that means for its intervals.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from analysis import vocab

LAST_YEAR_START = date(2017, 4, 1)     # the study's own reporting year, 2017-18
STUDY_START = date(2017, 7, 1)
MAX_YEARS = 8                          # earlier years would put dates of birth before 1990, which validation refuses
IN_SCOPE = ("medium", "low")


def parse_plant(items) -> dict[str, float]:
    """``["cce_victim:1.8", ...]`` -> {"cce_victim": 1.8}; a clear error for anything else."""
    out: dict[str, float] = {}
    for item in items or ():
        name, sep, factor = str(item).partition(":")
        name = name.strip()
        if not sep or name not in vocab.INDICATORS:
            derived = (f" ({name} is derived from others; plant one of its parts)"
                       if name in vocab.DERIVED_INDICATORS else "")
            raise ValueError(f"--plant {item!r}: expected INDICATOR:FACTOR with an indicator of the vocabulary, "
                             f"e.g. cce_victim:1.8{derived}")
        try:
            value = float(factor)
        except ValueError:
            value = -1.0
        if not (value >= 0 and np.isfinite(value)):
            raise ValueError(f"--plant {item!r}: the factor must be a number of 0 or more")
        out[name] = value
    return out


def _shift_text(values: pd.Series, days: pd.Series, fmt: str) -> pd.Series:
    """Text timestamps moved by whole days (blank stays blank)."""
    parsed = pd.to_datetime(values.replace("", pd.NA), format=fmt)
    moved = parsed + pd.to_timedelta(days.to_numpy(), unit="D")
    return moved.dt.strftime(fmt).fillna("")


def _child_cohorts(tables: dict[str, pd.DataFrame], in_scope: pd.DataFrame) -> pd.Series:
    """Cohort of each RHI child: that of its first in-scope RHI (RHI legal status, else its earliest episode's)."""
    eps = tables["episodes"].set_index("episode_id")
    first_ep = (in_scope.assign(start=in_scope["episode_id"].map(eps["missing_start"]))
                .sort_values(["start", "episode_id"]).drop_duplicates("rhi_id").set_index("rhi_id")["episode_id"])
    rhis = tables["rhis"].set_index("rhi_id")
    rhi_ids = in_scope["rhi_id"].drop_duplicates()
    status = rhis.loc[rhi_ids, "legal_status"].replace("", pd.NA)
    status = status.fillna(rhi_ids.set_axis(rhi_ids).map(first_ep).map(eps["legal_status"]).replace("", pd.NA))
    cohort = status.map(vocab.COHORT_OF_LEGAL_STATUS).fillna("not_known")
    order = rhis.loc[rhi_ids, ["completed_at", "child_id"]].assign(cohort=cohort).sort_values(["completed_at"])
    return order.drop_duplicates("child_id").set_index("child_id")["cohort"]


def redraw_disclosures(tables: dict[str, pd.DataFrame], rng, factors: dict[str, float] | None = None) -> pd.DataFrame:
    """The disclosures table with each indicator's RHI children redrawn per cohort (binomial), times ``factors``."""
    factors = factors or {}
    rhis, eps, links = tables["rhis"], tables["episodes"], tables["rhi_episodes"]
    completed = set(rhis.loc[rhis["status"] == "completed", "rhi_id"])
    scope_eps = set(eps.loc[eps["police_risk"].isin(IN_SCOPE), "episode_id"])
    in_scope = links[links["rhi_id"].isin(completed) & links["episode_id"].isin(scope_eps)]
    child_of = rhis.set_index("rhi_id")["child_id"]
    scope_rhis = in_scope["rhi_id"].drop_duplicates()
    rhis_of = scope_rhis.groupby(scope_rhis.map(child_of)).apply(sorted).to_dict()
    cohorts = _child_cohorts(tables, in_scope)
    disc = tables["disclosures"]
    at_scope = disc["rhi_id"].isin(set(scope_rhis))
    holders_of = disc[at_scope].assign(child=disc.loc[at_scope, "rhi_id"].map(child_of)).groupby("indicator")["child"]
    holders_of = {k: set(v) for k, v in holders_of}
    drop = pd.Series(False, index=disc.index)
    added = []
    for indicator in vocab.INDICATORS:
        holders = holders_of.get(indicator, set())
        for cohort in vocab.COHORTS:
            kids = sorted(cohorts.index[cohorts == cohort])
            if not kids:
                continue
            have = [k for k in kids if k in holders]
            p = min(1.0, len(have) / len(kids) * factors.get(indicator, 1.0))
            target = int(rng.binomial(len(kids), p))
            if target > len(have):
                lacking = [k for k in kids if k not in holders]
                for kid in sorted(rng.choice(lacking, size=target - len(have), replace=False)):
                    own = rhis_of[kid]
                    added.append((own[int(rng.integers(len(own)))], indicator, ""))
            elif target < len(have):
                gone = set(rng.choice(have, size=len(have) - target, replace=False))
                gone_rhis = {r for kid in gone for r in rhis_of[kid]}
                drop |= (disc["indicator"] == indicator) & disc["rhi_id"].isin(gone_rhis)
    out = pd.concat([disc[~drop], pd.DataFrame(added, columns=["rhi_id", "indicator", "note"])], ignore_index=True)
    return out.sort_values(["rhi_id", "indicator"], kind="stable").reset_index(drop=True)


def move_into_year(tables: dict[str, pd.DataFrame], years_before: int, tag: str, rng) -> dict[str, pd.DataFrame]:
    """One study year moved ``years_before`` reporting years earlier, each child by 0-91 more days; ids tagged."""
    first = date(LAST_YEAR_START.year - years_before, 4, 1)
    base = (first - LAST_YEAR_START).days
    children = tables["children"]
    spread = (STUDY_START - LAST_YEAR_START).days
    days = pd.Series(base - rng.integers(0, spread + 1, size=len(children)), index=children["child_id"].to_numpy())
    out = {name: frame.copy() for name, frame in tables.items()}
    stamp = "%Y-%m-%d %H:%M"
    out["children"]["date_of_birth"] = _shift_text(children["date_of_birth"], children["child_id"].map(days),
                                                   "%Y-%m-%d")
    for col in ("missing_start", "missing_end"):
        out["episodes"][col] = _shift_text(tables["episodes"][col], tables["episodes"]["child_id"].map(days), stamp)
    for col in ("offered_at", "completed_at"):
        out["rhis"][col] = _shift_text(tables["rhis"][col], tables["rhis"]["child_id"].map(days), stamp)
    for name, cols in {"children": ("child_id",), "episodes": ("episode_id", "child_id"),
                       "rhis": ("rhi_id", "child_id"), "rhi_episodes": ("rhi_id", "episode_id"),
                       "disclosures": ("rhi_id",)}.items():
        for col in cols:
            out[name][col] = tag + out[name][col]
    return out


def generate_study_years(seed: int, years: int, plant: dict[str, float] | None = None, make_year=None
                         ) -> dict[str, pd.DataFrame]:
    """``years`` reporting years of the synthetic study ending 31 March 2018, the last with ``plant`` applied.

    ``make_year(seed)`` makes one year's tables (default: the calibrated study);
    tests may pass a cheaper one.
    """
    from analysis.synth.study import generate_study

    if not 2 <= years <= MAX_YEARS:
        raise ValueError(f"--years {years}: the study scale takes 2 to {MAX_YEARS} years (1 is the study itself; "
                         "earlier years would put dates of birth before 1990)")
    make_year = make_year or generate_study
    plant = dict(plant or {})
    parts = []
    for k in range(years):
        year_seed = int(np.random.SeedSequence([seed, k]).generate_state(1)[0])
        rng = np.random.default_rng([seed, k, 1])
        tables = {name: frame.copy() for name, frame in make_year(year_seed).items()}
        last = k == years - 1
        tables["disclosures"] = redraw_disclosures(tables, rng, plant if last else None)
        parts.append(move_into_year(tables, years - 1 - k, f"Y{k + 1}", rng))
    return {name: pd.concat([p[name] for p in parts], ignore_index=True).astype(str) for name in parts[0]}


def describe(years: int, plant: dict[str, float]) -> str:
    text = (f"three fictitious local authorities over {years} DfE reporting years ending 31 March 2018; each year "
            "is the calibrated study of 'A Safer Return' moved into its year, with every disclosure redrawn per "
            "year (binomial around the calibrated count)")
    if plant:
        text += "; planted in the last year: " + ", ".join(f"{k} x{v:g}" for k, v in sorted(plant.items()))
    return text
