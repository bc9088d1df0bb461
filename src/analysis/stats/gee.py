"""Logistic GEE with an exchangeable working correlation, vectorised over clusters.

This is the estimator statsmodels computes for

    sm.GEE(y, X, groups, family=sm.families.Binomial(),
           cov_struct=sm.cov_struct.Exchangeable()).fit(maxiter=..., cov_type="bias_reduced")

(statsmodels 0.15, ``statsmodels/genmod/generalized_estimating_equations.py``:
``GEE.fit``, ``_update_mean_params``, ``_covmat``, ``_bc_covmat``, ``_starting_params``;
``statsmodels/genmod/cov_struct.py``: ``Exchangeable.update`` and
``Exchangeable.covariance_matrix_solve``), step by step, with the per-cluster Python loops
replaced by numpy work over all rows at once. Liang and Zeger (1986) for GEE; Mancl and
DeRouen (2001) for the bias-reduced sandwich.

The algorithm, as statsmodels runs it (scale fixed at 1 for the binomial family):

- starting values: the ordinary logistic regression by statsmodels' IRLS (``GLM.fit()``,
  its starting means, deviance convergence rule and warnings; the weighted least squares
  steps solved by normal equations, see ``_starting_params``); dependence parameter
  rho = 0.
- each iteration: a Fisher-scoring step for the mean parameters at the current rho,
  ``beta += solve(sum_i D_i' V_i^-1 D_i, sum_i D_i' V_i^-1 r_i)`` (pseudo-inverse if the
  matrix is singular), where D_i = X_i mu_i(1-mu_i) (the logit link's derivative
  ``exp(z)/(1+exp(z))^2``), V_i = A_i^1/2 R A_i^1/2, A_i = diag(mu(1-mu)) (clipped to
  [eps, 1-eps] as statsmodels does), R exchangeable. V_i^-1 is the closed form
  statsmodels applies, ``V_i^-1 x = ((x/s)/(1-rho) - c_n sum(x/s))/s`` with s = sqrt(A),
  c_n = rho/(1-rho)/(1+rho(n-1)), n the cluster's size; so with x1 = D/s and e1 = r/s by
  row, and S_i, E_i their sums over cluster i, the sums over clusters are
  ``x1'x1/(1-rho) - sum_i c_i S_i S_i'`` and ``x1'e1/(1-rho) - sum_i c_i S_i E_i``:
  one matrix product over all rows plus per-cluster sums (a sparse cluster-by-row
  indicator times the rows sorted by cluster), no loop over clusters.
- stop when the norm of that score (at the parameters before the step) is below
  ``ctol`` (1e-6) and rho has been updated at least once (or every cluster has one row:
  then rho is never updated, as in statsmodels); otherwise update rho from the new
  means (moment estimator with statsmodels' degrees-of-freedom conventions, ddof = the
  number of columns: phi = sum e^2 / (N - p), rho = sum_i sum_{j<k} e_ij e_ik / phi /
  (P - p), P = the number of within-cluster pairs, e the Pearson residuals).
- covariances at the final parameters and the last rho: naive B^-1, robust
  B^-1 (sum_i u_i u_i') B^-1, and Mancl-DeRouen ``B^-1 (sum_i v_i v_i') B^-1`` with
  v_i = D_i' V_i^-1 (I - H_i)^-1 r_i, H_i = D_i B^-1 D_i' V_i^-1; the small systems
  (I - H_i) are solved in batches of clusters of one size (LAPACK, as statsmodels).

Failure is signalled exactly where statsmodels signals it:

- ``IterationLimitWarning`` (a statsmodels ``ModelWarning``) when the score norm is still
  >= ctol after ``maxiter`` iterations;
- numpy ``RuntimeWarning`` where statsmodels' own arithmetic would overflow or divide
  by zero, with statsmodels' first message: the same elementwise expressions on the same
  values (the inverse logit and its derivative for |X beta| beyond about 355 or 709: the
  rows are evaluated at once, errors silenced, and the first cluster, in statsmodels'
  order, where a step overflows is evaluated again with errors on; rho = 1, a cluster
  size n with 1 + rho(n-1) = 0, as many within-cluster pairs as columns);
- ``numpy.linalg.LinAlgError`` ("Singular matrix") when some I - H_i is exactly singular;
- the warnings and errors of the starting IRLS fit (``PerfectSeparationWarning``).

A caller that treats warnings as errors (``warnings.simplefilter("error")``), as
``analysis.stats.models._gee`` does, therefore fails on the same inputs as statsmodels.
The result agrees with statsmodels to rounding (tests/test_gee_fast.py).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

FLOAT_EPS = np.finfo(float).eps


@dataclass(frozen=True)
class GEEFit:
    """Result of :func:`gee_logit_exchangeable` (names as in statsmodels' ``GEEResults``)."""

    params: np.ndarray
    bse: np.ndarray            # sqrt(diag(cov_robust_bc)): statsmodels' bse for cov_type="bias_reduced"
    cov_robust_bc: np.ndarray  # Mancl-DeRouen bias-reduced sandwich
    cov_robust: np.ndarray     # plain sandwich
    cov_naive: np.ndarray      # model-based
    dep_param: float           # exchangeable correlation (statsmodels' ``cov_struct.dep_params``)
    converged: bool            # score norm < ctol (statsmodels' ``converged``)
    score_norm: float
    n_iter: int
    n_clusters: int
    #: each cluster's term of the bias-reduced sandwich: row i is B^-1 v_i, so cov_robust_bc = sum_i row_i' row_i
    cluster_terms_bc: np.ndarray | None = None


def _inv_logit(z):
    # statsmodels Logit.inverse, same expression (same overflow warnings)
    t = np.exp(-z)
    return 1.0 / (1.0 + t)


def _inv_logit_deriv(z):
    # statsmodels Logit.inverse_deriv, same expression (same overflow warnings)
    t = np.exp(z)
    return t / (1 + t) ** 2


def _variance(mu):
    # statsmodels varfuncs.Binomial (n = 1): clipped to [eps, 1 - eps]
    p = np.clip(mu, FLOAT_EPS, 1 - FLOAT_EPS)
    return p * (1 - p)


class _Clusters:
    """Rows sorted by cluster (statsmodels' cluster order: np.unique of the labels)."""

    def __init__(self, groups):
        from scipy import sparse

        groups = np.asarray(groups)
        labels, inv = np.unique(groups, return_inverse=True)
        inv = inv.reshape(-1)
        self.order = np.argsort(inv, kind="stable")          # rows within a cluster keep their order
        self.n_clusters = len(labels)
        self.sizes = np.bincount(inv, minlength=self.n_clusters)
        self.starts = np.concatenate(([0], np.cumsum(self.sizes)[:-1]))
        self.distinct_sizes = np.unique(self.sizes)
        n = len(inv)
        # cluster-by-row indicator (rows sorted): M @ a sums a within each cluster, in row order
        self.indicator = sparse.csr_matrix((np.ones(n), np.arange(n), np.concatenate((self.starts, [n]))),
                                           shape=(self.n_clusters, n))

    def sum(self, a):
        """Sum of a (rows, or rows x columns) within each cluster."""
        return self.indicator @ a

    def by_row(self, a):
        """A value per cluster repeated on each of its rows."""
        return np.repeat(a, self.sizes, axis=0)


def _c_by_cluster(cl: _Clusters, rho):
    """statsmodels' c = rho/(1-rho)/(1+rho(k-1)) for each cluster (computed once per size k, as numpy scalars,
    so a division by zero warns exactly as in statsmodels)."""
    table = np.zeros(int(cl.distinct_sizes.max()) + 1)
    for k in cl.distinct_sizes:
        c = rho / (1.0 - rho)
        c /= 1.0 + rho * (int(k) - 1)
        table[int(k)] = c
    return table[cl.sizes]


def _warns_inv_logit(z):
    """Rows where statsmodels' Logit.inverse raises a floating-point warning (exp(-z) overflows)."""
    with np.errstate(all="ignore"):
        t = np.exp(-z)
    return np.isinf(t) & np.isfinite(z)


def _warns_inv_logit_deriv(z):
    """Rows where statsmodels' Logit.inverse_deriv warns: exp(z) or (1+t)**2 overflows, or inf/inf."""
    with np.errstate(all="ignore"):
        t = np.exp(z)
        q = (1 + t) ** 2
    return (np.isinf(t) & np.isfinite(z)) | (np.isinf(q) & np.isfinite(t)) | (np.isinf(t) & np.isinf(q))


def _as_statsmodels_warns(cl: _Clusters, fn, warns, z):
    """fn(z) over all rows, warning as statsmodels' loop over clusters would.

    statsmodels evaluates the inverse link and its derivative cluster by cluster, so the
    first warning (the one a caller treating warnings as errors sees) comes from the first
    cluster where a floating-point error occurs, e.g. "overflow encountered in exp" or
    "... in square". Here fn runs on all rows with errors silenced, and ``warns`` marks the
    rows where a step of fn's expression overflows or is invalid; if there are any, fn is
    run again, errors on, on the rows of the first such cluster, which raises (or warns)
    exactly what statsmodels raises first.
    """
    with np.errstate(all="ignore"):
        out = fn(z)
    bad = warns(z)
    if bad.any():
        first = int(np.searchsorted(cl.starts, np.flatnonzero(bad)[0], side="right")) - 1
        a, n = cl.starts[first], cl.sizes[first]
        fn(z[a:a + n])
    return out


class _State:
    """Means at the current parameters (statsmodels' ``cached_means``), rows sorted by cluster.

    With s = sqrt(mu(1-mu)) (clipped), x1 = D/s and e1 = r/s by row, and S, E their sums
    within each cluster, the exchangeable inverse gives, for cluster i,
    D_i' V_i^-1 D_i = x1_i'x1_i/(1-rho) - c_i S_i S_i' and D_i' V_i^-1 r_i = x1_i'e1_i/(1-rho) - c_i S_i E_i.
    """

    def __init__(self, cl: _Clusters, X, y, params):
        self.lpr = X @ params
        self.mu = _as_statsmodels_warns(cl, _inv_logit, _warns_inv_logit, self.lpr)
        self.resid = y - self.mu
        self.dmat = X * _as_statsmodels_warns(cl, _inv_logit_deriv, _warns_inv_logit_deriv, self.lpr)[:, None]
        self.sdev = np.sqrt(_variance(self.mu))
        self.x1 = self.dmat / self.sdev[:, None]
        self.e1 = self.resid / self.sdev
        self.S = cl.sum(self.x1)
        self.E = cl.sum(self.e1)

    def bmat_score(self, cl: _Clusters, rho):
        c = _c_by_cluster(cl, rho)
        cS = self.S * c[:, None]
        bmat = (self.x1.T @ self.x1) / (1.0 - rho) - self.S.T @ cS
        score = (self.x1.T @ self.e1) / (1.0 - rho) - cS.T @ self.E
        return bmat, score, c

    def cluster_scores(self, cl: _Clusters, rho, c, a1, A1=None):
        """D_i' V_i^-1 a_i for every cluster i, given a1 = a/s by row (and its cluster sums A1)."""
        A1 = cl.sum(a1) if A1 is None else A1
        return cl.sum(self.x1 * a1[:, None]) / (1.0 - rho) - self.S * (c * A1)[:, None]

    def vinv_dmat(self, cl: _Clusters, rho, c):
        """V_i^-1 D_i, by row."""
        y = self.x1 / (1.0 - rho)
        y -= cl.by_row(self.S * c[:, None])
        y /= self.sdev[:, None]
        return y


def _update_rho(cl, st: _State, nobs, ddof):
    """statsmodels' Exchangeable.update (unweighted), same order of operations."""
    ssr_i = cl.sum(st.e1 * st.e1)
    sum_i = st.E
    scale = np.sum(ssr_i)
    residsq_sum = np.sum((sum_i ** 2 - ssr_i) / 2)
    npr = 0.5 * cl.sizes * (cl.sizes - 1)
    fsum1 = float(nobs)
    fsum2 = n_pairs = float(np.sum(npr))
    scale /= fsum1 * (nobs - ddof) / float(nobs)
    residsq_sum /= scale
    return residsq_sum / (fsum2 * (n_pairs - ddof) / float(n_pairs))


def _logit(p):
    # statsmodels Logit.__call__
    p = np.clip(p, FLOAT_EPS, 1.0 - FLOAT_EPS)
    return np.log(p / (1.0 - p))


def _logit_deriv(p):
    # statsmodels Logit.deriv
    p = np.clip(p, FLOAT_EPS, 1.0 - FLOAT_EPS)
    return 1.0 / (p * (1 - p))


def _deviance(y, mu):
    # statsmodels Binomial.deviance (n = 1, no weights, scale 1), same expression
    endog_mu = np.clip(y / (mu + 1e-20), FLOAT_EPS, np.inf)
    n_endog_mu = np.clip((1.0 - y) / (1.0 - mu + 1e-20), FLOAT_EPS, np.inf)
    return np.sum(2 * (y * np.log(endog_mu) + (1 - y) * np.log(n_endog_mu)))


def _starting_params(y, X, maxiter: int = 100, tol: float = 1e-8):
    """statsmodels' GEE._starting_params: ``GLM(y, X, family=Binomial()).fit()`` (IRLS), step by step.

    statsmodels' IRLS (``GLM._fit_irls`` with its defaults): mu0 = (y + 1/2)/2, then weighted
    least squares on the working response until two successive deviances differ by less
    than 1e-8 (absolute), at most 100 iterations, no warning if that limit is reached;
    ``PerfectSeparationWarning`` whenever every fitted mean is within ``np.allclose`` of its
    outcome; ``ValueError`` for a non-finite working response or weight. The weighted least
    squares step is solved here by its normal equations (statsmodels: ``lstsq`` on the
    weighted rows), written as an increment from the current estimate after the first step;
    the fixed point is the same (the logistic maximum likelihood estimate), and the GEE
    iterations that follow start from it.
    """
    from statsmodels.tools.sm_exceptions import PerfectSeparationWarning

    mu = (y + 0.5) / 2
    lin_pred = _logit(mu)
    dev = _deviance(y, mu)
    if np.isnan(dev):
        raise ValueError("The first guess on the deviance function returned a nan.  This could be a boundary "
                         " problem and should be reported.")
    history = [np.inf, dev]
    params = None
    for iteration in range(maxiter):
        weights = 1.0 / (_logit_deriv(mu) ** 2 * _variance(mu))
        deriv = _logit_deriv(mu)
        if not np.all(np.isfinite(np.sqrt(weights))):
            raise ValueError("NaN, inf or invalid value detected in weights, estimation infeasible.")
        wx = X * weights[:, None]
        info = X.T @ wx
        if params is None:
            wlsendog = lin_pred + deriv * (y - mu)
            if not np.all(np.isfinite(wlsendog)):
                raise ValueError("NaN, inf or invalid value detected in endog, estimation infeasible.")
            rhs, base = wx.T @ wlsendog, 0.0
        else:
            rhs, base = X.T @ (weights * deriv * (y - mu)), params
        try:
            step = np.linalg.solve(info, rhs)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(np.sqrt(weights)[:, None] * X, np.sqrt(weights) * (
                lin_pred + deriv * (y - mu)), rcond=-1)[0] - base
        params = base + step
        lin_pred = X @ params
        mu = _inv_logit(lin_pred)
        history.append(_deviance(y, mu))
        if np.allclose(mu - y, 0):
            warnings.warn("Perfect separation or prediction detected, parameter may not be identified",
                          category=PerfectSeparationWarning, stacklevel=3)
        if np.allclose(history[iteration + 1], history[iteration + 2], atol=tol, rtol=0):
            break
    return params


def gee_logit_exchangeable(y, X, groups, maxiter: int = 60, ctol: float = 1e-6,
                           start_params=None) -> GEEFit:
    """Fit the logistic GEE, exchangeable within ``groups``, as statsmodels' ``GEE.fit(cov_type="bias_reduced")``.

    ``y``: 0/1 outcomes; ``X``: design matrix (with its intercept column); ``groups``: the
    cluster of each row (any order, any labels). ``maxiter``, ``ctol``, ``start_params``:
    as statsmodels' ``GEE.fit`` (defaults 60 and 1e-6; start from the GLM fit).
    Warns ``IterationLimitWarning`` if not converged within ``maxiter`` iterations (the
    estimates are still returned, as statsmodels returns them); see the module docstring
    for the other failures, which are statsmodels' own.
    """
    from statsmodels.tools.sm_exceptions import ConvergenceWarning, IterationLimitWarning

    y0 = np.asarray(y, dtype=float).reshape(-1)
    X0 = np.asarray(X, dtype=float)
    if X0.ndim == 1:
        X0 = X0[:, None]
    if len(y0) != len(X0) or len(np.asarray(groups).reshape(-1)) != len(y0):
        raise ValueError("gee_logit_exchangeable: y, X and groups must have the same number of rows")
    cl = _Clusters(groups)
    yk, Xk = y0[cl.order], X0[cl.order]
    nobs, p = Xk.shape
    ddof = p                                   # statsmodels' ddof_scale default: exog.shape[1]
    update_dep = bool(cl.sizes.max() > 1)      # all clusters of one row: a GLM, rho never updated

    if start_params is None:
        mean_params = _starting_params(y0, X0)   # on the rows as given, as statsmodels
    else:
        mean_params = np.array(start_params, dtype=float)
    rho = np.float64(0.0)
    st = _State(cl, Xk, yk, mean_params)

    del_params = -1.0
    num_assoc_updates = 0
    n_iter = 0
    for itr in range(maxiter):
        n_iter = itr + 1
        bmat, score, _ = st.bmat_score(cl, rho)
        try:
            update = np.linalg.solve(bmat, score)
        except np.linalg.LinAlgError:
            update = np.dot(np.linalg.pinv(bmat), score)
        mean_params = mean_params + update
        st = _State(cl, Xk, yk, mean_params)
        del_params = np.sqrt(np.sum(score ** 2))
        if del_params < ctol and (num_assoc_updates > 0 or not update_dep):
            break
        if update_dep:
            rho = _update_rho(cl, st, nobs, ddof)
            num_assoc_updates += 1

    if del_params >= ctol:
        warnings.warn("Iteration limit reached prior to convergence", IterationLimitWarning, stacklevel=2)
    if mean_params is None:  # pragma: no cover - kept to mirror statsmodels
        warnings.warn("Unable to estimate GEE parameters.", ConvergenceWarning, stacklevel=2)

    # _covmat (scale = 1 for the binomial family), at the final parameters and the last rho
    bmat, _, c = st.bmat_score(cl, rho)
    u = st.cluster_scores(cl, rho, c, st.e1, st.E)          # D_i' V_i^-1 r_i
    cmat = u.T @ u
    try:
        bmati = np.linalg.inv(bmat)
    except np.linalg.LinAlgError:
        bmati = np.linalg.pinv(bmat)
    cov_naive = bmati * 1.0
    cov_robust = np.dot(bmati, np.dot(cmat, bmati))

    # _bc_covmat: v_i = D_i' V_i^-1 (I - H_i)^-1 r_i, H_i = D_i B^-1 D_i' V_i^-1 (H_i' = V_i^-1 D_i B^-1 D_i')
    g = st.vinv_dmat(cl, rho, c) @ cov_naive                # V^-1 D B^-1, by row
    aresid = np.empty(nobs)
    for k in cl.distinct_sizes:
        k = int(k)
        idx = cl.starts[cl.sizes == k][:, None] + np.arange(k)      # (m, k): rows of the clusters of size k
        hmat0 = np.matmul(g[idx], np.swapaxes(st.dmat[idx], 1, 2))  # (m, k, k)
        amat = np.eye(k) - np.swapaxes(hmat0, 1, 2)                  # I - H
        aresid[idx] = np.linalg.solve(amat, st.resid[idx][..., None])[..., 0]
    srt = st.cluster_scores(cl, rho, c, aresid / st.sdev)
    bcm = srt.T @ srt
    cov_robust_bc = np.dot(cov_naive, np.dot(bcm, cov_naive))

    with np.errstate(invalid="ignore"):   # statsmodels computes bse lazily; a negative variance gives nan
        bse = np.sqrt(np.diag(cov_robust_bc))
    return GEEFit(params=mean_params, bse=bse, cov_robust_bc=cov_robust_bc, cov_robust=cov_robust,
                  cov_naive=cov_naive, dep_param=float(rho), converged=bool(del_params < ctol),
                  score_norm=float(del_params), n_iter=n_iter, n_clusters=cl.n_clusters,
                  cluster_terms_bc=srt @ cov_naive)
