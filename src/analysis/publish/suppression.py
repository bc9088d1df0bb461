"""Linked-table cell suppression over every cell a run publishes (contract, section 4).

Method: primary suppression of every count from 1 to ``min_cell - 1``, then
secondary suppression until every primary cell is protected against all the
declared relations at once, judged as tau-argus and sdcTable audit a
publication: the largest whole value a primary cell can take, given every
published number and relation (counts whole, suppressed counts at least 1
because zeros are shown), must be at least ``min_cell``. A cell whose largest
value is at least ``min_cell`` is never pinned (its true value is below that
and also feasible).

Steps, repeated until nothing changes:
1. a sum relation with exactly one hidden cell gets a second one (the
   smallest published non-zero part that gives the first cell room to reach
   ``min_cell``, else the largest; the total only when no part will do);
2. each primary cell is checked with the HiGHS solvers in scipy: the linear
   relaxation first (an integer maximum is never above it), then an integer
   programme where the relaxation alone cannot decide; a cell found
   unprotected gets one more hidden cell in a relation it belongs to.
   In a component of more than ``LARGE`` hidden cells (a national run),
   the cells no witness reaches get one joint protection pattern instead
   (:func:`_pattern`): the published cells that must move for all of them
   to reach ``min_cell`` at once are hidden.

Zeros are never hidden, so a 'c' is always at least 1. The choice is
deterministic (cells are visited in key order). An independent attacker
(``analysis.attack``), sharing no code with this module, audits the result.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.sparse import csr_matrix, hstack, vstack

from analysis.publish.cells import Relation


@dataclass
class Protection:
    hidden: set
    primary: set
    rounds: int
    checked: int      # primary cells checked by linear programming
    unproven: int = 0   # times a cell of a large component was treated as unprotected without a proof (see _unprotected)
    witnesses: list = field(default_factory=list, repr=False)   # each {Key: value} where it differs from the truth

    # A witness is a whole-number table agreeing with everything published (see _unprotected). A cell hidden
    # later keeps its true value in an earlier witness, so a witness holds for the final publication unless it
    # moves a cell that the end of protect() publishes again; those are dropped there. They never leave the run's process: the batch hands them
    # with the true values to the independent audit as certificates, which it checks exactly itself
    # (analysis.attack.solve); a certificate can only show that a cell can take other values.

    @property
    def secondary(self) -> set:
        return self.hidden - self.primary


def protect(values: dict, relations: list[Relation], min_cell: int = 5,
            progress=None, shown=None, costs=None) -> Protection:
    """Choose the cells to hide. ``values``: Key -> true count; ``shown``: keys that outputs display;
    ``costs``: Key -> what hiding the cell costs readers (``analysis.publish.plan.cost``).

    Secondary cells are the cheapest that protect: cells no output displays
    (complements, margins) first, as they cost readers nothing, and a headline
    total only where no breakdown cell will do. Without ``costs``, a displayed
    cell costs 2 and another 1.
    """
    keys = sorted(values)
    index = {k: i for i, k in enumerate(keys)}
    v = np.array([values[k] for k in keys], dtype=np.int64)
    global _COST
    if costs is None:
        _COST = np.array([2.0 if shown is None or k in shown else 1.0 for k in keys])
    else:
        _COST = np.array([float(costs[k]) for k in keys])
    rels = [(r.kind, index[r.total], [index[p] for p in r.parts], r.coefficients) for r in relations]
    deviations = None   # every relation as rows over every cell: built on first use (large components only)
    member_of: list[list[int]] = [[] for _ in keys]
    for n, (_, total, parts, _) in enumerate(rels):
        for m in {total, *parts}:
            member_of[m].append(n)
    primary = (v >= 1) & (v < min_cell)
    hidden = primary.copy()
    rounds = checked = 0
    verified: set[int] = set()   # hiding more cells only widens what a cell can be: once safe, safe
    unproven = 0
    found: list[dict] = []       # every witness, as {cell: value} where it differs from the true value
    while True:
        rounds += 1
        _close(v, hidden, rels, min_cell, primary)
        unsafe, n, guessed = _unprotected(v, hidden, primary, rels, member_of, min_cell, verified, found=found)
        checked += n
        unproven += sum(len(cells) for _, cells in guessed)
        if progress:
            progress(rounds, int(hidden.sum()), len(unsafe) + sum(len(cells) for _, cells in guessed))
        if not unsafe and not guessed:
            break
        before = int(hidden.sum())
        deviations = deviations or _deviation_rows(v, rels)
        for p in unsafe:
            pattern = _cell_pattern(p, v, hidden, rels, member_of, deviations, min_cell)
            if pattern is None or not len(pattern):
                _widen(p, v, hidden, rels, member_of, min_cell)
            else:
                hidden[pattern] = True
        for comp, cells in guessed:
            pattern = _pattern(comp, cells, v, hidden, rels, member_of, deviations, min_cell)
            if pattern is None or not len(pattern):   # none near them, or only a fractional way up: one more
                for p in cells:                           # cell each, as for a proved cell
                    _widen(p, v, hidden, rels, member_of, min_cell)
            else:
                hidden[pattern] = True
        if int(hidden.sum()) == before and guessed:   # nothing left to hide near them: prove each one
            unsafe, n, _ = _unprotected(v, hidden, primary, rels, member_of, min_cell, verified, exact=True,
                                        found=found)
            for p in unsafe:
                _widen(p, v, hidden, rels, member_of, min_cell)
            checked += n
            if not unsafe:
                continue
        if int(hidden.sum()) == before:
            raise RuntimeError(f"suppression cannot protect {len(unsafe)} cell(s), e.g. {keys[unsafe[0]]}")
    _release_costly(v, hidden, primary, rels, member_of, min_cell, deviations or _deviation_rows(v, rels),
                    found)
    found[:] = [w for w in found if all(hidden[i] for i in w)]   # witnesses that move a cell published again
    _release_pinned(v, hidden, primary, rels, member_of, found)   # no longer hold: dropped
    return Protection({keys[i] for i in np.flatnonzero(hidden)}, {keys[i] for i in np.flatnonzero(primary)},
                      rounds, checked, unproven, [{keys[i]: value for i, value in w.items()} for w in found])


SWAP_ROUNDS = 3   # rounds of patterns tried to replace one costly cell (a limit on work, not on time)
HEADLINE_COST = 1000   # plan.yaml's headline cost: a pattern hiding such a cell is searched for further afield,
COSTLY = 40            # and secondary cells at least this costly (displayed coarse cells) are tried again at the end


def _release_costly(v, hidden, primary, rels, member_of, min_cell, deviations, found) -> None:
    """Publish again each costly secondary cell that cheaper cells can replace.

    Patterns are chosen one small count at a time, so a cell hidden early for one
    count may be unneeded once later patterns are in place, or replaceable by
    cheaper ones. Most costly first (headline figures, then coarse breakdown cells;
    the larger value first at equal cost), each is published again if every primary
    cell of its component is still proved protected without it (a witness or an
    exact check). A headline figure that is still needed is swapped where it can be:
    the counts it protected get their cheapest patterns without it, and the swap is
    kept when those cost less than it and every count is again proved protected.
    """
    candidates = [i for i in np.flatnonzero(hidden & ~primary) if _COST[i] >= COSTLY]
    for i in sorted(candidates, key=lambda i: (-_COST[i], -v[i], i)):
        hidden[i] = False
        headline = _COST[i] >= HEADLINE_COST
        # a breakdown cell needs only a yes or no; a headline figure the counts it protects, for a swap
        unsafe = _check(v, hidden, primary, rels, member_of, min_cell, [i], found, first=not headline)
        if not unsafe:
            continue
        if not headline:   # a breakdown cell: published again only where nothing else is needed
            hidden[i] = True
            continue
        trial, swapped, dearer = hidden.copy(), False, False
        for _ in range(SWAP_ROUNDS):
            for p in unsafe:
                pattern = _cell_pattern(p, v, trial, rels, member_of, deviations, min_cell)
                if pattern is None or not len(pattern):   # only a fractional way up: one more cell near it
                    _widen(p, v, trial, rels, member_of, min_cell)
                else:
                    trial[pattern] = True
                # the cells added only grow: once they cost as much as the cell, no swap of this round or a
                # later one can be kept, so the counts left are not searched (the outcome is the same)
                dearer = _COST[np.flatnonzero(trial & ~hidden)].sum() >= _COST[i]
                if dearer:
                    break
            if dearer:
                break
            added = np.flatnonzero(trial & ~hidden)
            unsafe = _check(v, trial, primary, rels, member_of, min_cell, [i, *added], found)
            if not unsafe:
                swapped = True
                break
        if swapped:
            hidden[:] = trial
        else:
            hidden[i] = True


def _check(v, hidden, primary, rels, member_of, min_cell, changed, found, first: bool = False) -> list:
    """Primary cells proved unprotected, in the components that the cells ``changed`` belong to or touch.

    A witness found before (``found``) that moves only cells hidden now still agrees with everything
    published, so a primary cell it takes to ``min_cell`` needs no new solve; witnesses found here are kept.
    """
    near = set()
    for c in changed:
        near |= _neighbours(c, hidden, rels, member_of) | ({c} if hidden[c] else set())
    valid = [w for w in found if all(hidden[c] for c in w)]
    reached = {p for w in valid for p, value in w.items() if primary[p] and value >= min_cell}
    return _unprotected(v, hidden, primary, rels, member_of, min_cell, reached, exact=True, only=near, found=found,
                        first=first, nearest=near)[0]


def _neighbours(i, hidden, rels, member_of) -> set:
    """The hidden cells of the relations that hold cell ``i``: the components its publication can affect."""
    return {m for n in member_of[i] for m in (rels[n][1], *rels[n][2]) if hidden[m]}


def _release_pinned(v, hidden, primary, rels, member_of, found) -> None:
    """Publish again every secondary cell that everything published pins anyway (its smallest and largest
    values in the linear relaxation are equal): hiding it protects nothing and costs readers a number.

    A pinned cell's value already follows from what is published, so publishing it leaves what every other
    cell can be exactly as it was: all of them can be released at once, and every primary cell stays
    protected. A cell that some witness moves is not pinned and is not checked.
    """
    moved = {i for w in found for i in w}
    release = []
    for comp in _components(hidden, rels):
        todo = [i for i in comp if not primary[i] and i not in moved]
        if not todo:
            continue
        pos, a_eq, b_eq, a_ub, b_ub = _system(comp, v, hidden, rels, member_of)
        n = len(pos)
        for i in todo:
            c = np.zeros(n)
            c[pos[i]] = 1.0
            low = _linprog(c, a_eq, b_eq, a_ub, b_ub, [(1, None)] * n, "highs-ds")
            high = _linprog(-c, a_eq, b_eq, a_ub, b_ub, [(1, None)] * n, "highs-ds")
            if low.status == 0 and high.status == 0 and -high.fun - low.fun < 1e-9:
                release.append(i)
    hidden[release] = False


def _close(v, hidden, rels, min_cell, primary) -> None:
    """Step 1 until stable."""
    changed = True
    while changed:
        changed = False
        for kind, total, parts, _ in rels:
            if kind != "sum" or not SUM_RULE:
                continue
            members = [total, *parts]
            hid = [m for m in members if hidden[m]]
            if len(hid) == 1:
                pick = _candidate(hid[0], total, parts, v, hidden, min_cell)
                if pick is not None:
                    hidden[pick] = changed = True
            elif len(hid) > 1 and not hidden[total]:
                # The hidden parts add up to a known number R, each is at least 1: a part is at most
                # R - (k - 1). Where that is below min_cell for a small part, hide one more part.
                k = len(hid)
                room = int(v[total]) - sum(int(v[m]) for m in parts if not hidden[m]) - (k - 1)
                small = [m for m in hid if primary[m]]
                if small and room < min_cell:
                    pick = _candidate(small[0], total, parts, v, hidden, min_cell)
                    if pick is not None:
                        hidden[pick] = changed = True


SUM_RULE = True
_COST = np.zeros(0)   # what hiding each cell costs readers (set by protect)


def _candidate(h, total, parts, v, hidden, min_cell):
    """The published non-zero cell of a relation to hide beside hidden cell ``h``.

    Preference: a cell no output displays, then one that gives ``h`` room to
    reach ``min_cell`` (the smallest such), then the largest part, then the total.
    """
    need = max(min_cell + 1 - int(v[h]), 1)
    open_parts = [m for m in parts if m != h and not hidden[m] and v[m] > 0]
    if total != h and not hidden[total] and v[total] > 0:
        open_parts.append(total)
    if not open_parts:
        return None

    def cost(m):
        short = v[m] < need
        return (_COST[m], m == total, short, -v[m] if short else v[m], m)

    return min(open_parts, key=cost)


def _widen(p, v, hidden, rels, member_of, min_cell) -> None:
    """Hide one more cell near unprotected primary cell ``p``.

    Relations of ``p`` first (fewest hidden cells first); where they have no
    published non-zero cell left, the relations of the hidden cells they
    reach, breadth first.
    """
    frontier, seen_cells, seen_rels = [p], {p}, set()
    while frontier:
        options, reached = [], []
        for n in _relations_of(frontier, member_of, seen_rels):
            kind, total, parts, _ = rels[n]
            members = [total, *parts]
            pick = _candidate(p, total, parts, v, hidden, min_cell) if p in parts else None
            if pick is None:
                open_ = sorted((m for m in members if not hidden[m] and v[m] > 0),
                               key=lambda m: (_COST[m], v[m], m))
                pick = open_[0] if open_ else None
            if pick is not None:
                options.append((_COST[pick], sum(hidden[m] for m in members), kind != "sum", n, pick))
            reached += [m for m in members if hidden[m] and m not in seen_cells]
        if options:
            hidden[min(options)[-1]] = True
            return
        seen_cells.update(reached)
        frontier = reached


def _components(hidden, rels):
    """Connected groups of hidden cells (two hidden cells meet in a relation)."""
    parent = {int(i): int(i) for i in np.flatnonzero(hidden)}

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for _, total, parts, _ in rels:
        hs = [m for m in (total, *parts) if hidden[m]]
        for m in hs[1:]:
            a, b = find(hs[0]), find(m)
            if a != b:
                parent[max(a, b)] = min(a, b)
    comps: dict[int, list[int]] = {}
    for i in parent:
        comps.setdefault(find(i), []).append(i)
    return list(comps.values())


LARGE = 2000   # hidden cells: a component this large gets witnesses only (below), no exact check per cell


def _unprotected(v, hidden, primary, rels, member_of, min_cell, verified, exact: bool = False, found=None,
                 only=None, first: bool = False, nearest=()):
    """Primary cells whose largest feasible whole value is below ``min_cell`` (not yet verified ones), how
    many solves that took, and the cells of large components not proved either way, as (component, cells).

    Every decision is a proof, so the answer is the one an integer programme per
    cell would give, found with fewer solves:

    - **witnesses**: a whole-number solution of the component's constraints in
      which a cell is at least ``min_cell`` proves that cell protected. One
      solve maximising the sum of the unverified cells (capped at ``min_cell``)
      usually gives one for many cells at once (an interior-point solve with
      crossover: on a national run's components of thousands of hidden cells
      the dual simplex took minutes where this takes seconds); where its optimum
      is fractional, an integer programme stopped after ``WITNESS_NODES`` nodes
      gives one (any whole-number solution it has found is a witness). Every
      witness found is kept for the component's other cells;
    - what no witness decides gets the exact check of :func:`_can_reach`, whose
      own proof of a "yes" becomes a witness too;
    - except (unless ``exact``) in a component of more than ``LARGE`` hidden cells (a national
      run's hidden cells of every authority, linked through the totals over
      authorities: components of 8,000 to 24,000 cells, where one exact check
      takes seconds and thousands are needed per round). There the witness
      solves stop when they reach less than one cell in a hundred, and the
      cells no witness reaches are returned, unproved, with their component:
      they get a joint protection pattern (:func:`_pattern`), which can only
      widen what any cell can be, and are checked again next round (measured on
      a national run: 3 rounds, 93 s). Protection itself is never assumed: the rounds
      end only when a witness or an exact check has proved every primary cell
      protected. The price is possibly more hidden cells than the exact check
      would hide; ``Protection.unproven`` counts these decisions.

    ``first``: stop at the first unprotected cell (a caller that needs only a yes or no), checking the cells
    of ``nearest`` (those next to a change) before the others.
    """
    unsafe, checked, guessed = [], 0, []
    for comp in _components(hidden, rels):
        if only is not None and only.isdisjoint(comp):   # a component the change cannot have touched
            continue
        todo = [i for i in comp if primary[i] and i not in verified]
        if not todo:
            continue
        system = _system(comp, v, hidden, rels, member_of)
        pos = system[0]
        witnesses = []
        bounded = not exact and len(comp) > LARGE
        if first:   # the cells next to the change first, one exact check each: where a count is left
            for p in [p for p in todo if p in nearest]:   # unprotected, it is most often one of these
                checked += 1
                reachable, point = _can_reach(system, p, min_cell)
                if not reachable:
                    return [p], checked, guessed
                verified.add(p)
                if point is not None:
                    witnesses.append(point)
                    _keep(found, point, pos, v)
            todo = [i for i in todo if i not in verified]
        while todo:
            checked += 1
            point = _best_point(system, todo, min_cell)
            reached = [] if point is None else [i for i in todo if point[pos[i]] >= min_cell - 1e-9]
            if not reached:
                break
            witnesses.append(point)
            _keep(found, point, pos, v)
            verified.update(reached)
            todo = [i for i in todo if i not in verified]
            if bounded and len(reached) * 100 < len(todo):
                break
        unreached = []
        for p in todo:
            if p in verified:
                continue
            if any(w[pos[p]] >= min_cell - 1e-9 for w in witnesses):
                verified.add(p)
                continue
            if bounded:
                unreached.append(p)
                continue
            checked += 1
            reachable, point = _can_reach(system, p, min_cell)
            if reachable:
                verified.add(p)
                if point is not None:
                    witnesses.append(point)
                    _keep(found, point, pos, v)
            else:
                unsafe.append(p)
                if first:
                    return unsafe, checked, guessed
        if unreached:
            guessed.append((comp, unreached))
    return unsafe, checked, guessed


def _deviation_rows(v, rels):
    """Every relation as rows over every cell, in deviations from the true values ``d = x - v``.

    Returns (A_eq, A_ub, b_ub): a sum gives ``A_eq d = 0``; an inclusion or overlap
    gives ``A_ub d <= b_ub``, ``b_ub`` being its slack at the true values (at least 0).
    Columns are cells; CSC, so a region's columns are cheap to take.
    """
    er, ec, ed, ur, uc, ud, slack = [], [], [], [], [], [], []
    n_eq = 0
    for relation in rels:
        for equal, terms in _rows(*relation):
            cells, coefficients = zip(*terms)
            if equal:
                er += [n_eq] * len(terms)
                n_eq += 1
            else:
                ur += [len(slack)] * len(terms)
                slack.append(-sum(c * int(v[m]) for m, c in terms))
            (ec if equal else uc).extend(cells)
            (ed if equal else ud).extend(map(float, coefficients))
    n = len(v)
    a_eq = csr_matrix((ed, (er, ec)), shape=(n_eq, n)).tocsc()
    a_ub = csr_matrix((ud, (ur, uc)), shape=(len(slack), n)).tocsc()
    return a_eq, a_ub, np.array(slack, dtype=float)


PATTERN_REACH = (2, 4)   # relation steps around a component tried for its joint pattern, nearest first


def _pattern(comp, cells, v, hidden, rels, member_of, deviations, min_cell):
    """Published cells to hide so that ``cells`` (hidden cells of one large component that no witness
    reaches) can all reach ``min_cell`` at once; None when no such pattern is found near them.

    One linear programme, the protection model of Fischetti and Salazar with every
    cell's upper protection asked at once: each non-zero cell within a few relation
    steps of the cells' component may move from its true value, hidden cells freely
    (down to 1), published ones at a cost (twice as much for a cell an output
    displays); cells further away and zeros keep their true values, so every
    relation still holds. The published cells that have to move are the pattern:
    hidden, they give every one of ``cells`` a way up to ``min_cell`` (in the
    relaxation; the next round proves it, or asks again).
    """
    a_eq, a_ub, slack = deviations
    for reach in PATTERN_REACH:
        region = _around(comp, reach, v, rels, member_of)
        found = _pattern_lp(cells, region, v, hidden, a_eq, a_ub, slack, min_cell)
        if found is not None:
            return found
    return None


CELL_REACH = (2, 4, 8)   # relation steps around an unprotected cell tried for its own pattern, nearest first
PATTERN_METHOD = "highs-ds"   # dual simplex: these LPs are small


def _cell_pattern(p, v, hidden, rels, member_of, deviations, min_cell):
    """The cheapest published cells to hide so that primary cell ``p`` can reach ``min_cell`` (Fischetti and
    Salazar's model for one cell, over the non-zero cells within a few relation steps of it; cells further
    away keep their true values): the cost of a cell is what readers lose (``protect``'s ``costs``), hidden
    cells move for nothing. None when no pattern is found near it."""
    a_eq, a_ub, slack = deviations
    best, best_cost, size = None, np.inf, 0
    for reach in CELL_REACH:
        region = _around([p], reach, v, rels, member_of, hidden)
        if len(region) == size:   # nothing more within reach
            break
        size = len(region)
        found = _pattern_lp([p], region, v, hidden, a_eq, a_ub, slack, min_cell)
        if found is not None and _COST[found].sum() < best_cost:
            best, best_cost = found, _COST[found].sum()
        if best is not None and (not len(best) or reach >= 4 and _COST[best].max() < HEADLINE_COST):
            break   # free, or found within 4 steps without a headline figure: a wider search is not worth it
    return best


WIDE = 12   # a relation with more cells than this (all authorities against each) lends only a few to a region


def _around(comp, reach, v, rels, member_of, hidden=None):
    """The cells of ``comp`` and the non-zero cells up to ``reach`` relation steps from it.

    With ``hidden``, a relation of more than ``WIDE`` cells (the total over every
    authority and its parts) brings in its total, its hidden cells and the
    ``WIDE`` cheapest published ones (then the largest) rather than all of them:
    the region is where cells may move, and every cell left out keeps its true
    value, so a pattern found in it is still a pattern; it only may not be the
    cheapest one.
    """
    near = set(comp)
    frontier = list(comp)
    for _ in range(reach):
        nxt = []
        for n in _relations_of(frontier, member_of, set()):
            kind, total, parts, _ = rels[n]
            members = (total, *parts)
            if hidden is not None and len(members) > WIDE:
                open_ = sorted((m for m in parts if not hidden[m] and v[m] > 0), key=lambda m: (_COST[m], -v[m], m))
                members = [total] + [m for m in parts if hidden[m]] + open_[:WIDE]
            for m in members:
                if m not in near and v[m] > 0:
                    near.add(m)
                    nxt.append(m)
        frontier = nxt
    return np.array(sorted(near), dtype=np.int64)


def _pattern_lp(cells, region, v, hidden, a_eq, a_ub, slack, min_cell):
    """The linear programme of :func:`_pattern` over ``region``; the published cells it moves, or None."""
    eq = a_eq[:, region].tocsr()
    ub = a_ub[:, region].tocsr()
    eq = eq[np.flatnonzero(np.diff(eq.indptr))]           # rows touching the region; the others stay satisfied
    keep = np.flatnonzero(np.diff(ub.indptr))
    ub, b_ub = ub[keep], slack[keep]
    hid = hidden[region]
    h, pub = np.flatnonzero(hid), np.flatnonzero(~hid)
    cols = lambda m: hstack([m[:, h], m[:, pub], -m[:, pub]]).tocsr()   # noqa: E731  d = (d_hidden, up, down)
    weight = _COST[region[pub]]
    c = np.concatenate([np.zeros(len(h)), weight, weight])
    lower = np.concatenate([1.0 - v[region[h]], np.zeros(2 * len(pub))])
    upper = np.concatenate([np.full(len(h), np.inf), np.full(len(pub), np.inf), v[region[pub]] - 1.0])
    where = {int(region[j]): k for k, j in enumerate(h)}
    for p in cells:
        lower[where[p]] = min_cell - v[p]
    res = _linprog(c, cols(eq), np.zeros(eq.shape[0]), cols(ub), b_ub, np.column_stack([lower, upper]), PATTERN_METHOD)
    if res.status != 0 or res.x is None:
        return None
    moved = res.x[len(h):len(h) + len(pub)] + res.x[len(h) + len(pub):]
    return region[pub[moved > 1e-7]]


def _keep(found, point, pos, v) -> None:
    """Add a witness to ``found`` as {cell: value}, only where it differs from the true value."""
    if found is None:
        return
    cells = np.fromiter(pos, dtype=np.int64, count=len(pos))   # in position order (see _system)
    values = np.rint(point).astype(np.int64)
    moved = values != v[cells]
    found.append(dict(zip(cells[moved].tolist(), values[moved].tolist())))


def _best_point(system, cells, min_cell=5):
    """A whole-number solution in which as many of ``cells`` as possible reach ``min_cell``, or None.

    Maximises the sum of min(x, min_cell) over ``cells`` (a linear programme
    with one capped copy of each). Where the optimal vertex is fractional, the
    same problem as an integer programme, stopped after ``WITNESS_NODES`` nodes: any
    whole-number solution it has found by then serves (it need not be optimal).
    """
    pos, a_eq, b_eq, a_ub, b_ub = system
    n, m = len(pos), len(cells)
    cols = [pos[i] for i in cells]
    c = np.concatenate([np.zeros(n), -np.ones(m)])
    link = csr_matrix((np.concatenate([np.ones(m), -np.ones(m)]),
                       (np.concatenate([np.arange(m), np.arange(m)]), np.concatenate([n + np.arange(m), cols]))),
                      shape=(m, n + m))   # t_j - x_j <= 0

    a_ub2 = vstack([hstack([a_ub, csr_matrix((a_ub.shape[0], m))]), link])
    b_ub2 = np.concatenate([b_ub, np.zeros(m)])
    a_eq2 = hstack([a_eq, csr_matrix((a_eq.shape[0], m))])
    bounds = [(1, 10 * _BIG)] * n + [(0, min_cell)] * m
    res = _linprog(c, a_eq2, b_eq, a_ub2, b_ub2, bounds, "highs-ipm" if n > SIMPLEX_UP_TO else "highs-ds")
    if res.status != 0 or res.x is None:
        return None
    x = res.x[:n]
    if np.all(np.abs(x - np.round(x)) < 1e-9):
        return x
    constraints = [LinearConstraint(a_ub2, -np.inf, b_ub2)]
    if a_eq2.shape[0]:
        constraints.append(LinearConstraint(a_eq2, b_eq, b_eq))
    lo, hi = np.array(bounds, dtype=float).T
    found = milp(c, constraints=constraints, integrality=np.concatenate([np.ones(n), np.zeros(m)]),
                 bounds=Bounds(lo, hi), options={"node_limit": WITNESS_NODES, "mip_rel_gap": 0.05})
    return None if found.x is None else _whole(system, found.x[:n])


SIMPLEX_UP_TO = 2000   # hidden cells: a smaller component's witness LP by the dual simplex (a vertex, fast when small)
WITNESS_NODES = 200   # a limit on work, not on time, so that the choice never depends on the machine's speed


def _whole(system, x):
    """``x`` rounded, if that is an exact whole-number solution of the system (every cell at least 1), else None."""
    pos, a_eq, b_eq, a_ub, b_ub = system
    x = np.round(np.asarray(x, dtype=float))
    if len(x) and x.min() < 1:
        return None
    if a_eq.shape[0] and not np.array_equal(a_eq @ x, b_eq):
        return None
    if a_ub.shape[0] and np.any(a_ub @ x > b_ub):
        return None
    return x


def _linprog(c, a_eq, b_eq, a_ub, b_ub, bounds, method):
    """scipy's HiGHS linear programme; empty constraint blocks are left out."""
    return linprog(c, A_ub=a_ub if a_ub.shape[0] else None, b_ub=b_ub if a_ub.shape[0] else None,
                   A_eq=a_eq if a_eq.shape[0] else None, b_eq=b_eq if a_eq.shape[0] else None,
                   bounds=bounds, method=method)


_BIG = 10 ** 7   # a cap on hidden cells for the sum maximisation (counts of children are far below it)


def _system(comp, v, hidden, rels, member_of):
    """Linear constraints on the hidden cells of one component: (position, A_eq, b_eq, A_ub, b_ub)."""
    pos = {c: j for j, c in enumerate(sorted(comp))}
    eq_rows, eq_b, ub_rows, ub_b = [], [], [], []
    for n in _relations_of(comp, member_of, set()):
        for equal, terms in _rows(*rels[n]):
            row, rhs = _row(terms, v, hidden, pos)
            if equal:
                eq_rows.append(row), eq_b.append(rhs)
            elif row:
                ub_rows.append(row), ub_b.append(rhs)
    return pos, _matrix(eq_rows, len(pos)), np.array(eq_b, float), _matrix(ub_rows, len(pos)), np.array(ub_b, float)


def _rows(kind, total, parts, coefficients=()):
    """One relation as linear rows ``(equal, [(cell, coefficient)])``, each ``terms = 0`` or ``terms <= 0``:
    a sum is total - sum of parts = 0; ``le_sum`` is sum of parts - total <= 0; a linear bound is its own
    terms <= 0; otherwise each part <= total, and for an overlap also total <= the sum of its parts. The one
    reading of a relation that both the checks (:func:`_system`) and the patterns (:func:`_deviation_rows`)
    use."""
    if kind == "linear":
        return [(False, list(zip((total, *parts), coefficients)))]
    whole = [(total, 1)] + [(p, -1) for p in parts]
    if kind == "sum":
        return [(True, whole)]
    if kind == "le_sum":
        return [(False, [(total, -1)] + [(p, 1) for p in parts])]
    rows = [(False, [(p, 1), (total, -1)]) for p in parts]
    if kind == "overlap":
        rows.append((False, whole))
    return rows


def _relations_of(cells, member_of, seen):
    """Each relation that one of ``cells`` belongs to, once (``seen`` is updated)."""
    for c in cells:
        for n in member_of[c]:
            if n not in seen:
                seen.add(n)
                yield n


def _row(terms, v, hidden, pos):
    """One linear row over the hidden cells; published cells move to the right-hand side."""
    row, rhs = {}, 0
    for m, coef in terms:
        if hidden[m]:
            row[pos[m]] = row.get(pos[m], 0) + coef
        else:
            rhs -= coef * int(v[m])
    return row, rhs


def _matrix(rows, n):
    data, ri, ci = [], [], []
    for r, row in enumerate(rows):
        for c, a in row.items():
            if a:
                ri.append(r), ci.append(c), data.append(a)
    return csr_matrix((data, (ri, ci)), shape=(len(rows), n), dtype=float)


def _can_reach(system, p, min_cell) -> tuple[bool, np.ndarray | None]:
    """Can hidden cell ``p`` take a whole value of at least ``min_cell``, given everything published?

    The linear relaxation answers "no" for certain when its maximum is below
    ``min_cell`` (a whole-number maximum is never above it), and "yes" when its
    optimal vertex is whole (an exact solution); otherwise a whole-number
    feasibility programme with ``p >= min_cell`` decides. Returns the answer and
    the whole-number solution that proves a "yes" (None when unbounded).
    """
    pos, a_eq, b_eq, a_ub, b_ub = system
    n = len(pos)
    c = np.zeros(n)
    c[pos[p]] = -1.0
    res = _linprog(c, a_eq, b_eq, a_ub, b_ub, [(1, None)] * n, "highs")
    if res.status == 3:      # unbounded above
        return True, None
    if res.status != 0:
        raise RuntimeError(f"suppression check failed: {res.message}")
    if -res.fun + 1e-7 < min_cell:
        return False, None
    vertex = _whole(system, res.x)
    if vertex is not None and vertex[pos[p]] >= min_cell:
        return True, vertex
    lower = np.ones(n)
    lower[pos[p]] = min_cell
    constraints = []
    if a_eq.shape[0]:
        constraints.append(LinearConstraint(a_eq, b_eq, b_eq))
    if a_ub.shape[0]:
        constraints.append(LinearConstraint(a_ub, -np.inf, b_ub))
    whole = milp(np.zeros(n), constraints=constraints, integrality=np.ones(n),
                 bounds=Bounds(lower, np.full(n, np.inf)))
    if whole.status != 0:
        return False, None
    return True, _whole(system, whole.x)
