"""Smallest and largest whole value of every suppressed cell, one component at a time.

A suppressed cell is **safe** when two whole-number solutions of the system
give it different values and one of them gives it at least ``min_cell``; it
**leaks** when its largest feasible whole value is below ``min_cell`` (proven
small) or equals its smallest (pinned). Pinned at ``min_cell`` or more is a
warning (a secondary suppression that protects nothing), not a leak.

How each answer is proved (HiGHS through scipy; every row has whole-number
coefficients, so a whole-number point can be checked exactly):

- **Witnesses.** Every solver solution is rounded and, if it satisfies every
  row exactly, kept as a witness: a whole-number solution the attacker cannot
  rule out. Witnesses only ever show that values are *possible*; a cell is
  declared safe only from two witnesses (never from a relaxation). Each new
  witness counts for every cell of the component, which is why most cells
  need no solve of their own.
- **Largest value.** The LP relaxation's maximum ``u`` bounds the whole-number
  maximum from above: ``max <= floor(u)``. If a witness reaches ``floor(u)``,
  that is the maximum; otherwise a MILP gives it. If the LP is unbounded, so is
  the whole-number problem, provided it has one whole-number solution (its
  recession directions are rational, so a whole multiple of one added to a
  whole solution stays whole): "no upper bound".
- **Smallest value**, likewise: ``min >= ceil(l)`` for the LP minimum ``l``,
  reached by a witness or else computed by a MILP.
- An infeasible LP or MILP means the published numbers contradict each other:
  the component is reported as inconsistent, and its cells as not audited.

Large components (more than ``LARGE`` unknowns), unless every bound is asked
for (``exact``), are screened before any per-cell solve; every screen is a
proof, never a guess:

- **Propagation** (bound tightening): each row bounds each of its variables
  given the others' bounds, rounded to whole numbers, repeated to a fixed
  point. It relaxes the system, so every whole-number solution lies within its
  bounds: an upper bound below ``min_cell`` proves a leak, equal bounds pin the
  cell (the component has a witness, so the value is attained). Cells it pins
  are then moved to the right-hand side like published numbers, which splits
  the component.
- **Witness MILPs**: objectives pushing the undecided cells away from the
  values seen so far, values capped at a large number so every problem is
  bounded, stopped at a loose gap: any whole-number solution is a witness.
- **Probing**: if propagation with ``x_i >= max seen + 1`` (or ``<= min seen -
  1``) added finds no solution, the witnesses' extreme is the exact bound.
- **Neighbourhoods**: the LP of the rows within one to three steps of the cell
  is a relaxation too: a maximum below ``min_cell`` (or equal bounds) there is
  a leak (or a pinned cell) in the whole system.

What no screen decides gets the exact LP/MILP treatment above. The range
printed for a leak found by a screen is one proved to contain the cell's
values (the exact range with ``exact``); a cell proved safe stops at once, so
its range is only "at least this wide".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import Bounds as VariableBounds
from scipy.optimize import LinearConstraint, linprog, milp
from scipy.sparse import csr_matrix

from analysis.attack.system import Component, LinearSystem, Row, connected_components

TOLERANCE = 1e-6
# Work limits, never time limits: a whole-number programme stops after a number of branch-and-bound nodes,
# so the same publication gets the same verdict and the same bounds on a busy machine and a quiet one.
MILP_NODES = 20_000    # a cell's own bound; past it the cell is "unresolved" (never "safe")
WITNESS_NODES = 500    # a witness-seeking programme (any whole solution found by then serves)
LOCAL_NODES = 2_000    # a neighbourhood's bound
LARGE = 150            # components with more unknowns than this get the screens below before any per-cell solve
WITNESS_ROUNDS = 40    # at most this many witness-seeking MILPs per large component
LOCAL_ROWS = 400       # largest neighbourhood solved on its own

SAFE, PINNED, SMALL, PINNED_LARGE, INCONSISTENT, UNRESOLVED = (
    "safe", "pinned", "proven small", "pinned (not small)", "inconsistent", "unresolved")


@dataclass
class CellBounds:
    lower: int | None          # None: not audited (inconsistent component)
    upper: int | None          # None: no upper bound (or not audited)
    exact: bool                # both bounds proved optimal (else: a range the cell can at least take)
    status: str
    origins: list[int] = field(default_factory=list)   # rows' origins that prove a leak


class Infeasible(Exception):
    pass


class Unresolved(Exception):
    pass


@dataclass
class SolveStats:
    lp: int = 0
    milp: int = 0
    witnesses: int = 0


class ComponentSolver:
    def __init__(self, system: LinearSystem, comp: Component, min_cell: int, stats: SolveStats):
        self.min_cell, self.stats = min_cell, stats
        self.variables = comp.variables
        local = {v: i for i, v in enumerate(comp.variables)}
        n = len(comp.variables)
        self.lb = system.lower[comp.variables].astype(float)
        self.lb_int = system.lower[comp.variables]
        eq, ub = [], []
        for r in comp.rows:
            (eq if system.rows[r].equal else ub).append(r)
        self.eq_rows, self.ub_rows = eq, ub
        self.A_eq, self.b_eq = _matrix(system, eq, local, n)
        self.A_ub, self.b_ub = _matrix(system, ub, local, n)
        self.eq_float, self.ub_float = self.A_eq.astype(float), self.A_ub.astype(float)
        both = self.A_eq.shape[0] and self.A_ub.shape[0]
        stacked = _vstack(self.A_eq, self.A_ub) if both else (self.A_eq if self.A_eq.shape[0] else self.A_ub)
        self.rows_of = stacked.tocsc()            # column j: the rows holding variable j
        self.stacked = stacked.tocsr()
        self.cap = max(1000, 10 * int(np.abs(np.concatenate([self.b_eq, self.b_ub])).max(initial=0)))
        self.rng = np.random.default_rng(len(comp.variables))
        self.low_bound, self.high_bound = self.lb.copy(), np.full(n, np.inf)   # tightened by propagation
        self.origin_of = [system.rows[r].origin for r in eq] + [system.rows[r].origin for r in ub]
        self.all_origins = sorted(set(self.origin_of))
        self.wmin = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
        self.wmax = np.full(n, -1, dtype=np.int64)
        self.n = n
        self.certified: list[np.ndarray] = []     # certificates accepted (see certify)

    # --- solver calls -------------------------------------------------------------------------
    def lp(self, objective: np.ndarray, cap: float = np.inf):
        self.stats.lp += 1
        res = linprog(objective,
                      A_ub=self.ub_float if self.A_ub.shape[0] else None,
                      b_ub=self.b_ub.astype(float) if self.A_ub.shape[0] else None,
                      A_eq=self.eq_float if self.A_eq.shape[0] else None,
                      b_eq=self.b_eq.astype(float) if self.A_eq.shape[0] else None,
                      bounds=np.column_stack([self.low_bound, np.minimum(self.high_bound, cap)]), method="highs-ds")
        if res.status == 0:
            self.take(res.x)
        return res

    def milp(self, objective: np.ndarray):
        self.stats.milp += 1
        constraints = []
        if self.A_eq.shape[0]:
            constraints.append(LinearConstraint(self.eq_float, self.b_eq, self.b_eq))
        if self.A_ub.shape[0]:
            constraints.append(LinearConstraint(self.ub_float, -np.inf, self.b_ub))
        res = milp(objective, integrality=np.ones(self.n), bounds=VariableBounds(self.low_bound, self.high_bound),
                   constraints=constraints, options={"node_limit": MILP_NODES})
        if res.status == 2:
            raise Infeasible
        if res.status != 0 or res.x is None:
            raise Unresolved(res.message)
        if not self.take(res.x):
            raise Unresolved("the MILP solution is not a whole-number solution")
        return res

    def take(self, x: np.ndarray) -> bool:
        """Keep a solution as a witness if, rounded, it satisfies every row exactly."""
        point = np.rint(x)
        if np.max(np.abs(point - x), initial=0) > TOLERANCE:
            return False
        point = point.astype(np.int64)
        if (point < self.lb_int).any():
            return False
        if self.A_eq.shape[0] and not np.array_equal(self.A_eq @ point, self.b_eq):
            return False
        if self.A_ub.shape[0] and (self.A_ub @ point > self.b_ub).any():
            return False
        np.minimum(self.wmin, point, out=self.wmin)
        np.maximum(self.wmax, point, out=self.wmax)
        self.stats.witnesses += 1
        return True

    def certify(self, points) -> None:
        """Take certificates (whole-number tables the publishing run says agree with everything published) as
        witnesses, each only after checking it exactly against this component's rows and bounds. A
        certificate can only show that a cell can take a value; leaks are still found by the solves."""
        for point in points:
            if self.take(point):
                self.certified.append(point)

    def unit(self, i: int, sign: float) -> np.ndarray:
        objective = np.zeros(self.n)
        objective[i] = sign
        return objective

    def binding(self, res) -> list[int]:
        """Origins of the rows with a non-zero dual value: together with the bounds they prove the optimum."""
        duals = []
        if self.A_eq.shape[0]:
            duals.append(np.asarray(res.eqlin.marginals))
        if self.A_ub.shape[0]:
            duals.append(np.asarray(res.ineqlin.marginals))
        if not duals:
            return []
        nonzero = np.flatnonzero(np.abs(np.concatenate(duals)) > 1e-9)
        return sorted({self.origin_of[k] for k in nonzero})

    # --- bounds ---------------------------------------------------------------------------------
    def feasible(self) -> None:
        """Make sure there is a witness (a whole-number solution), or raise Infeasible."""
        if self.wmax.max(initial=-1) >= 0:
            return
        res = self.lp(np.ones(self.n))
        if res.status == 2:
            raise Infeasible
        if self.wmax.max(initial=-1) < 0:
            self.milp(np.ones(self.n))

    def upper(self, i: int) -> tuple[int | None, list[int]]:
        """The largest whole value of variable i (None: no upper bound) and the origins proving it."""
        res = self.lp(self.unit(i, -1.0))
        if res.status == 3:
            self.feasible()
            return None, []
        if res.status == 2:
            raise Infeasible
        if res.status == 0:
            bound = math.floor(-res.fun + TOLERANCE)
            if self.wmax[i] == bound:
                return bound, self.binding(res)
        return int(round(-self.milp(self.unit(i, -1.0)).fun)), self.all_origins

    def lower(self, i: int) -> tuple[int, list[int]]:
        res = self.lp(self.unit(i, 1.0))
        if res.status == 2:
            raise Infeasible
        if res.status == 0:
            bound = math.ceil(res.fun - TOLERANCE)
            if self.wmin[i] == bound:
                return bound, self.binding(res)
        return int(round(self.milp(self.unit(i, 1.0)).fun)), self.all_origins

    def safe(self, i: int) -> bool:
        return self.wmax[i] >= self.min_cell and self.wmin[i] < self.wmax[i]

    def witness_rounds(self, audited: list[int], lo: np.ndarray, hi: np.ndarray) -> None:
        """Objectives pushing each undecided cell away from the values seen so far (up if none reached
        min_cell; else towards whichever of its propagated bounds is further), with random weights and values
        capped at a large number so that every problem is bounded, solved as MILPs stopped at a loose gap:
        any whole-number solution found is a witness for every cell at once, optimal or not."""
        stalls = 0
        constraints = []
        if self.A_eq.shape[0]:
            constraints.append(LinearConstraint(self.eq_float, self.b_eq, self.b_eq))
        if self.A_ub.shape[0]:
            constraints.append(LinearConstraint(self.ub_float, -np.inf, self.b_ub))
        for _ in range(WITNESS_ROUNDS):
            undecided = np.array([i for i in audited if not self.safe(i)], dtype=int)
            if not len(undecided) or stalls >= 3:
                return
            seen = self.wmax[undecided]
            room_up = np.minimum(hi[undecided], self.cap) - seen
            room_down = self.wmin[undecided] - lo[undecided]
            coin = self.rng.random(len(undecided)) < 0.5
            up = (seen < self.min_cell) | (room_up > room_down) | ((room_up == room_down) & coin)
            objective = self.rng.uniform(-0.05, 0.05, self.n)
            objective[undecided] = np.where(up, -1.0, 1.0) * self.rng.uniform(0.5, 1.5, len(undecided))
            self.stats.milp += 1
            res = milp(objective, integrality=np.ones(self.n),
                       bounds=VariableBounds(self.low_bound, np.minimum(self.high_bound, self.cap)),
                       constraints=constraints, options={"node_limit": WITNESS_NODES, "mip_rel_gap": 0.2})
            if res.x is not None:
                self.take(res.x)
            left = sum(not self.safe(i) for i in undecided)
            stalls = stalls + 1 if len(undecided) - left < max(1, len(undecided) // 100) else 0

    def propagate(self, lo: np.ndarray | None = None, hi: np.ndarray | None = None,
                  rounds: int = 60) -> tuple[np.ndarray, np.ndarray]:
        """Bounds of every variable by propagation through the rows (each row bounds each of its variables
        given the others' bounds), rounded to whole numbers, repeated until nothing changes. A relaxation of
        the whole system: every whole-number solution lies within them."""
        from scipy.sparse import vstack

        blocks = [m for m in (self.A_eq, -self.A_eq, self.A_ub) if m.shape[0]]
        rows = vstack(blocks, format="csr").astype(float)
        rhs = np.concatenate([self.b_eq, -self.b_eq, self.b_ub]).astype(float)
        a, j = rows.data, rows.indices
        r = np.repeat(np.arange(rows.shape[0]), np.diff(rows.indptr))
        lo = self.lb.astype(float).copy() if lo is None else lo.astype(float).copy()
        hi = np.full(self.n, np.inf) if hi is None else hi.astype(float).copy()
        positive = a > 0
        for _ in range(rounds):
            with np.errstate(invalid="ignore"):
                least = np.where(positive, a * lo[j], a * hi[j])       # each term's smallest value
            infinite = ~np.isfinite(least)
            finite = np.where(infinite, 0.0, least)
            total = np.bincount(r, weights=finite, minlength=rows.shape[0])
            n_inf = np.bincount(r, weights=infinite, minlength=rows.shape[0])
            usable = (n_inf[r] - infinite) == 0
            with np.errstate(divide="ignore", invalid="ignore"):
                bound = (rhs[r] - (total[r] - finite)) / a
            new_hi, new_lo = hi.copy(), lo.copy()
            up = usable & positive
            np.minimum.at(new_hi, j[up], np.floor(bound[up] + TOLERANCE))
            down = usable & ~positive
            np.maximum.at(new_lo, j[down], np.ceil(bound[down] - TOLERANCE))
            if np.array_equal(new_hi, hi) and np.array_equal(new_lo, lo):
                break
            lo, hi = new_lo, new_hi
            if (lo > hi).any():
                break
        return lo, hi

    def impossible(self, i: int, lo: np.ndarray, hi: np.ndarray, low: float, high: float) -> bool:
        """True if propagation proves that no whole-number solution has low <= x_i <= high (probing)."""
        lo, hi = lo.copy(), hi.copy()
        lo[i], hi[i] = max(lo[i], low), min(hi[i], high)
        if lo[i] > hi[i]:
            return True
        lo, hi = self.propagate(lo, hi, rounds=30)
        return bool((lo > hi).any())

    def probe(self, i: int, lo: np.ndarray, hi: np.ndarray) -> CellBounds | None:
        """Exact bounds of x_i when the witnesses reach both ends: no solution beyond them (by probing)."""
        low, high = int(self.wmin[i]), int(self.wmax[i])
        if high < 0:
            return None
        if not (high >= hi[i] or self.impossible(i, lo, hi, high + 1, np.inf)):
            return None
        if not (low <= lo[i] or self.impossible(i, lo, hi, -np.inf, low - 1)):
            return None
        if high >= self.min_cell and low < high:
            return CellBounds(low, high, True, SAFE)
        status = (PINNED if low == high else SMALL) if high < self.min_cell else PINNED_LARGE
        return CellBounds(low, high, True, status, self.near(i))

    def near(self, i: int) -> list[int]:
        """Origins of the rows holding variable i."""
        return sorted({self.origin_of[k] for k in self.rows_of[:, [i]].indices})

    def local_bounds(self, i: int, radius: int, whole: bool = False):
        """Bounds of variable i from the rows within ``radius`` steps of it only (as an LP, or as a MILP if
        ``whole``): a relaxation, so the whole-number range of i lies within [lower, upper]. None if the
        neighbourhood is too large or the solver gives no answer."""
        rows = set(self.rows_of[:, [i]].indices)
        for _ in range(radius - 1):
            near = np.unique(self.stacked[sorted(rows)].indices)
            rows = set(self.rows_of[:, near].indices)
            if len(rows) > LOCAL_ROWS:
                return None
        rows = np.array(sorted(rows))
        sub = self.stacked[rows]
        variables = np.unique(sub.indices)
        sub = sub[:, variables]
        n_eq = self.A_eq.shape[0]
        eq, ub = rows < n_eq, rows >= n_eq
        rhs = np.concatenate([self.b_eq, self.b_ub])[rows]
        target = int(np.flatnonzero(variables == i)[0])
        bounds, origins = {}, set()
        box = np.column_stack([self.low_bound[variables], self.high_bound[variables]])
        if whole:
            return self._local_milp(sub, eq, ub, rhs, box, target, rows)
        for sign in (-1.0, 1.0):
            objective = np.zeros(len(variables))
            objective[target] = sign
            self.stats.lp += 1
            res = linprog(objective, A_ub=sub[ub].astype(float) if ub.any() else None,
                          b_ub=rhs[ub].astype(float) if ub.any() else None,
                          A_eq=sub[eq].astype(float) if eq.any() else None,
                          b_eq=rhs[eq].astype(float) if eq.any() else None,
                          bounds=box, method="highs-ds")
            if res.status == 3 and sign < 0:
                bounds[sign] = None
                continue
            if res.status != 0:
                return None
            bounds[sign] = math.floor(-res.fun + TOLERANCE) if sign < 0 else math.ceil(res.fun - TOLERANCE)
            duals = [np.asarray(res.eqlin.marginals)] if eq.any() else []
            duals += [np.asarray(res.ineqlin.marginals)] if ub.any() else []
            order = np.concatenate([rows[eq], rows[ub]])
            origins.update(self.origin_of[k] for k in order[np.flatnonzero(np.abs(np.concatenate(duals)) > 1e-9)])
        return bounds[1.0], bounds[-1.0], sorted(origins)

    def _local_milp(self, sub, eq, ub, rhs, box, target, rows):
        constraints = []
        if eq.any():
            constraints.append(LinearConstraint(sub[eq].astype(float), rhs[eq], rhs[eq]))
        if ub.any():
            constraints.append(LinearConstraint(sub[ub].astype(float), -np.inf, rhs[ub]))
        found = {}
        for sign in (-1.0, 1.0):
            objective = np.zeros(sub.shape[1])
            objective[target] = sign
            self.stats.milp += 1
            res = milp(objective, integrality=np.ones(sub.shape[1]), bounds=VariableBounds(box[:, 0], box[:, 1]),
                       constraints=constraints, options={"node_limit": LOCAL_NODES})
            if res.status == 3 and sign < 0:
                found[sign] = None
            elif res.status != 0:
                return None
            else:
                found[sign] = int(round(-res.fun)) if sign < 0 else int(round(res.fun))
        return found[1.0], found[-1.0], sorted({self.origin_of[k] for k in rows})

    def local_decide(self, i: int) -> CellBounds | None:
        """What the cell's neighbourhood (with the propagated bounds) proves: a leak, a pinned cell, or exact
        bounds where the witnesses reach the neighbourhood's; else None."""
        for radius, whole in ((1, False), (2, False), (2, True), (3, False), (3, True)):
            local = self.local_bounds(i, radius, whole)
            if local is None:
                return None
            low, high, origins = local
            if high is not None and high < self.min_cell:      # the component is feasible: a leak
                return CellBounds(low, high, low == high, PINNED if low == high else SMALL, origins)
            if low == high:
                return CellBounds(low, high, True, PINNED_LARGE, origins)
            if self.wmin[i] == low and self.wmax[i] == high:   # witnessed at both ends: exact
                return CellBounds(low, high, True, SAFE if high >= self.min_cell else SMALL, [])
        return None

    def run(self, audited: list[int], exact: bool, split: bool = True) -> dict[int, CellBounds]:
        """Bounds of the audited variables (local numbers). Large components, unless ``exact``: propagation
        (cells it pins are leaks or warnings, and are then treated as published, which splits the component),
        witnesses, probing, neighbourhoods, and only then a solve per cell."""
        found: dict[int, CellBounds] = {}
        pending = audited
        if self.n > LARGE and not exact:
            lo, hi = self.propagate()
            if (lo > hi).any():           # impossible with a witness in hand: numerical trouble, so no screens
                lo, hi = self.lb.astype(float), np.full(self.n, np.inf)
            self.low_bound, self.high_bound = lo, hi
            for i in pending:
                if hi[i] < self.min_cell or lo[i] == hi[i]:
                    status = (PINNED if lo[i] == hi[i] else SMALL) if hi[i] < self.min_cell else PINNED_LARGE
                    found[i] = CellBounds(int(lo[i]), int(hi[i]), lo[i] == hi[i], status, self.near(i))
            pending = [i for i in pending if i not in found]
            fixed = lo == hi
            if split and fixed.any() and not fixed.all():
                found.update(self.split(lo, fixed, pending, exact))
                return found
            pending = [i for i in pending if not self.safe(i)]
            if not self.certified or len(pending) * 100 >= len(audited):   # unless certificates left little
                self.witness_rounds(pending, lo, hi)
                pending = [i for i in pending if not self.safe(i)]
            for i in pending:
                if (probed := self.probe(i, lo, hi)) is not None:
                    found[i] = probed
                elif (local := self.local_decide(i)) is not None:
                    found[i] = local
        for i in audited:
            if i in found:
                continue
            try:
                found[i] = self.classify(i, exact)
            except Unresolved:
                found[i] = CellBounds(None, None, False, UNRESOLVED, self.all_origins)
        return found

    def split(self, lo: np.ndarray, fixed: np.ndarray, audited: list[int], exact: bool) -> dict[int, CellBounds]:
        """Solve again with the variables that propagation fixed moved to the right-hand side (every
        whole-number solution has those values); the rest falls apart into smaller components."""
        rows = []
        rhs = np.concatenate([self.b_eq, self.b_ub])
        n_eq = self.A_eq.shape[0]
        for k in range(self.stacked.shape[0]):
            start, end = self.stacked.indptr[k], self.stacked.indptr[k + 1]
            cols, coefs = self.stacked.indices[start:end], self.stacked.data[start:end]
            free = ~fixed[cols]
            if not free.any():
                continue
            b = int(rhs[k] - (coefs[~free] * lo[cols[~free]].astype(np.int64)).sum())
            rows.append(Row(cols[free].tolist(), coefs[free].tolist(), k < n_eq, b, self.origin_of[k]))
        want = np.zeros(self.n, dtype=bool)
        want[audited] = True
        reduced = LinearSystem(np.arange(self.n), lo.astype(np.int64), want, rows, [], [],
                               connected_components(self.n, rows))
        found = {}
        for comp in reduced.components:
            inner = [i for i, v in enumerate(comp.variables) if want[v]]
            if not inner:
                continue
            if not comp.rows:
                for i in inner:
                    found[comp.variables[i]] = CellBounds(int(lo[comp.variables[i]]), None, True, SAFE)
                continue
            solver = ComponentSolver(reduced, comp, self.min_cell, self.stats)
            solver.certify(point[comp.variables] for point in self.certified)
            solver.feasible()
            for i, cell_bounds in solver.run(inner, exact, split=False).items():
                found[comp.variables[i]] = cell_bounds
        return found

    def classify(self, i: int, exact: bool) -> CellBounds:
        proved_safe = self.wmax[i] >= self.min_cell and self.wmin[i] < self.wmax[i]
        if proved_safe and not exact:
            return CellBounds(int(self.wmin[i]), int(self.wmax[i]), False, SAFE)
        high, high_origins = self.upper(i)
        if high is None:
            if not exact:
                return CellBounds(int(self.wmin[i]), None, False, SAFE)
            low, _ = self.lower(i)
            return CellBounds(low, None, True, SAFE)
        if high >= self.min_cell and self.wmin[i] < high and not exact:
            return CellBounds(int(self.wmin[i]), high, False, SAFE)
        low, low_origins = self.lower(i)
        origins = sorted(set(high_origins) | set(low_origins)) if low == high else high_origins
        if high < self.min_cell:
            return CellBounds(low, high, True, PINNED if low == high else SMALL, origins)
        return CellBounds(low, high, True, PINNED_LARGE if low == high else SAFE,
                          origins if low == high else [])


def solve_system(system: LinearSystem, min_cell: int, exact: bool = False, certificates=None) -> tuple[
        dict[int, CellBounds], list[Component], SolveStats]:
    """Bounds of every audited (c) variable; also the components found inconsistent.

    ``certificates``: (values, changes): a value for every variable (-1 where none) and a list of
    (variables, values) arrays that change some of them; each is one whole-number table, checked
    exactly by :meth:`ComponentSolver.certify` before it counts for anything."""
    stats = SolveStats()
    bounds: dict[int, CellBounds] = {}
    inconsistent: list[Component] = []
    n_variables = len(system.lower)
    comp_of, local = np.full(n_variables, -1), np.zeros(n_variables, dtype=np.int64)
    for which, comp in enumerate(system.components):
        comp_of[comp.variables] = which
        local[comp.variables] = np.arange(len(comp.variables))
    for which, comp in enumerate(system.components):
        audited = [i for i, v in enumerate(comp.variables) if system.audited[v]]
        if not audited:
            continue
        if not comp.rows:          # a lone unknown in no relation: anything from its lower bound up
            for i in audited:
                v = comp.variables[i]
                bounds[v] = CellBounds(int(system.lower[v]), None, True, SAFE)
            continue
        solver = ComponentSolver(system, comp, min_cell, stats)
        if certificates is not None:
            solver.certify(_points(certificates, comp, which, comp_of, local))
        try:
            solver.feasible()
            for i, cell_bounds in solver.run(audited, exact).items():
                bounds[comp.variables[i]] = cell_bounds
        except Infeasible:
            inconsistent.append(comp)
            for i in audited:
                bounds[comp.variables[i]] = CellBounds(None, None, False, INCONSISTENT, solver.all_origins)
    return bounds, inconsistent, stats


def _points(certificates, comp: Component, which: int, comp_of: np.ndarray, local: np.ndarray):
    """The certificates' tables over component ``which``'s variables (those that change nothing there: once)."""
    values, changes = certificates
    base = values[np.asarray(comp.variables)]
    yield base
    for changed, new in changes:
        here = comp_of[changed] == which
        if here.any():
            point = base.copy()
            point[local[changed[here]]] = new[here]
            yield point


def _vstack(a, b):
    from scipy.sparse import vstack

    return vstack([a, b], format="csr")


def _matrix(system: LinearSystem, rows: list[int], local: dict[int, int], n: int):
    data, indices, indptr, rhs = [], [], [0], []
    for r in rows:
        row = system.rows[r]
        indices.extend(local[v] for v in row.variables)
        data.extend(row.coefficients)
        indptr.append(len(indices))
        rhs.append(row.rhs)
    matrix = csr_matrix((np.array(data, dtype=np.int64), np.array(indices, dtype=np.int64), np.array(indptr)),
                        shape=(len(rows), n))
    return matrix, np.array(rhs, dtype=np.int64)
