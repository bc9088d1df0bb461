"""Relations between cells that follow from the definitions (docs/definitions.md), declared in one place.

The tables declare the relations of their own rows (margins, complements,
record flow). A reader who knows the definitions can derive more, between
tables and between units, and a relation the publication does not declare is
one the suppression cannot protect against (contract, section 4). This module
declares them, each only where its cells are in the run, and every one is
checked against the true counts when the publication is finished (a relation
that does not hold stops the run as a bug):

- **time bands**: RHIs interviewed within 72 hours are exactly the first three
  hour bands (bands include their upper limit);
- **episodes per child**: a band's episodes are between its floor and ceiling
  times its children (one episode each in band 1: a sum);
- **units**: children at most RHIs for the same grade, cohort and outcome (a
  child counted has at least one such RHI); RHI children at most in-scope RHIs
  at most RHI episodes; in-scope RHIs at most completed RHIs addressing a
  notified episode at most completed RHIs;
- **grade structure**: a child's highest grade is high exactly when the child
  has a high RHI; a child's first RHI is high only if the child has a high RHI;
  a child with no high RHI has a medium or low first RHI;
- **in scope against graded** (risk levels medium and low): the children with
  an RHI graded medium or low are RHI children (an RHI graded medium or low
  addresses an in-scope episode; one in scope may be graded high), cohort by
  cohort, and each harm group of those children is at most the sum of its
  indicators among the RHI children;
- **red flags**: any red flag lies between the largest flag and their sum;
- **cohorts**: the children in more than one cohort bound how far the cohort
  sizes can add up beyond the total (at most three cohorts each);
- **delivery**: completed at most accepted at most notified, offered and
  declined at most notified (an offer is a date recorded, which a completed RHI
  may lack); the decline reasons' RHIs at most the declined rows read;
  disclosure rows at least the children with each indicator.
"""

from __future__ import annotations

from analysis import vocab
from analysis.publish.cells import TOTAL, CellStore, key

HOUR_BANDS_WITHIN_72H = ("hours up to 24 h", "hours 24-48 h", "hours 48-72 h")
EPISODE_BANDS = {"1": (1, 1), "2-4": (2, 4), "5-14": (5, 14), "15+": (15, None)}
HARM_MEMBERS = {"cse_any": ("cse_victim", "cse_red_flag_any"), "cce": ("cce_victim",),
                "mental_health_any": vocab.HARM_GROUPS["mental_health_any"],
                "serious_harm_any": vocab.SERIOUS_HARM_DEFAULT}


def declare(store: CellStore, scopes, risk_levels=("medium", "low"), many: int = 15) -> None:
    """Declare the relations of this module for every scope (only between cells the run has)."""
    by_scope: dict[str, list] = {}   # each scope's cells in the store's order, found in one pass, not one per scope
    for k in store.values:
        by_scope.setdefault(k.scope, []).append(k)
    for scope in scopes:
        _Scope(store, scope, tuple(risk_levels), many, by_scope.get(scope, [])).declare()


class _Scope:
    def __init__(self, store: CellStore, scope: str, risk_levels: tuple, many: int, cells=()):
        self.store, self.scope, self.levels, self.many = store, scope, risk_levels, many
        self.cells = list(cells)   # the scope's cells (declaring a relation adds none)

    def K(self, unit, population, measure=TOTAL, **dims):
        return key(self.scope, unit, population, measure, **dims)

    def has(self, *keys) -> bool:
        return all(k in self.store.values for k in keys)

    def rel(self, kind, total, parts) -> None:
        if parts and self.has(total, *parts):
            self.store.relate(kind, total, parts)

    def le(self, small, big) -> None:
        self.rel("le", big, [small])

    def equal(self, a, b) -> None:
        self.rel("sum", a, [b])

    def bound(self, terms) -> None:
        if self.has(*(k for k, _ in terms)):
            self.store.bound(terms)

    def declare(self) -> None:
        self.time_bands()
        self.episode_bands()
        self.units()
        self.grades()
        self.in_scope()
        self.red_flags()
        self.cohorts()
        self.delivery()

    # --- the families --------------------------------------------------------------------------------

    def time_bands(self) -> None:
        for population in ("timed_from_return", "timed_from_offer"):
            self.rel("sum", self.K("rhis", population, "within_72h"),
                     [self.K("rhis", population, band) for band in HOUR_BANDS_WITHIN_72H])

    def episode_bands(self) -> None:
        for band, (low, high) in EPISODE_BANDS.items():
            kids = self.K("children", "in_scope_children", episodes_per_child=band)
            eps = self.K("episodes", "in_scope_episodes", episodes_per_child=band)
            self.bound([(kids, low), (eps, -1)])                 # episodes >= low x children
            if high is not None:
                self.bound([(eps, 1), (kids, -high)])            # episodes <= high x children
        for group, low, high in (("many", self.many, None), ("fewer", 1, self.many - 1)):
            kids = self.K("children", "graded_children", f"{group}_notified_episodes")
            eps = self.K("episodes", f"episodes_of_graded_children_{group}")
            self.bound([(kids, low), (eps, -1)])
            if high is not None:
                self.bound([(eps, 1), (kids, -high)])
        ml = "all_medium_low_children"
        self.bound([(self.K("children", ml, "serious_harm_any"), 1),
                    (self.K("episodes", f"episodes_of_{ml}", "of_disclosers"), -1)])
        self.bound([(self.K("children", ml), 1), (self.K("episodes", f"episodes_of_{ml}"), -1)])

    def units(self) -> None:
        for k in self.cells:
            if k.unit == "children" and k.population == "graded_children":
                self.le(k, k.but(unit="rhis", population="graded_rhis"))
        self.le(self.K("children", "rhi_children"), self.K("rhis", "in_scope_rhis"))
        self.le(self.K("rhis", "in_scope_rhis"), self.K("episodes", "rhi_episodes"))
        self.le(self.K("rhis", "in_scope_rhis"), self.K("rhis", "follow_up_rhis"))
        self.le(self.K("rhis", "follow_up_rhis"), self.K("rhis", "completed_rhis"))
        for population in ("timed_from_return", "timed_from_offer"):
            self.le(self.K("rhis", population), self.K("rhis", "follow_up_rhis"))

    def grades(self) -> None:
        graded, highest, first = "graded_children", "graded_children_highest", "first_rhi_children"
        self.equal(self.K("children", highest, police_grade="high"), self.K("children", graded, police_grade="high"))
        for k in self.cells:
            if k.population == graded and k.get("police_grade") == "high" \
                    and k.get("cohort") == TOTAL and not k.measure.startswith("not_"):
                self.le(k, k.but(population=highest))
        for m in (TOTAL, linkage_serious()):
            for grade in ("high", "medium_or_low"):
                self.le(self.K("children", first, m, police_grade=grade), self.K("children", graded, m, police_grade=grade))
        self.rel("le_sum", self.K("children", first, police_grade="medium_or_low"),
                 [self.K("children", highest, police_grade=g) for g in ("medium", "low")])

    def in_scope(self) -> None:
        if set(self.levels) != {"medium", "low"}:
            return   # with other risk levels the in-scope children are another population
        for cohort in (TOTAL,) + vocab.COHORTS:
            rhi = lambda m: self.K("children", "rhi_children", m, cohort=cohort)  # noqa: E731
            graded = lambda m: self.K("children", "graded_children", m, police_grade="medium_or_low", cohort=cohort)  # noqa: E731
            # An RHI graded medium or low addresses an in-scope episode (an RHI can be in scope and graded high)
            self.le(graded(TOTAL), rhi(TOTAL))
            for group, members in HARM_MEMBERS.items():
                parts = [rhi(m) for m in members]
                if self.has(graded(group), *parts):   # a harm at such an RHI is one of its indicators there
                    self.store.bound([(graded(group), 1)] + [(p, -1) for p in parts])
        self.le(self.K("rhis", "graded_rhis", police_grade="medium_or_low"), self.K("rhis", "in_scope_rhis"))
        self.le(self.K("rhis", "in_scope_rhis"), self.K("rhis", "graded_rhis"))

    def red_flags(self) -> None:
        for k in self.cells:
            if k.measure == "cse_red_flag_any":
                parts = [k.but(measure=f) for f in vocab.RED_FLAGS]
                self.rel("overlap" if self.has(*parts) else "le", k, [p for p in parts if self.has(p)])

    def cohorts(self) -> None:
        total, several = self.K("children", "rhi_children"), self.K("children", "rhi_children", "in_several_cohorts")
        parts = [self.K("children", "rhi_children", cohort=c) for c in vocab.COHORTS]
        # several <= sum(cohorts) - total <= 2 x several
        self.bound([(total, 1), (several, 1)] + [(p, -1) for p in parts])
        self.bound([(several, -2), (total, -1)] + [(p, 1) for p in parts])

    def delivery(self) -> None:
        for k in self.cells:
            chain = DELIVERY_CHAIN.get(k.population)
            if chain is None:
                continue
            if k.measure in chain[:-1]:
                self.le(k, k.but(measure=chain[chain.index(k.measure) + 1]))
            elif k.measure in ("rhi_offered", "rhi_declined"):
                self.le(k, k.but(measure=TOTAL))
        declined = self.K("rhis", "rows_read", "excluded: status declined: RHI declined")
        self.le(self.K("rhis", "decline_reasons_rhis"), declined)
        present = [k for k in (self.K("children", "rhi_children", i) for i in vocab.INDICATORS) if k in self.store.values]
        if present:
            self.rel("le_sum", self.K("disclosures", "in_scope_disclosures"), present)


# An RHI completed is accepted (docs/delivery-indicators.md: accepted = completed or accepted not completed), of
# a notified episode or child. "Offered" is an offer date recorded, and "declined" the RHI's status: neither is
# nested in the other states (a completed RHI may have no offer date), so each is only at most the total.
DELIVERY_CHAIN = {"notified_episodes": ("with_completed_rhi", "rhi_accepted", TOTAL),
                  "missing_children": ("rhi_completed", "rhi_accepted", TOTAL)}


def linkage_serious() -> str:
    from analysis.definitions.linkage import SERIOUS

    return SERIOUS

