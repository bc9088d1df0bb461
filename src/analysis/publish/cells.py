"""The cells of a run's publication, and the relations between them.

A cell is one count. Its key says where (``scope``: an authority's GSS code,
or ``all``), what is counted (``unit``: episodes, rhis, children), of which
population (``population``: e.g. ``rhi_children``), which ``measure`` (the
population's size is ``Total``; an indicator such as ``cse_victim`` and its
complement ``not_cse_victim``) and its breakdowns (police grade, cohort, ...;
``Total`` where not broken down). A quantity shown in two tables has one key,
so it is one cell with one value and one suppression status everywhere.

Relations hold for the true counts and are declared so that the suppression
protects against them and readers can check it (``rhi audit-disclosure``):

- breakdowns: a breakdown's ``Total`` is the sum of its levels where the
  levels split the unit (an RHI has one police grade), or ``overlap`` where
  they may share members (a child with RHIs of two grades): Total <= the sum,
  each level <= Total;
- subtotals: ``medium_or_low`` = medium + low;
- complements: a count and its complement add up to the population;
- geography: ``all`` = the sum over authorities for episodes (an episode has
  one authority), ``overlap`` for RHIs and children (an RHI may address
  episodes of two authorities), and only ``le`` (each authority <= all) for
  counts of rows read, which may belong to no authority;
- explicit ones registered by a table (a flow stage = the next stage plus the
  exclusions between them; a grand total = the sum of a two-way table).

Every relation is checked against the true counts when the publication is
finished: a relation that does not hold is a bug, never published.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace

from analysis import vocab

TOTAL = "Total"
ALL_SCOPE = "all"
# Breakdown columns, in the order they are written.
BREAKDOWNS = ("police_grade", "cohort", "age_band", "sex", "setting", "episode_number", "episodes_per_child", "month")
# The levels of each breakdown that together make its Total.
LEVELS = {
    "police_grade": ("high", "medium", "low"),
    "cohort": vocab.COHORTS,
    "age_band": vocab.AGE_BANDS,
    "sex": tuple(sorted(set(vocab.SEX.values()))),
    "setting": tuple(vocab.MISSING_FROM) + ("not_recorded",),
    "episode_number": ("1", "2-4", "5-14", "15+"),
    "episodes_per_child": ("1", "2-4", "5-14", "15+"),
    "month": (),   # months of the period vary: their relation to the total is declared by the table
}
# Where a population has other levels than the default (risk-coded episodes may be graded no apparent risk).
LEVELS_OF = {("police_grade", "risk_coded_episodes"): ("high", "medium", "low", "no_apparent_risk")}
SUBTOTALS = {"police_grade": {"medium_or_low": ("medium", "low")}}
# Units whose members have exactly one level of the breakdown (so the levels add up to the Total).
PARTITIONED = {
    "police_grade": {"episodes", "rhis"},
    "cohort": {"episodes", "rhis"},
    "age_band": {"episodes", "rhis"},
    "sex": {"episodes", "rhis", "children"},
    "setting": {"episodes"},
    "episode_number": {"rhis"},
    "episodes_per_child": {"children", "episodes"},
    "month": {"episodes"},
}
# Populations whose members need not belong to any authority (rows read): only each authority <= all.
UNANCHORED = {"rows_read"}


@dataclass(frozen=True, order=True)
class Key:
    scope: str
    unit: str
    population: str
    measure: str = TOTAL
    dims: tuple = (TOTAL,) * len(BREAKDOWNS)

    def get(self, dim: str) -> str:
        return self.dims[BREAKDOWNS.index(dim)]

    def but(self, **changes) -> "Key":
        """The same key with some fields or breakdowns changed."""
        dims = list(self.dims)
        for name in list(changes):
            if name in BREAKDOWNS:
                dims[BREAKDOWNS.index(name)] = changes.pop(name)
        return replace(self, dims=tuple(dims), **changes)

    def at(self, i: int, level: str) -> "Key":
        """The same key at ``level`` of breakdown number ``i`` (``but`` for one breakdown, without its checks:
        the relations of a national run make millions of these)."""
        return Key(self.scope, self.unit, self.population, self.measure, self.dims[:i] + (level,) + self.dims[i + 1:])

    def of_scope(self, scope: str) -> "Key":
        return Key(scope, self.unit, self.population, self.measure, self.dims)


def key(scope: str, unit: str, population: str, measure: str = TOTAL, **dims) -> Key:
    unknown = set(dims) - set(BREAKDOWNS)
    if unknown:
        raise ValueError(f"unknown breakdown(s): {', '.join(sorted(unknown))}")
    return Key(scope, unit, population, measure, tuple(str(dims.get(d, TOTAL)) for d in BREAKDOWNS))


@dataclass(frozen=True)
class Relation:
    kind: str            # "sum", "overlap" or "le"
    total: Key
    parts: tuple[Key, ...]


class PublicationError(RuntimeError):
    """An internal inconsistency (two values for one cell, a relation that does not hold): a bug."""


@dataclass
class CellStore:
    """Every cell of a run with its true value, where it is shown, and the relations between cells."""

    values: dict = field(default_factory=dict)
    shown_in: dict = field(default_factory=lambda: defaultdict(set))
    explicit: list = field(default_factory=list)
    together: list = field(default_factory=list)   # groups of cells hidden together (non-linear links)

    def add(self, k: Key, value, where: str | None = None) -> Key:
        value = int(value)
        if value < 0:
            raise PublicationError(f"negative count {value} for {k}")
        old = self.values.setdefault(k, value)
        if old != value:
            raise PublicationError(f"two values for one cell ({old} and {value}): {k}")
        if where:
            self.shown_in[k].add(where)
        return k

    def proportion(self, count_key: Key, count, den_key: Key, den, where: str | None = None) -> None:
        """A count over its population: both cells, the complement, and count + complement = population."""
        self.add(count_key, count, where)
        self.add(den_key, den, where)
        rest = count_key.but(measure=complement(count_key.measure))
        self.add(rest, int(den) - int(count))
        self.relate("sum", den_key, [count_key, rest])

    def relate(self, kind: str, total: Key, parts) -> None:
        if kind not in ("sum", "overlap", "le"):
            raise ValueError(kind)
        self.explicit.append(Relation(kind, total, tuple(parts)))

    def hide_together(self, keys) -> None:
        """Cells tied by a relation that is not linear (band 2-4: episodes >= 2 x children): hidden together."""
        self.together.append(tuple(keys))

    # --- relations ------------------------------------------------------------------------------

    def relations(self) -> list[Relation]:
        """Explicit relations, then those implied by breakdowns, subtotals and geography; each checked."""
        out = list(dict.fromkeys(self.explicit))
        present = self.values
        scopes = sorted({k.scope for k in present if k.scope != ALL_SCOPE})
        geography = []
        for k in present:
            for i, dim in enumerate(BREAKDOWNS):
                level = k.dims[i]
                if level == TOTAL and LEVELS[dim]:
                    levels = LEVELS_OF.get((dim, k.population), LEVELS[dim])
                    if k.at(i, levels[0]) in present:   # most totals are not broken down: one look decides
                        parts = [k.at(i, lv) for lv in levels]
                        if all(p in present for p in parts):
                            if k.unit in PARTITIONED[dim]:
                                out.append(Relation("sum", k, tuple(parts)))
                            elif monotone(k.measure):   # "has no X at any RHI" is not: no overlap relation
                                out.append(Relation("overlap", k, tuple(parts)))
                for name, members in SUBTOTALS.get(dim, {}).items():
                    if level == name:
                        parts = [k.at(i, lv) for lv in members]
                        if all(p in present for p in parts) and (k.unit in PARTITIONED[dim] or monotone(k.measure)):
                            out.append(Relation("sum" if k.unit in PARTITIONED[dim] else "overlap", k, tuple(parts)))
            if k.scope == ALL_SCOPE and scopes:
                if k.of_scope(scopes[0]) in present:
                    parts = tuple(k.of_scope(s) for s in scopes)
                    if all(p in present for p in parts):
                        geography.append((k, parts))
        out = list(dict.fromkeys(out))
        out += self._geography(geography)
        out.sort(key=lambda r: (r.total, r.kind, r.parts))   # the same relations in the same order, every run
        bad = [r for r in out if not holds(r, present)]
        if bad:
            raise PublicationError(f"{len(bad)} declared relation(s) do not hold, e.g. {describe(bad[0], present)}")
        return out


    def _geography(self, pairs) -> list[Relation]:
        """All authorities against each authority: the strongest relation that holds.

        An episode has one authority (sum). An RHI or a child may count in two
        (overlap). Some counts are defined within the scope (a child's number
        of episodes, the most involved status), so a child can be in a band
        overall and in another in each authority: there only "each authority
        <= all" may hold, or nothing, and only what holds is declared.
        """
        out = []
        for total, parts in pairs:
            kinds = ("le",) if total.population in UNANCHORED else ("sum", "overlap", "le")
            for kind in kinds:
                r = Relation(kind, total, parts)
                if holds(r, self.values):
                    out.append(r)
                    break
        return out


# Counts of a member's own pattern within a group (3 episodes in 90 days, 2 or more episodes): a child can
# have it overall and in no single group, so levels that overlap give no relation for them.
WITHIN_GROUP = {"children_with_3_or_more_episodes_in_90_days", "missing_2_plus", "more_than_one_rhi",
                "in_several_cohorts"}


def monotone(measure: str) -> bool:
    """Whether a member counted in a level is counted in the Total too (false for complements and patterns)."""
    return not measure.startswith("not_") and measure not in WITHIN_GROUP


def complement(measure: str) -> str:
    return "not_" + measure if measure != TOTAL else "outside"


def holds(r: Relation, values: dict) -> bool:
    total = values[r.total]
    parts = [values[p] for p in r.parts]
    if r.kind == "sum":
        return total == sum(parts)
    if r.kind == "overlap":
        return total <= sum(parts) and all(p <= total for p in parts)
    return all(p <= total for p in parts)


def describe(r: Relation, values: dict) -> str:
    return (f"{r.kind}: {r.total} = {values[r.total]} against parts "
            + ", ".join(f"{p.measure}/{'/'.join(p.dims)}@{p.scope}={values[p]}" for p in r.parts))
