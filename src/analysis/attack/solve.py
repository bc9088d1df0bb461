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

Unless every bound is asked for (``exact``), a cell stops as soon as it is
proved safe, so its reported range is then only "at least this wide".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import Bounds as VariableBounds
from scipy.optimize import LinearConstraint, linprog, milp
from scipy.sparse import csr_matrix

from .system import Component, LinearSystem

TOLERANCE = 1e-6
MILP_SECONDS = 120

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
        self.origin_of = [system.rows[r].origin for r in eq] + [system.rows[r].origin for r in ub]
        self.all_origins = sorted(set(self.origin_of))
        self.wmin = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
        self.wmax = np.full(n, -1, dtype=np.int64)
        self.n = n

    # --- solver calls -------------------------------------------------------------------------
    def lp(self, objective: np.ndarray):
        self.stats.lp += 1
        res = linprog(objective,
                      A_ub=self.ub_float if self.A_ub.shape[0] else None,
                      b_ub=self.b_ub.astype(float) if self.A_ub.shape[0] else None,
                      A_eq=self.eq_float if self.A_eq.shape[0] else None,
                      b_eq=self.b_eq.astype(float) if self.A_eq.shape[0] else None,
                      bounds=np.column_stack([self.lb, np.full(self.n, np.inf)]), method="highs-ds")
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
        res = milp(objective, integrality=np.ones(self.n), bounds=VariableBounds(self.lb, np.inf),
                   constraints=constraints, options={"time_limit": MILP_SECONDS})
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


def solve_system(system: LinearSystem, min_cell: int, exact: bool = False) -> tuple[dict[int, CellBounds],
                                                                                   list[Component], SolveStats]:
    """Bounds of every audited (c) variable; also the components found inconsistent."""
    stats = SolveStats()
    bounds: dict[int, CellBounds] = {}
    inconsistent: list[Component] = []
    for comp in system.components:
        audited = [i for i, v in enumerate(comp.variables) if system.audited[v]]
        if not audited:
            continue
        if not comp.rows:          # a lone unknown in no relation: anything from its lower bound up
            for i in audited:
                v = comp.variables[i]
                bounds[v] = CellBounds(int(system.lower[v]), None, True, SAFE)
            continue
        solver = ComponentSolver(system, comp, min_cell, stats)
        try:
            solver.feasible()
            for i in audited:
                try:
                    bounds[comp.variables[i]] = solver.classify(i, exact)
                except Unresolved:
                    bounds[comp.variables[i]] = CellBounds(None, None, False, UNRESOLVED, solver.all_origins)
        except Infeasible:
            inconsistent.append(comp)
            for i in audited:
                bounds[comp.variables[i]] = CellBounds(None, None, False, INCONSISTENT, solver.all_origins)
    return bounds, inconsistent, stats


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
