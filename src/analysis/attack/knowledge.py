"""What a reader who knows the definitions can say about a run's cells, whatever ``relations.csv`` declares.

The audit does not trust the publication's list of relations: a relation the
publication forgets is one its suppression did not protect against. This
module derives relations from the cells' keys (scope, unit, population,
measure, breakdowns) and the definitions as ``docs/definitions.md`` and
``docs/data-contract.md`` state them, written here on their own, without the
publication's code or lists. The audit attacks with these and the declared ones
together; a derived relation the published numbers break is reported as an
inconsistency, so a wrong derivation shows rather than hides.

Families (each where its cells are published or suppressed; a cell a run does
not publish is not assumed):

- complements: a count printed as a share of a denominator and its complement
  (``not_X``) make the denominator;
- breakdowns: levels of a breakdown (fine: high, medium, low; coarse: high and
  medium or low) make the Total, exactly where a member has one level (an
  episode, an RHI), at least where it may have several (a child); a level of a
  breakdown is at most its Total, and ``medium_or_low`` is medium and low;
- time bands: within 72 hours is the bands up to 72 hours (bands include their
  upper limit);
- episodes per child: the children of a band have between its floor and
  ceiling episodes each; the 15-or-more group at least 15 each;
- units: a child counted has at least one such RHI; an RHI child has an
  in-scope RHI, which addresses an in-scope episode;
- grade structure: a child's highest grade is high when the child has a high RHI;
  a first RHI of a grade is an RHI of that grade; children with no high RHI have
  a medium or low first RHI;
- in scope against graded (when the publication says the risk levels are
  medium and low): children with an RHI graded medium or low are RHI children,
  and a harm group among them is at most the sum of its indicators;
- red flags: any red flag lies between the largest flag and their sum;
- cohorts: a child is in at most three cohorts;
- delivery: completed within accepted within notified; offered and declined
  within notified; disclosure rows at least the children with each indicator.
"""

from __future__ import annotations

import re
from collections import defaultdict

from analysis.attack.read import Publication, Relation

TOTAL = "Total"
# The levels that make each breakdown's Total (contract, sections 1 and 3), fine then coarse.
PARTITIONS = {
    "police_grade": [("high", "medium", "low"), ("high", "medium_or_low")],
    "cohort": [("looked_after", "open_to_services", "not_known")],
    "age_band": [("10 or under", "11-13", "14-16", "17"), ("13 or under", "14-17")],
    "sex": [("female", "male", "other", "unknown")],
    "setting": [("home", "care_in_area", "care_out_of_area", "not_recorded")],
    "episode_number": [("1", "2-4", "5-14", "15+")],
    "episodes_per_child": [("1", "2-4", "5-14", "15+")],
}
RISK_CODED_GRADES = [("high", "medium", "low", "no_apparent_risk"), ("high", "medium_or_low", "no_apparent_risk")]
SUBTOTALS = {"police_grade": {"medium_or_low": ("medium", "low")},
             "age_band": {"13 or under": ("10 or under", "11-13"), "14-17": ("14-16", "17")}}
# A member has one level of these breakdowns: an episode one grade, cohort, age, sex, setting and band; an RHI
# one grade (the highest of its episodes), one cohort and one episode band; a child one sex (the others a child
# can have several of: RHIs of two grades or cohorts).
ONE_LEVEL = {"episodes": {"police_grade", "cohort", "age_band", "sex", "setting", "episodes_per_child", "month"},
             "rhis": {"police_grade", "cohort", "episode_number", "age_band", "sex"},
             "children": {"sex", "episodes_per_child"}}
# Counts of a member's own pattern (several episodes, several cohorts): a child can have it overall and in no
# level, so they are not monotone in a breakdown.
PATTERNS = {"missing_2_plus", "in_several_cohorts", "children_with_3_or_more_episodes_in_90_days",
            "more_than_one_rhi", "children_more_than_one_rhi"}
RED_FLAGS = ("rf_older_associates", "rf_friends_exploited", "rf_unexplained_gifts", "rf_gang_association",
             "rf_recruiting_others")
INDICATORS = ("cse_victim",) + RED_FLAGS + (
    "push_cse_or_unsafe_adult", "push_older_peers", "missing_to_see_family", "placement_issues", "cce_victim",
    "mental_health", "self_harm_risk", "suicide_risk", "low_self_esteem", "education_issues", "substance_misuse",
    "alcohol_misuse", "offending", "lacks_peer_friends", "physical_injury", "witnessed_domestic_abuse",
    "abuse_history")
HARM_GROUPS = {"cse_any": ("cse_victim", "cse_red_flag_any"), "cce": ("cce_victim",),
               "mental_health_any": ("mental_health", "self_harm_risk", "suicide_risk"),
               "serious_harm_any": ("cse_victim", "cce_victim", "push_cse_or_unsafe_adult", "self_harm_risk",
                                    "suicide_risk")}
MANY = 15   # "many episodes": 15 or more notified episodes (docs/definitions.md)
BANDS = {"1": (1, 1), "2-4": (2, 4), "5-14": (5, 14), "15+": (15, None)}
HOURS = re.compile(r"^hours (?:up to (\d+) h|(\d+)-(\d+) h)$")
# docs/delivery-indicators.md: accepted is completed or accepted-not-completed; offered is an offer date recorded
# and declined a status, so those two are only within the notified episodes or children.
DELIVERY = {"notified_episodes": ("with_completed_rhi", "rhi_accepted", TOTAL),
            "missing_children": ("rhi_completed", "rhi_accepted", TOTAL)}


def derive(pub: Publication) -> list[Relation]:
    """Every relation of the families above between cells of ``pub`` (suppressed ones included); none where the
    cells do not have the run's keys (a publication without a population column is not one of the run's)."""
    if not {"scope", "unit", "population", "measure"} <= set(pub.cells.columns):
        return []
    return _Reader(pub).relations()


class _Reader:
    def __init__(self, pub: Publication):
        self.dims = [c for c in pub.breakdown_columns if c not in ("population",)]
        cells = pub.cells
        self.pub = pub
        self.index = {}
        for i, row in enumerate(cells[["scope", "unit", "population", "measure"] + self.dims].itertuples(index=False)):
            self.index[tuple(row)] = i
        self.keys_by_cell = {i: k for k, i in self.index.items()}
        self.risk_levels = getattr(pub, "risk_levels", None)
        self.out: list[Relation] = []
        self.family = ""

    # --- keys ----------------------------------------------------------------------------------------

    def key(self, scope, unit, population, measure=TOTAL, **dims):
        return (scope, unit, population, measure) + tuple(dims.get(d, TOTAL) for d in self.dims)

    def but(self, k, **changes):
        k = list(k)
        for name, value in changes.items():
            pos = {"scope": 0, "unit": 1, "population": 2, "measure": 3}.get(name)
            if pos is None:
                if name not in self.dims:
                    return None
                pos = 4 + self.dims.index(name)
            k[pos] = value
        return tuple(k)

    def cell(self, k):
        return None if k is None else self.index.get(k)

    def add(self, kind, total, parts, coefficients=()):
        t = self.cell(total)
        ps = [self.cell(p) for p in parts]
        if t is None or any(p is None for p in ps) or not ps:
            return
        if t in ps or len(set(ps)) != len(ps):
            return
        n = len(self.out)
        self.out.append(Relation(f"d{n:06d}", kind, t, ps, f"derived from the definitions: {self.family}",
                                 list(coefficients)))

    def bound(self, terms):
        """sum(coefficient x cell) <= 0 over [(key, coefficient)], where every cell is in the publication."""
        if len(terms) < 2 or any(self.cell(k) is None for k, _ in terms):
            return
        (first, c0), *rest = terms
        self.add("linear", first, [k for k, _ in rest], [c0] + [c for _, c in rest])

    def relations(self) -> list[Relation]:
        for name in ("complements", "breakdowns", "time_bands", "episode_bands", "units", "grades", "in_scope",
                     "red_flags", "cohorts", "delivery"):
            self.family = name.replace("_", " ")
            getattr(self, name)()
        return self.out

    def keys(self):
        return list(self.index)

    def scopes(self):
        return sorted({k[0] for k in self.index})

    # --- families ------------------------------------------------------------------------------------

    def complements(self):
        """A count printed as a share of a denominator, and its complement (``not_X``; ``outside`` for a
        population's size as a share of a larger one), make the denominator."""
        for stat in self.pub.statistics:
            if stat.statistic != "percent" or stat.numerator is None or stat.denominator is None:
                continue
            n, d = self.keys_by_cell[stat.numerator], self.keys_by_cell[stat.denominator]
            if n[3] == TOTAL:                        # a population as a share of another: the rest is outside
                self.add("sum", d, [n, self.but(n, measure="outside")])
            elif d == self.but(n, measure=TOTAL):    # a measure of a population as a share of it
                self.add("sum", d, [n, self.but(n, measure="not_" + n[3])])

    def breakdowns(self):
        for k in self.keys():
            unit, population, measure = k[1], k[2], k[3]
            for d, level in zip(self.dims, k[4:]):
                one = d in ONE_LEVEL.get(unit, set())
                monotone = not measure.startswith("not_") and measure not in PATTERNS and measure != "outside"
                if level == TOTAL and d in PARTITIONS:
                    partitions = RISK_CODED_GRADES if (d, population) == ("police_grade", "risk_coded_episodes") \
                        else PARTITIONS[d]
                    for levels in partitions:
                        parts = [self.but(k, **{d: lv}) for lv in levels]
                        there = [p for p in parts if self.cell(p) is not None]
                        if one and measure != "outside":
                            self.add("sum" if len(there) == len(parts) else "le_sum", k, there)
                        elif monotone:
                            self.add("overlap" if len(there) == len(parts) else "le", k, there)
                for name, members in SUBTOTALS.get(d, {}).items():
                    if level == name and measure != "outside":
                        parts = [self.but(k, **{d: lv}) for lv in members]
                        if one:
                            self.add("sum", k, parts)
                        elif monotone:
                            self.add("overlap", k, parts)

    def time_bands(self):
        bands = defaultdict(list)   # (scope, unit, population, breakdowns) -> the hour bands up to 72 hours
        for k in self.keys():
            match = HOURS.match(k[3])
            if match and int(match.group(1) or match.group(3)) <= 72:
                bands[k[:3] + k[4:]].append(k)
        for k in self.keys():
            if k[3] == "within_72h" and bands.get(k[:3] + k[4:]):
                self.add("sum", k, sorted(bands[k[:3] + k[4:]]))

    def episode_bands(self):
        for scope in self.scopes():
            for band, (low, high) in BANDS.items():
                kids = self.key(scope, "children", "in_scope_children", episodes_per_child=band)
                eps = self.key(scope, "episodes", "in_scope_episodes", episodes_per_child=band)
                self.bound([(kids, low), (eps, -1)])
                if high is not None:
                    self.bound([(eps, 1), (kids, -high)])
            for group, low, high in (("many", MANY, None), ("fewer", 1, MANY - 1)):
                kids = self.key(scope, "children", "graded_children", f"{group}_notified_episodes")
                eps = self.key(scope, "episodes", f"episodes_of_graded_children_{group}")
                self.bound([(kids, low), (eps, -1)])
                if high is not None:
                    self.bound([(eps, 1), (kids, -high)])
            ml = "all_medium_low_children"
            self.bound([(self.key(scope, "children", ml, "serious_harm_any"), 1),
                        (self.key(scope, "episodes", f"episodes_of_{ml}", "of_disclosers"), -1)])
            self.bound([(self.key(scope, "children", ml), 1), (self.key(scope, "episodes", f"episodes_of_{ml}"), -1)])

    def units(self):
        for k in self.keys():
            if k[1] == "children" and k[2] == "graded_children":
                self.add("le", self.but(k, unit="rhis", population="graded_rhis"), [k])
        for scope in self.scopes():
            chain = [self.key(scope, "children", "rhi_children"), self.key(scope, "rhis", "in_scope_rhis"),
                     self.key(scope, "episodes", "rhi_episodes")]
            for small, big in zip(chain, chain[1:]):
                self.add("le", big, [small])

    def grades(self):
        for scope in self.scopes():
            k = lambda pop, m=TOTAL, **d: self.key(scope, "children", pop, m, **d)  # noqa: E731
            self.add("sum", k("graded_children_highest", police_grade="high"), [k("graded_children", police_grade="high")])
            for m in (TOTAL, "serious_harm_any"):
                for g in ("high", "medium_or_low"):
                    self.add("le", k("graded_children", m, police_grade=g), [k("first_rhi_children", m, police_grade=g)])
            self.add("le_sum", k("first_rhi_children", police_grade="medium_or_low"),
                     [k("graded_children_highest", police_grade=g) for g in ("medium", "low")])

    def in_scope(self):
        """An RHI graded medium or low addresses a medium or low episode, so it is in scope (an RHI in scope may
        still be graded high, when it also addresses a high episode): such children are RHI children, and a
        harm at such an RHI is one of the harm's indicators at an in-scope RHI."""
        if self.risk_levels is None or set(self.risk_levels) != {"medium", "low"}:
            return
        for scope in self.scopes():
            for cohort in (TOTAL, "looked_after", "open_to_services", "not_known"):
                rhi = lambda m: self.key(scope, "children", "rhi_children", m, cohort=cohort)  # noqa: E731
                graded = lambda m: self.key(scope, "children", "graded_children", m, police_grade="medium_or_low",  # noqa: E731
                                            cohort=cohort)
                self.add("le", rhi(TOTAL), [graded(TOTAL)])
                for group, members in HARM_GROUPS.items():
                    self.bound([(graded(group), 1)] + [(rhi(m), -1) for m in members])

    def red_flags(self):
        for k in self.keys():
            if k[3] == "cse_red_flag_any":
                flags = [self.but(k, measure=f) for f in RED_FLAGS]
                there = [f for f in flags if self.cell(f) is not None]
                self.add("overlap" if len(there) == len(flags) else "le", k, there)

    def cohorts(self):
        for scope in self.scopes():
            total = self.key(scope, "children", "rhi_children")
            several = self.key(scope, "children", "rhi_children", "in_several_cohorts")
            parts = [self.key(scope, "children", "rhi_children", cohort=c)
                     for c in ("looked_after", "open_to_services", "not_known")]
            self.bound([(total, 1), (several, 1)] + [(p, -1) for p in parts])
            self.bound([(several, -2), (total, -1)] + [(p, 1) for p in parts])

    def delivery(self):
        for k in self.keys():
            chain = DELIVERY.get(k[2])
            if chain and k[3] in chain[:-1]:
                self.add("le", self.but(k, measure=chain[chain.index(k[3]) + 1]), [k])
            if chain and k[3] in ("rhi_offered", "rhi_declined"):
                self.add("le", self.but(k, measure=TOTAL), [k])
        for scope in self.scopes():
            self.add("le", self.key(scope, "rhis", "rows_read", "excluded: status declined: RHI declined"),
                     [self.key(scope, "rhis", "decline_reasons_rhis")])
            indicators = [self.key(scope, "children", "rhi_children", i) for i in INDICATORS]
            self.add("le_sum", self.key(scope, "disclosures", "in_scope_disclosures"),
                     [i for i in indicators if self.cell(i) is not None])


def undeclared(derived: list[Relation], declared: list[Relation]) -> list[Relation]:
    """The derived relations whose cells no declared relation of the same kind ties together (for the report)."""
    seen = defaultdict(set)
    for r in declared:
        seen[r.kind].add((r.total, frozenset(r.parts)))
    return [r for r in derived if (r.total, frozenset(r.parts)) not in seen[r.kind]]
