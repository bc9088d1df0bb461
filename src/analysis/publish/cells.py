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
SUBTOTALS = {"police_grade": {"medium_or_low": ("medium", "low")},
             "age_band": {"13 or under": ("10 or under", "11-13"), "14-17": ("14-16", "17")}}
# Coarse levels that also make a breakdown's Total (each a subtotal above, or a level of its own).
COARSE = {"police_grade": ("high", "medium_or_low"), "age_band": ("13 or under", "14-17")}
COARSE_OF = {("police_grade", "risk_coded_episodes"): ("high", "medium_or_low", "no_apparent_risk")}
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


# Kinds of relation (``holds`` says what each means):
# sum: total = sum of parts; overlap: total <= sum of parts and each part <= total; le: each part <= total;
# le_sum: sum of parts <= total (a sum with some parts not published); linear: sum of coefficient x cell <= 0
# over the total and the parts (bounds that are not sums, such as "episodes >= 15 x children" in a band).
KINDS = ("sum", "overlap", "le", "le_sum", "linear")


@dataclass(frozen=True, order=True)
class Relation:
    kind: str
    total: Key
    parts: tuple[Key, ...]
    coefficients: tuple[int, ...] = ()   # linear only: one per cell, the total's first

    def cells(self) -> tuple[Key, ...]:
        return (self.total, *self.parts)


class PublicationError(RuntimeError):
    """An internal inconsistency (two values for one cell, a relation that does not hold): a bug."""


@dataclass
class CellStore:
    """Every cell of a run with its true value, where it is shown, and the relations between cells."""

    values: dict = field(default_factory=dict)
    shown_in: dict = field(default_factory=lambda: defaultdict(set))
    explicit: list = field(default_factory=list)

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
        if kind not in KINDS or kind == "linear":
            raise ValueError(kind)
        self.explicit.append(Relation(kind, total, tuple(parts)))

    def bound(self, terms) -> None:
        """A linear bound ``sum(coefficient x cell) <= 0`` over ``terms`` [(key, coefficient)], e.g. episodes of
        the 15+ band at least 15 x its children: [(children, 15), (episodes, -1)]."""
        (first, c0), *rest = terms
        self.explicit.append(Relation("linear", first, tuple(k for k, _ in rest), (int(c0), *(int(c) for _, c in rest))))

    def drop(self, gone) -> None:
        """Leave out the cells ``gone`` (not published): their values, and what each relation still says of the
        cells that remain (a cell left out, or never registered because its table is not published at its
        level, is some count of at least 0): a sum with parts left out says the parts that remain add up to
        at most the total; an overlap or ``le``, that each remaining part is at most the total; a linear bound
        keeps what holds whatever the left-out cells are. A relation whose total is left out says nothing more."""
        for k in gone:
            self.values.pop(k, None)
            self.shown_in.pop(k, None)
        values = self.values
        kept = []
        for r in self.explicit:
            if all(k in values for k in r.cells()):
                kept.append(r)
            elif r.kind == "linear":
                terms = [(k, c) for k, c in zip(r.cells(), r.coefficients) if k in values]
                if len(terms) > 1 and all(c > 0 for k, c in zip(r.cells(), r.coefficients) if k not in values):
                    kept.append(Relation("linear", terms[0][0], tuple(k for k, _ in terms[1:]),
                                         tuple(c for _, c in terms)))
            elif r.total in values:
                parts = tuple(p for p in r.parts if p in values)
                if parts:
                    kept.append(Relation("le_sum" if r.kind in ("sum", "le_sum") else "le", r.total, parts))
        self.explicit = kept

    # --- relations ------------------------------------------------------------------------------

    def relations(self) -> list[Relation]:
        """Explicit relations, then those implied by breakdowns, subtotals and geography; each checked."""
        out = [r for r in dict.fromkeys(self.explicit) if r.parts]   # a relation of one cell says nothing
        present = self.values
        scopes = sorted({k.scope for k in present if k.scope != ALL_SCOPE})
        broken = [set() for _ in BREAKDOWNS]   # for each breakdown, the Totals that have some level present
        for k in present:
            for i, level in enumerate(k.dims):
                if level != TOTAL:
                    broken[i].add(k.at(i, TOTAL))
        geography = []
        for k in present:
            for i, dim in enumerate(BREAKDOWNS):
                level = k.dims[i]
                if level == TOTAL and k in broken[i]:
                    out += self._margins(k, i, dim)
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
        out.sort(key=lambda r: (r.total, r.kind, r.parts, r.coefficients))   # the same relations in the same order
        bad = [r for r in out if not holds(r, present)]
        if bad:
            raise PublicationError(f"{len(bad)} declared relation(s) do not hold, e.g. {describe(bad[0], present)}")
        return out

    def _margins(self, k: Key, i: int, dim: str) -> list[Relation]:
        """Total ``k`` against its levels of breakdown ``i``: a sum (or overlap) over each partition of the
        levels that is wholly present (the fine levels, or the coarse ones such as high / medium or low);
        where none is, what the present levels of the fullest partition say (parts add up to at most the
        total, or each part is at most the total)."""
        present = self.values
        partitioned = k.unit in PARTITIONED[dim]
        if k.measure == OUTSIDE or (not partitioned and not monotone(k.measure)):
            return []   # "outside" is a count's population minus the count, whatever that population is; "has no
            #             X at any RHI" is not monotone: neither relates to its levels
        out, best = [], []
        for levels in partitions(dim, k.population):
            if not levels:   # months: their relation to the total is declared by the table
                continue
            parts = [k.at(i, lv) for lv in levels]
            there = [p for p in parts if p in present]
            if len(there) == len(parts):
                out.append(Relation("sum" if partitioned else "overlap", k, tuple(parts)))
            elif len(there) > len(best):
                best = there
        if not out and best:
            out.append(Relation("le_sum" if partitioned else "le", k, tuple(best)))
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


OUTSIDE = "outside"


def complement(measure: str) -> str:
    return "not_" + measure if measure != TOTAL else OUTSIDE


def partitions(dim: str, population: str) -> list[tuple]:
    """The sets of levels of breakdown ``dim`` that make its Total: the fine levels, and the coarse ones."""
    out = [LEVELS_OF.get((dim, population), LEVELS[dim])]
    if dim in COARSE:
        out.append(COARSE_OF.get((dim, population), COARSE[dim]))
    return out


def holds(r: Relation, values: dict) -> bool:
    total = values[r.total]
    parts = [values[p] for p in r.parts]
    if r.kind == "linear":
        return sum(c * values[k] for k, c in zip(r.cells(), r.coefficients)) <= 0
    if r.kind == "le_sum":
        return sum(parts) <= total
    if r.kind == "sum":
        return total == sum(parts)
    if r.kind == "overlap":
        return total <= sum(parts) and all(p <= total for p in parts)
    return all(p <= total for p in parts)


def describe(r: Relation, values: dict) -> str:
    if r.kind == "linear":
        return "linear: " + " + ".join(f"{c} x {k} (= {values[k]})" for k, c in zip(r.cells(), r.coefficients)) + " <= 0"
    return (f"{r.kind}: {r.total} = {values[r.total]} against parts "
            + ", ".join(f"{p.measure}/{'/'.join(p.dims)}@{p.scope}={values[p]}" for p in r.parts))
