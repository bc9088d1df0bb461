"""The joint protection pattern used for large components (suppression._pattern), worked by hand.

Each check enumerates every whole-number table consistent with what is
published, by brute force in this file (no solver, nothing shared with the
suppression), before and after the pattern is hidden.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from analysis.publish import suppression as S

#   cells:  0 a  1 b  2 R1 (row 1: a + b)
#           3 c  4 d  5 R2 (row 2: c + d)
#           6 C1 (a + c)  7 C2 (b + d)  8 T (R1 + R2 = C1 + C2)
RELATIONS = [("sum", 2, [0, 1], ()), ("sum", 5, [3, 4], ()), ("sum", 6, [0, 3], ()), ("sum", 7, [1, 4], ()),
             ("sum", 8, [2, 5], ()), ("sum", 8, [6, 7], ())]   # (kind, total, parts, coefficients of a linear bound)


def _table(a, b, c, d):
    return np.array([a, b, a + b, c, d, c + d, a + c, b + d, a + b + c + d], dtype=np.int64)


def _largest(v, hidden, cell, span=12):
    """Brute force: the largest whole value of ``cell`` over every table agreeing with the published cells
    (hidden cells at least 1, zeros shown), or None when no table agrees."""
    free = [i for i in range(4) if hidden[[0, 1, 3, 4][i]]]
    interior = [0, 1, 3, 4]
    best = None
    for guess in itertools.product(range(1, span + 1), repeat=len(free)):
        x = [int(v[m]) for m in interior]
        for i, g in zip(free, guess):
            x[i] = g
        t = _table(*x)
        if all(hidden[m] or t[m] == v[m] for m in range(9)) and all(t[m] >= 1 for m in range(9) if hidden[m]):
            best = t[cell] if best is None else max(best, t[cell])
    return best


def _pattern(v, hidden, cells, shown=None):
    member_of = [[] for _ in v]
    for n, (_, total, parts, _) in enumerate(RELATIONS):
        for m in {total, *parts}:
            member_of[m].append(n)
    shown = np.ones(len(v), dtype=bool) if shown is None else shown
    S._COST = np.where(shown, 2.0, 1.0)   # protect()'s costs when none are given: displayed 2, others 1
    comp = [int(i) for i in np.flatnonzero(hidden)]
    return S._pattern(comp, cells, v, hidden, RELATIONS, member_of, S._deviation_rows(v, RELATIONS), 5)


def test_deviation_rows_hold_at_the_true_values():
    v = _table(2, 10, 8, 20)
    rels = RELATIONS + [("le", 8, [2, 5], ()), ("overlap", 8, [2, 5, 6], ())]
    a_eq, a_ub, slack = S._deviation_rows(v, rels)
    assert a_eq.shape == (6, 9) and not np.any(a_eq @ v)        # every sum is total - parts = 0
    assert np.all(slack >= 0)
    assert a_ub.shape[0] == len(slack) == 2 + 3 + 1
    assert slack.tolist() == [40 - 12, 40 - 28, 40 - 12, 40 - 28, 40 - 10, 12 + 28 + 10 - 40]


def test_a_pinned_cell_gets_the_cells_that_let_it_reach_five():
    v = _table(2, 10, 8, 20)
    hidden = np.zeros(9, dtype=bool)
    hidden[0] = True
    assert _largest(v, hidden, 0) == 2                            # alone, 'a' is pinned by its margins
    pattern = _pattern(v, hidden, [0])
    assert pattern is not None and len(pattern)
    assert not hidden[pattern].any() and (v[pattern] > 0).all()
    hidden[pattern] = True
    assert _largest(v, hidden, 0, span=30) >= 5   # the rest of a rectangle moves d (20) too: a wider search
    # the cheapest way moves three cells by 3 each (the rest of a rectangle, or both margins and the grand total)
    assert len(pattern) == 3


def test_zeros_never_move():
    v = _table(2, 0, 8, 20)                                       # b = 0 is shown, so never hidden
    hidden = np.zeros(9, dtype=bool)
    hidden[0] = True
    pattern = _pattern(v, hidden, [0])
    assert pattern is not None and 1 not in set(pattern.tolist())
    hidden[pattern] = True
    assert _largest(v, hidden, 0) >= 5


def test_cells_no_output_displays_are_preferred():
    v = _table(2, 10, 8, 20)
    hidden = np.zeros(9, dtype=bool)
    hidden[0] = True
    shown = np.ones(9, dtype=bool)
    shown[[1, 3, 4]] = False                                       # the interior is shown nowhere; margins are
    pattern = _pattern(v, hidden, [0], shown)
    assert sorted(pattern.tolist()) == [1, 3, 4]


@pytest.mark.parametrize("a", [1, 2, 3, 4])
def test_two_small_cells_of_one_row_both_reach_five(a):
    v = _table(a, 3, 8, 20)
    hidden = np.zeros(9, dtype=bool)
    hidden[[0, 1]] = True                                          # a and b hidden, their row total shown
    assert _largest(v, hidden, 0) < 5
    pattern = _pattern(v, hidden, [0, 1])
    hidden[pattern] = True
    assert _largest(v, hidden, 0) >= 5 and _largest(v, hidden, 1) >= 5
