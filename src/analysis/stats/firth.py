"""Firth's penalised logistic regression with profile penalised-likelihood intervals and tests (issue 17).

- Estimate: Firth (1993), the maximum of the penalised log-likelihood
  l*(b) = l(b) + 1/2 log|X'W(b)X| (Jeffreys prior), found by Newton-Raphson on the
  modified score U*(b) = X'(y - p + h (1/2 - p)), h the diagonal of the hat matrix, with
  logistf's step (the information of the augmented data, X' diag((1 + h) w) X; R package
  logistf 1.26, src/logistf.c), so that it converges where logistf does, a level carried
  by a single row included.
- Intervals and tests: Heinze and Schemper (2002), as R's logistf does them. For a
  coefficient j, the profile penalised log-likelihood is l*_j(c) = max l*(b) over the
  other coefficients with b_j = c fixed (the penalty is the full model's). The 95%
  interval is the set of c with 2 (l*(b_hat) - l*_j(c)) <= the 0.95 quantile of
  chi-square(1) = 3.841; its ends are found by bracketing and Brent's method. The
  p-value is the penalised likelihood-ratio test of b_j = 0: chi-square(1) tail of
  2 (l*(b_hat) - l*_j(0)). Unlike Wald intervals, these stay valid and asymmetric
  under separation, which is when Firth is used.
- Standard errors (reported only for reference) are model-based: the square root of the
  diagonal of (X'WX)^-1 at the estimate.

Every row is treated as an independent observation: the penalised likelihood has no
within-child correlation, which the caller must state beside the estimates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats
from scipy.special import expit

LEVEL = 0.95
#: Profile ends further than this from the estimate (log odds) are reported as unbounded.
MAX_DISTANCE = 60.0
#: A Newton step smaller than this (log odds) counts as converged.
STEP_TOL = 1e-8


@dataclass(frozen=True)
class FirthFit:
    params: np.ndarray
    bse: np.ndarray
    converged: bool
    iterations: int
    penalised_loglik: float


@dataclass(frozen=True)
class FirthProfile:
    """Per coefficient (log-odds scale): profile interval ends, penalised LR statistic of b_j = 0 and its p-value."""
    ci_low: np.ndarray
    ci_high: np.ndarray
    lr_statistic: np.ndarray
    p_value: np.ndarray
    level: float


def _check(X, y) -> tuple[np.ndarray, np.ndarray]:
    X = np.ascontiguousarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    if X.ndim != 2 or y.ndim != 1 or len(X) != len(y):
        raise ValueError(f"Firth regression needs a 2-D design and a 1-D outcome of the same length "
                         f"(got {X.shape} and {y.shape})")
    if not (np.isfinite(X).all() and np.isin(y, (0.0, 1.0)).all()):
        raise ValueError("Firth regression needs a finite design and an outcome of 0s and 1s")
    return X, y


def _state(X, y, beta) -> tuple[float, np.ndarray, np.ndarray]:
    """Penalised log-likelihood l(b) + 1/2 log|X'WX| at ``beta``, with p and X'WX (reused by the next step)."""
    eta = X @ beta
    loglik = float(np.sum(y * eta - np.logaddexp(0, eta)))
    p = expit(eta)
    info = X.T @ ((p * (1 - p))[:, None] * X)
    sign, logdet = np.linalg.slogdet(info)
    return (loglik + 0.5 * logdet if sign > 0 else -np.inf), p, info


def _penalised_loglik(X, y, beta) -> float:
    return _state(X, y, beta)[0]


def _maximise(X, y, beta, free, max_iter: int, max_step: float, tol: float) -> tuple[np.ndarray, float, bool, int]:
    """Newton-Raphson on the modified score over the ``free`` coefficients, the others held where they are.

    The step is logistf's (``logistffit_revised`` in its src/logistf.c): the free block of
    the information of the augmented data, X_f' diag((1 + h) w) X_f, inverted and applied
    to U*_f, with w = p(1 - p) and h the hat values of the full model. (1 + h) w is the
    curvature of the modified score when h is held fixed; with X'WX alone, a coefficient
    carried by one row (h = 1) gets twice the Newton step and swings about the estimate
    for ever. The step is capped at ``max_step`` per coefficient (logistf's maxstep, 5)
    and halved while the penalised log-likelihood falls by more than rounding (it is an
    ascent direction, so halving never stalls). Converged when every free element of U*
    is below ``tol``, or when the step is below ``STEP_TOL`` (with many rows, rounding
    keeps U* above ``tol``).
    """
    beta = beta.astype(float).copy()
    current, p, info = _state(X, y, beta)
    it = 0
    for it in range(1, max_iter + 1):
        if not np.isfinite(current):
            return beta, current, False, it
        w = p * (1 - p)
        h = w * np.einsum("ij,ij->i", X @ np.linalg.pinv(info), X)
        score = X.T @ (y - p + h * (0.5 - p))
        Xf = X[:, free]
        augmented = Xf.T @ (((1 + h) * w)[:, None] * Xf)
        step = np.zeros_like(beta)
        step[free] = np.linalg.pinv(augmented) @ score[free]
        if np.abs(score[free]).max() < tol or np.abs(step).max() < STEP_TOL:
            return beta, current, True, it
        biggest = np.abs(step).max()
        if biggest > max_step:
            step *= max_step / biggest
        for _ in range(30):
            candidate, p_new, info_new = _state(X, y, beta + step)
            if candidate >= current - 1e-9 * max(1.0, abs(current)):   # rounding, not a real decrease
                break
            step /= 2
        beta = beta + step
        current, p, info = candidate, p_new, info_new
    return beta, current, False, it


def firth_logit(X, y, max_iter: int = 200, max_step: float = 5.0, tol: float = 1e-8) -> FirthFit:
    """Firth (1993) bias-reduced logistic regression (the design must hold the intercept column)."""
    X, y = _check(X, y)
    free = np.ones(X.shape[1], dtype=bool)
    beta, pll, converged, it = _maximise(X, y, np.zeros(X.shape[1]), free, max_iter, max_step, tol)
    p = expit(X @ beta)
    cov = np.linalg.pinv(X.T @ ((p * (1 - p))[:, None] * X))
    return FirthFit(beta, np.sqrt(np.diag(cov)), converged, it, pll)


def firth_profile(X, y, fit: FirthFit | None = None, terms=None, level: float = LEVEL,
                  max_iter: int = 200, max_step: float = 5.0, tol: float = 1e-8) -> FirthProfile:
    """Profile penalised-likelihood intervals and penalised LR tests (Heinze and Schemper 2002).

    ``terms``: the column indices to profile (default every column); the others get NaN.
    An end beyond ``MAX_DISTANCE`` log odds from the estimate is returned as -inf / inf.
    Every constrained fit starts from the same point (the estimate with b_j moved to the
    value tried), so the profile at a value does not depend on which values were tried
    before it, and the search for each end walks out from the estimate by distances that
    do not depend on the standard error (``_profile_end``).
    Raises ValueError if a constrained fit does not converge (the interval would be wrong).
    """
    X, y = _check(X, y)
    fit = fit or firth_logit(X, y, max_iter, max_step, tol)
    if not fit.converged:
        raise ValueError("Firth's fit did not converge: no profile intervals")
    k = X.shape[1]
    terms = range(k) if terms is None else terms
    q = stats.chi2.ppf(level, 1)
    low, high, lr0, pval = (np.full(k, np.nan) for _ in range(4))
    for j in terms:
        free = np.ones(k, dtype=bool)
        free[j] = False

        def deviance(c, j=j, free=free) -> float:
            beta = fit.params.copy()
            beta[j] = c
            beta, pll, converged, _ = _maximise(X, y, beta, free, max_iter, max_step, tol)
            if not converged:
                raise ValueError(f"the constrained Firth fit of column {j} at {c:.4g} did not converge")
            return 2 * (fit.penalised_loglik - pll) if np.isfinite(pll) else math.inf

        lr0[j] = max(deviance(0.0), 0.0)
        pval[j] = float(stats.chi2.sf(lr0[j], 1))
        low[j] = _profile_end(deviance, fit.params[j], -1, q)
        high[j] = _profile_end(deviance, fit.params[j], 1, q)
    return FirthProfile(low, high, lr0, pval, level)


#: The first distance tried from the estimate when looking for an end of a profile interval (log odds).
FIRST_DISTANCE = 0.25


def _profile_end(deviance, estimate: float, sign: int, q: float) -> float:
    """Where the profile deviance first crosses q on one side of the estimate.

    Walks out from the estimate by distances 0.25, 0.5, 1, 2, ... log odds (the same for
    every data set) until the deviance exceeds q; Brent's method then finds the crossing
    between the last point inside and the first outside. Beyond ``MAX_DISTANCE`` the end
    is reported as unbounded.
    """
    inner, distance = estimate, FIRST_DISTANCE
    while True:
        outer = estimate + sign * distance
        value = deviance(outer)
        if value > q:
            break
        if distance > MAX_DISTANCE:
            return sign * math.inf
        inner, distance = outer, distance * 2
    a, b = sorted((inner, outer))
    return float(optimize.brentq(lambda c: deviance(c) - q, a, b, xtol=1e-9, rtol=1e-10))
