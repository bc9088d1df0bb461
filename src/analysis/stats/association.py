"""Tests of association between police risk grade and disclosure (issue 5, issue 17).

Definitions used:

- ``independence_test(table)``: a table of groups (rows) by disclosed yes/no
  (2 columns), one row per independent unit (a child, or RHIs when no child
  has two). Rows with no observations are dropped first. Pearson's
  chi-square test (no continuity correction) is used when every expected
  count is at least 5 (a stricter rule than Cochran's 1954 rule, which
  allows up to 20% of expected counts below 5 and none below 1); otherwise
  Fisher's exact test: scipy's ``fisher_exact`` for a 2x2 table and, for
  more rows, the Freeman-Halton extension computed exactly by enumerating
  every table with the observed margins (``fisher_exact_rx2``). Beyond
  ``MAX_ENUMERATION`` candidate tables the p-value is a seeded Monte Carlo
  estimate and is labelled as such, never "exact". The method and the reason
  go beside the p-value.
- ``rao_scott_test(groups, outcome, clusters)``: the same table when units
  are clustered (RHIs of one child are not independent): the Rao-Scott F
  test (Rao and Scott 1984, second-order correction, as R survey's
  ``svychisq(statistic="F")``): Pearson's X² over the sum of the generalised
  design effects, against F on d and d nu degrees of freedom. The design
  effects are those of the contrasts of the groups' proportions, with their
  bias-reduced cluster-robust covariance (``group_variance``: Mancl and
  DeRouen 2001) against what it would be with every unit its own cluster;
  nu is Satterthwaite's, from the clusters' shares of the variance, at most
  clusters - 1. A sum of design effects below r - 1 is taken as r - 1
  (allowing for clustering never makes a test more significant than treating
  the units as independent). Made only when every group's units come from at
  least ``MIN_CHILDREN`` (5) clusters; no rule reads the estimated design
  effect (issue 28: the old first-order test and its gate "expected count
  over the design effect at least 5" rejected 10% to 17% at 20 to 40
  children).
- ``cochran_armitage(events, totals, scores)``: the Cochran-Armitage test for
  a linear trend in proportions across ordered groups (here low < medium <
  high), asymptotic normal, two-sided, no continuity correction;
  ``clustered_trend_test`` divides its z by the square root of the design
  effect of the trend contrast (same covariance) and refers it to Student's
  t on Satterthwaite's degrees of freedom (the one-degree-of-freedom F test).
- ``clustered_proportion``: Korn and Graubard's (1998) interval for a
  proportion of clustered units.
- ``bh_adjust(pvalues)``: Benjamini-Hochberg (1995) false discovery rate
  adjustment (statsmodels ``multipletests(method="fdr_bh")``). The family is
  one table's tested outcomes, separately for the independence and the
  trend tests; each table (RHI level by grade, child level by grade, RHI
  level by episode band) is a family of its own, named in the
  ``bh_family``/``trend_bh_family`` columns. Untestable outcomes are left out.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats
from scipy.special import gammaln
from statsmodels.stats.multitest import multipletests

EXPECTED_MIN = 5
# Tables whose probability is within this relative tolerance of the observed one count as "as extreme" (as R).
REL_TOL = 1e-7
# Beyond this many candidate tables the exact enumeration is replaced by a seeded Monte Carlo estimate.
MAX_ENUMERATION = 20_000_000
MONTE_CARLO_TABLES = 20_000
MONTE_CARLO_SEED = 20190101
RULE = (f"every expected count is at least {EXPECTED_MIN} (the rule used here; stricter than Cochran's 1954 rule, "
        "which allows up to 20% of expected counts below 5 and none below 1)")


@dataclass(frozen=True)
class TestResult:
    """One test: which, why, statistic and p-value; ``method`` is None when nothing could be tested.

    ``design_effect`` is the mean generalised design effect a clustered test divided by (None when the
    units were independent).
    """

    method: str | None
    reason: str
    statistic: float | None = None
    pvalue: float | None = None
    df: int | None = None
    design_effect: float | None = None

    def as_dict(self) -> dict:
        return asdict(self)

    @property
    def tested(self) -> bool:
        return self.pvalue is not None


def _log_comb(n, k):
    return gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1)


def fisher_exact_rx2(table) -> float:
    """Freeman-Halton Fisher p-value for an r x 2 table of counts (exact unless the table is huge).

    Sums the hypergeometric probabilities of every table with the observed
    row and column totals that is no more probable than the observed table.
    Beyond ``MAX_ENUMERATION`` candidate tables it is a seeded Monte Carlo
    estimate: ``freeman_halton`` says which.
    """
    return freeman_halton(table)[0]


def freeman_halton(table) -> tuple[float, bool]:
    """The Freeman-Halton p-value and whether it is a Monte Carlo estimate (True) rather than exact."""
    table = np.asarray(table, dtype=np.int64)
    if table.ndim != 2 or table.shape[1] != 2:
        raise ValueError("fisher_exact_rx2 needs a table with exactly two columns")
    rows = table.sum(axis=1)
    col = table[:, 0]
    k = int(col.sum())
    n = int(rows.sum())
    if k > n - k:  # enumerate over the smaller column; the p-value is symmetric in the columns
        col, k = table[:, 1], n - k
    log_total = _log_comb(n, k)

    def log_prob(cells):  # cells: (..., r) counts in the first column
        return _log_comb(rows, cells).sum(axis=-1) - log_total

    observed = log_prob(col.astype(float))
    grids = _compositions(rows, k)
    if grids is None:
        return _fisher_monte_carlo(table), True
    logp = log_prob(grids.astype(float))
    keep = logp <= observed + math.log1p(REL_TOL)
    return float(min(1.0, np.exp(logp[keep]).sum())), False


def _compositions(rows: np.ndarray, k: int) -> np.ndarray | None:
    """Every vector (a_1..a_r) with 0 <= a_i <= rows_i summing to k, as an array; None if too many."""
    r = len(rows)
    size = 1
    for cap in rows[:-1]:
        size *= int(min(cap, k)) + 1
    if size > MAX_ENUMERATION:
        return None
    axes = [np.arange(int(min(cap, k)) + 1) for cap in rows[:-1]]
    mesh = np.array(np.meshgrid(*axes, indexing="ij")).reshape(r - 1, -1).T
    last = k - mesh.sum(axis=1)
    ok = (last >= 0) & (last <= rows[-1])
    return np.column_stack([mesh[ok], last[ok]])


def _fisher_monte_carlo(table) -> float:
    method = stats.MonteCarloMethod(n_resamples=MONTE_CARLO_TABLES, rng=np.random.default_rng(MONTE_CARLO_SEED))
    return float(stats.fisher_exact(table, method=method).pvalue)


def _not_testable(table: np.ndarray) -> TestResult | None:
    if len(table) < 2:
        return TestResult(None, "not testable: fewer than two groups have any observations")
    cols = table.sum(axis=0)
    if (cols == 0).any():
        which = "nobody disclosed it" if cols[0] == 0 else "everybody disclosed it"
        return TestResult(None, f"not testable: {which}, so there is no variation to test")
    return None


def _expected(table: np.ndarray) -> np.ndarray:
    return np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()


def independence_test(table, labels=None) -> TestResult:
    """Chi-square or Fisher's exact test of independence for groups (rows) x disclosed yes/no.

    The rows' units must be independent (one per child); for clustered units see ``rao_scott_test``.
    """
    table = np.asarray(table, dtype=np.int64)
    table = table[table.sum(axis=1) > 0]
    stop = _not_testable(table)
    if stop:
        return stop
    expected = _expected(table)
    shape = f"{table.shape[0]}x2"
    if (expected >= EXPECTED_MIN).all():
        chi2, p, dof, _ = stats.chi2_contingency(table, correction=False)
        return TestResult("Pearson chi-square test", f"{RULE}, so the chi-square approximation is used ({shape} table)",
                          float(chi2), float(p), int(dof))
    small = int((expected < EXPECTED_MIN).sum())
    reason = (f"{small} of {expected.size} expected counts are below {EXPECTED_MIN} (the rule used here needs every "
              f"expected count at least {EXPECTED_MIN}), so an exact test is used ({shape} table)")
    if table.shape[0] == 2:
        res = stats.fisher_exact(table)
        return TestResult("Fisher's exact test", reason, float(res.statistic), float(res.pvalue))
    p, monte_carlo = freeman_halton(table)
    if monte_carlo:
        return TestResult("Fisher-Freeman-Halton test, Monte Carlo p-value",
                          reason.replace("an exact test is used", "Fisher-Freeman-Halton is used")
                          + f"; too many tables to enumerate, so the p-value is estimated from {MONTE_CARLO_TABLES:,} "
                          f"random tables with the observed margins (fixed seed)", None, p)
    return TestResult("Fisher-Freeman-Halton exact test", reason, None, p)


# --- clustered units (several RHIs of one child) ----------------------------------------------------

def _cluster_codes(clusters) -> tuple[np.ndarray, int]:
    uniques, codes = np.unique(np.asarray(clusters, dtype=object).astype(str), return_inverse=True)
    return codes, len(uniques)


def cluster_covariance(values, clusters) -> np.ndarray:
    """With-replacement (cluster-robust) covariance of the means of the columns of ``values``.

    ``values``: n x k (one row per unit), ``clusters``: n labels. The
    linearised mean of each column has influence (x - mean)/n per unit;
    the covariance is G/(G-1) times the sum over clusters of the outer
    products of the clusters' summed influences (G clusters). With one unit
    per cluster it is n/(n-1) times the covariance of the columns divided by n.
    """
    x = np.asarray(values, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    n = len(x)
    codes, g = _cluster_codes(clusters)
    if len(codes) != n:
        raise ValueError("values and clusters must have one entry per unit")
    if g < 2:
        raise ValueError("a cluster-robust covariance needs at least two clusters")
    dev = (x - x.mean(axis=0)) / n
    totals = np.zeros((g, x.shape[1]))
    np.add.at(totals, codes, dev)
    return g / (g - 1) * totals.T @ totals


def design_effect(values, clusters) -> float:
    """Variance of a mean with the units' clusters over its variance with every unit its own cluster.

    Both variances are the same with-replacement estimator, so the design
    effect is exactly 1 when every cluster has one unit. NaN when the values
    do not vary (0/0).
    """
    x = np.asarray(values, dtype=float)
    clustered = cluster_covariance(x, clusters)[0, 0]
    alone = cluster_covariance(x, np.arange(len(x)))[0, 0]
    return float(clustered / alone) if alone > 0 else float("nan")


#: A group (police grade, episode band) whose units come from fewer clusters (children) than this is not tested
#: by a clustered test, and the models estimate no odds ratio for it (issue 28): a variance between children
#: cannot be estimated from one or two, and the tests rejected too often with few (docs/linkage-analysis.md).
MIN_CHILDREN = 5


@dataclass(frozen=True)
class GroupVariance:
    """What the clustered tests need of units in groups and clusters (see ``group_variance``)."""

    sizes: np.ndarray          # units per group, n_g
    events: np.ndarray         # units with the outcome per group, x_g
    contributions: np.ndarray  # clusters x groups: each cluster's bias-reduced term of the group proportions
    srs: np.ndarray            # groups: variance of p_g expected with every unit its own cluster, no effect
    clusters_per_group: np.ndarray
    n_clusters: int


def group_variance(group_codes, outcome, cluster_codes, r: int) -> GroupVariance:
    """Bias-reduced cluster-robust covariance of the groups' proportions, as each cluster's term.

    For group g (n_g units, proportion p_g) and cluster i (m_ig of its units in g), the
    term is c_ig = sum over the cluster's units in g of (y - p_g), divided by n_g - m_ig;
    the covariance of (p_1..p_r) is C'C. This is the Mancl and DeRouen (2001) bias-reduced
    sandwich of a logistic GEE with one parameter per group and an independence working
    correlation, moved to the proportion scale (there H_i has 1/n_g for two units of one
    group, so (I - H_i)^-1 multiplies a cluster's residual total in g by n_g/(n_g - m_ig));
    it is the plain sandwich (divisor n_g) with each cluster's term inflated by
    1/(1 - its share of the group's units), which makes up for the plain sandwich's
    underestimate when a few clusters hold many units. ``srs`` is what C'C averages
    when every unit is its own cluster and nothing differs between groups,
    p(1 - p)/(n_g - 1) with p the pooled proportion: the yardstick of the design effects.
    """
    g = np.asarray(group_codes, dtype=int)
    y = np.asarray(outcome, dtype=float)
    codes = np.asarray(cluster_codes, dtype=int)
    n_clusters = int(codes.max()) + 1
    sizes = np.bincount(g, minlength=r).astype(float)
    events = np.bincount(g, weights=y, minlength=r)
    p = events / sizes
    cell = codes * r + g
    totals = np.bincount(cell, weights=y - p[g], minlength=n_clusters * r).reshape(n_clusters, r)
    held = np.bincount(cell, minlength=n_clusters * r).reshape(n_clusters, r).astype(float)
    share_left = sizes - held
    contributions = np.where(held > 0, totals / np.where(share_left > 0, share_left, 1.0), 0.0)
    pooled = events.sum() / sizes.sum()
    return GroupVariance(sizes, events, contributions, pooled * (1 - pooled) / (sizes - 1),
                         (held > 0).sum(axis=0), n_clusters)


def effective_clusters(terms) -> float:
    """Effective number of clusters, (sum a_i)^2 / sum a_i^2, of clusters' terms a_i >= 0 of a variance.

    Satterthwaite's degrees of freedom of a sum of independent terms, with each term's
    expectation replaced by the term itself: equal terms give the number of clusters, one
    cluster holding most of the sum gives about 1. 1 when every term is 0.
    """
    a = np.asarray(terms, dtype=float)
    total = float((a ** 2).sum())
    return float(a.sum() ** 2 / total) if total > 0 else 1.0


def _group_codes(values) -> tuple[list, np.ndarray]:
    values = np.asarray(values, dtype=object).astype(str)
    levels = list(dict.fromkeys(values))
    lookup = {v: i for i, v in enumerate(levels)}
    return levels, np.array([lookup[v] for v in values], dtype=int)


def _too_few_clusters(levels, gv: GroupVariance, words) -> TestResult | None:
    few = [str(lv) for lv, k in zip(levels, gv.clusters_per_group) if k < MIN_CHILDREN]
    if few:
        return TestResult(None, f"not tested: a clustered test needs the {words[0]} of every group to come from at "
                          f"least {MIN_CHILDREN} {words[1]}, and those of {', '.join(few)} do not")
    return None


def rao_scott_test(groups, outcome, clusters, words=("units", "clusters", "cluster")) -> TestResult:
    """Rao-Scott F test (second-order correction) of groups x outcome for clustered units (issue 28).

    ``groups``: the group of each unit; ``outcome``: True/False per unit; ``clusters``: the
    cluster (child) of each unit; ``words``: the units, the clusters and one cluster, as the
    reason names them. Pearson's X² on the counts, divided by the sum of the generalised
    design effects (the eigenvalues of Delta = (L S L')^-1 (L V L'), L the contrasts of the
    group proportions with the first, V their bias-reduced cluster-robust covariance and S
    its value without clustering, ``group_variance``; Delta is taken as the identity when
    its trace is below r - 1), is referred to F(d, d nu) with d = tr(Delta)^2 / tr(Delta^2)
    (Rao and Scott 1984; R survey's ``svychisq(statistic = "F")``) and nu Satterthwaite's
    degrees of freedom of the covariance: (r + 1)/(r - 1) times the ``effective_clusters``
    of each cluster's share a_i of tr(Delta) (a_i is about a multiple of chi-square(r - 1),
    whose square averages (r + 1)/(r - 1) times its squared mean), at most the number of
    clusters - 1 (svychisq's nu). Not tested when a group's units come from fewer than
    ``MIN_CHILDREN`` clusters; no rule reads the estimated design effect.
    """
    levels, row = _group_codes(groups)
    y = np.asarray(outcome, dtype=bool)
    r = len(levels)
    table = np.array([[int((y & (row == i)).sum()), int((~y & (row == i)).sum())] for i in range(r)])
    stop = _not_testable(table)
    if stop:
        return stop
    codes, n_clusters = _cluster_codes(clusters)
    if n_clusters < 2:
        return TestResult(None, f"not testable: the {words[0]} belong to fewer than two {words[1]}")
    gv = group_variance(row, y, codes, r)
    stop = _too_few_clusters(levels, gv, words)
    if stop:
        return stop
    k = r - 1
    contrasts = np.hstack([-np.ones((k, 1)), np.eye(k)])
    srs = contrasts @ np.diag(gv.srs) @ contrasts.T
    lc = gv.contributions @ contrasts.T
    a = np.einsum("ij,jk,ik->i", lc, np.linalg.inv(srs), lc)      # each cluster's share of tr(Delta)
    delta = np.linalg.solve(srs, lc.T @ lc)
    trace, trace2 = float(np.trace(delta)), float(np.trace(delta @ delta))
    floored = trace < k
    if floored:
        trace, trace2 = float(k), float(k)
    d = trace ** 2 / trace2
    nu = min(n_clusters - 1.0, (k + 2) / k * effective_clusters(a))   # a_i ~ chi-square(k): E a^2 = (k+2)/k (E a)^2
    chi2 = float(stats.chi2_contingency(table, correction=False)[0])
    f = chi2 / trace
    deff = float(np.trace(delta)) / k
    return TestResult(
        "Rao-Scott F test",
        f"{len(y)} {words[0]} of {n_clusters} {words[1]} ({r}x2 table): the {words[0]} of one {words[2]} are not "
        f"independent, so Pearson's X2 = {chi2:.2f} is divided by the sum of the design effects, {trace:.2f} (mean "
        f"{trace / k:.2f}{_floored(deff)}; bias-reduced cluster-robust variance), and referred to F on {d:.2f} and "
        f"{d * nu:.1f} degrees of freedom (Rao and Scott's second-order correction; nu = {nu:.1f} from how the "
        f"variance is shared between the {words[1]}); tested because every group's {words[0]} come from at least "
        f"{MIN_CHILDREN} {words[1]}",
        f, float(stats.f.sf(f, d, d * nu)), k, deff)


def _floored(estimate: float) -> str:
    """Design effects below 1 are taken as 1: allowing for clustering never makes a test more significant."""
    return f" (estimated {estimate:.2f}, taken as 1: allowing for clustering never strengthens a result)" \
        if estimate < 1 - 1e-9 else ""


def cochran_armitage(events, totals, scores) -> TestResult:
    """Cochran-Armitage test for a linear trend in proportions events/totals across ordered scores.

    T = sum s_i (x_i - n_i p), Var(T) = p (1 - p) [sum n_i s_i^2 - (sum n_i s_i)^2 / N],
    z = T / sqrt(Var(T)), two-sided normal p-value; p = sum x / N.
    """
    x = np.asarray(events, dtype=float)
    n = np.asarray(totals, dtype=float)
    s = np.asarray(scores, dtype=float)
    keep = n > 0
    x, n, s = x[keep], n[keep], s[keep]
    if len(n) < 2:
        return TestResult(None, "not testable: fewer than two groups have any observations")
    big_n = n.sum()
    p = x.sum() / big_n
    if p in (0.0, 1.0):
        return TestResult(None, "not testable: the proportion is 0% or 100% in every group")
    t = float((s * (x - n * p)).sum())
    var = p * (1 - p) * ((n * s ** 2).sum() - (n * s).sum() ** 2 / big_n)
    z = t / math.sqrt(var)
    pvalue = float(2 * stats.norm.sf(abs(z)))
    return TestResult("Cochran-Armitage trend test", "ordered groups; tests a linear trend in the proportion "
                      "disclosing, normal approximation, two-sided", z, pvalue)


def clustered_trend_test(scores, outcome, clusters, words=("units", "clusters", "cluster")) -> TestResult:
    """Cochran-Armitage trend test for clustered units, Rao-Scott adjusted with a t reference (issue 28).

    One entry per unit: its group's score, the outcome (True/False) and its cluster. The
    trend statistic T = sum_g n_g (s_g - s_bar) p_g is a contrast w'p of the group
    proportions (w_g = n_g (s_g - s_bar)); its design effect is d = w'Vw / w'Sw with V and S
    of ``group_variance`` (bias-reduced cluster-robust, and without clustering), floored at
    1; t = z_CA / sqrt(d) is referred to Student's t on nu degrees of freedom, nu = 3 times
    the ``effective_clusters`` of the clusters' terms (w'c_i)^2 (each about a multiple of
    chi-square(1)), at most the number of clusters - 1 (the one-degree-of-freedom case of the F test of
    ``rao_scott_test``). Not tested when a group's units come from fewer than
    ``MIN_CHILDREN`` clusters.
    """
    s = np.asarray(scores, dtype=float)
    y = np.asarray(outcome, dtype=bool)
    values = np.unique(s)
    base = cochran_armitage([y[s == v].sum() for v in values], [(s == v).sum() for v in values], values)
    if not base.tested:
        return base
    codes, n_clusters = _cluster_codes(clusters)
    if n_clusters < 2:
        return TestResult(None, f"not testable: the {words[0]} belong to fewer than two {words[1]}")
    row = np.searchsorted(values, s)
    gv = group_variance(row, y, codes, len(values))
    stop = _too_few_clusters([f"score {v:g}" for v in values], gv, words)
    if stop:
        return stop
    w = gv.sizes * (values - (gv.sizes * values).sum() / gv.sizes.sum())
    terms = (gv.contributions @ w) ** 2
    d = float(terms.sum() / (w ** 2 @ gv.srs))
    nu = min(n_clusters - 1.0, 3 * effective_clusters(terms))   # terms ~ chi-square(1): E a^2 = 3 (E a)^2
    t = base.statistic / math.sqrt(max(1.0, d))
    return TestResult("Cochran-Armitage trend test, Rao-Scott adjusted (t)",
                      f"ordered groups; linear trend in the proportion disclosing; the {len(y)} {words[0]} of "
                      f"{n_clusters} {words[1]} are not independent (several per {words[2]}), so z is divided by the "
                      f"square root of the design effect {max(1.0, d):.2f}{_floored(d)} (bias-reduced cluster-robust "
                      f"variance) and referred to Student's t on {nu:.1f} degrees of freedom (from how the variance is "
                      f"shared between the {words[1]}); two-sided; tested because every group's {words[0]} come "
                      f"from at least {MIN_CHILDREN} {words[1]}",
                      t, float(2 * stats.t.sf(abs(t), nu)), design_effect=d)


def bh_adjust(pvalues) -> list[float | None]:
    """Benjamini-Hochberg adjusted p-values (q-values); None stays None and is not in the family."""
    values = list(pvalues)
    idx = [i for i, p in enumerate(values) if p is not None and not (isinstance(p, float) and math.isnan(p))]
    out: list[float | None] = [None] * len(values)
    if idx:
        _, q, _, _ = multipletests([values[i] for i in idx], method="fdr_bh")
        for i, qi in zip(idx, q):
            out[i] = float(qi)
    return out


def format_p(p: float | None) -> str:
    if p is None:
        return "-"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


RISK_SCORES = {"low": 1, "medium": 2, "high": 3}


def association_table(frame, outcomes, group="police_risk", levels=("high", "medium", "low"),
                      scores=RISK_SCORES, cluster: str | None = "child_id", family: str | None = None,
                      words=("RHIs", "children", "child")) -> "pd.DataFrame":
    """For each outcome: group x disclosed test (method, reason, p) and trend test, with BH q-values.

    ``frame`` has one row per unit (RHI, or child with one grade each) with
    the ``group`` column, one boolean column per outcome and, unless
    ``cluster`` is None, the ``cluster`` column (the child). When some
    cluster has several units among the rows of ``levels``, the tests are
    Rao-Scott adjusted (``rao_scott_test``, ``clustered_trend_test``);
    otherwise they are the ordinary ones (``independence_test``,
    ``cochran_armitage``). The BH family is the outcomes tested in this table,
    separately for the independence and the trend tests; ``family`` names it
    (e.g. "RHI level, police grade") in the ``bh_family`` and
    ``trend_bh_family`` columns.
    """
    import pandas as pd

    missing = [c for c in [group] + list(outcomes) + ([cluster] if cluster else []) if c not in frame.columns]
    if missing:
        raise ValueError(f"association_table: the frame has no column {', '.join(map(repr, missing))}")
    unknown = set(levels) - set(scores)
    if unknown:
        raise ValueError(f"association_table: no trend score for {sorted(unknown)}")
    used = frame[frame[group].isin(levels)]
    clustered = bool(cluster) and bool(used[cluster].duplicated().any())
    rows = []
    for outcome in outcomes:
        flags = used[outcome].astype(bool)
        counts = [(int(flags[used[group] == lv].sum()), int((used[group] == lv).sum())) for lv in levels]
        if clustered:
            ind = rao_scott_test(used[group], flags, used[cluster], words)
            trend = clustered_trend_test(used[group].map(scores), flags, used[cluster], words)
        else:
            ind = independence_test([[x, n - x] for x, n in counts])
            trend = cochran_armitage([x for x, _ in counts], [n for _, n in counts], [scores[lv] for lv in levels])
        row = {"outcome": outcome}
        for lv, (x, n) in zip(levels, counts):
            row[f"{lv}_count"], row[f"{lv}_denominator"] = x, n
        row.update({"test": ind.method or "not tested", "test_reason": ind.reason, "p_value": ind.pvalue,
                    "design_effect": ind.design_effect,
                    "trend_test": trend.method or "not tested", "trend_reason": trend.reason,
                    "trend_z": trend.statistic, "trend_p_value": trend.pvalue,
                    "trend_design_effect": trend.design_effect})
        rows.append(row)
    table = pd.DataFrame(rows)
    if len(table):
        name = family or f"{group.replace('_', ' ')} x outcome"
        table["q_value_bh"] = bh_adjust(table["p_value"].tolist())
        table["trend_q_value_bh"] = bh_adjust(table["trend_p_value"].tolist())
        m, mt = int(table["p_value"].notna().sum()), int(table["trend_p_value"].notna().sum())
        table["bh_family"] = (f"{name}: the {m} independence test(s) of this table; other tables are corrected "
                              "separately")
        table["trend_bh_family"] = (f"{name}: the {mt} trend test(s) of this table; other tables are corrected "
                                    "separately")
    return table


# --- a proportion of clustered units ---------------------------------------------------------------

@dataclass(frozen=True)
class ClusteredProportion:
    """count/denominator with a 95% interval that allows for clustering (percent), and how it was made."""

    count: int
    denominator: int
    clusters: int
    design_effect: float | None
    effective_n: float | None
    ci_low: float | None
    ci_high: float | None
    basis: str = ""


def clustered_proportion(flags, clusters, confidence: float = 0.95) -> ClusteredProportion:
    """Korn and Graubard's (1998) interval: Clopper-Pearson at the effective sample size, df-corrected.

    d = cluster-robust variance of the proportion over the same estimator with every
    unit its own cluster (``design_effect``), floored at 1 (an effective size never
    above n); the effective size n* = n/d is multiplied by (t_{n-1}/t_{G-1})^2 (the
    quantiles at (1 - confidence)/2; G clusters), and the interval is Clopper-Pearson's
    for x* = p n* successes in n* trials, x* and n* not whole numbers (beta quantiles
    B(a/2; x*, n* - x* + 1) and B(1 - a/2; x* + 1, n* - x*)). This is R survey's
    ``svyciprop(method = "beta")``, except that its n* is p(1 - p)/v, n - 1 where every
    cluster has one unit, and here n/d, n. With one unit per cluster it is the
    Clopper-Pearson interval. Where d cannot be estimated (the proportion is 0% or 100%, or
    the units belong to one cluster) the worst case is taken: every cluster's units alike,
    d = sum(m_i^2)/n for cluster sizes m_i (the effective size is then Kish's effective
    number of clusters; 1 for one cluster; d = 1 again when every cluster has one unit),
    and one cluster gives no degrees-of-freedom correction.
    """
    y = np.asarray(flags, dtype=bool)
    n = len(y)
    if n == 0:
        return ClusteredProportion(0, 0, 0, None, None, None, None, "no units")
    codes, g = _cluster_codes(clusters)
    k = int(y.sum())
    sizes = np.bincount(codes)
    worst = float((sizes.astype(float) ** 2).sum() / n)
    if g < 2 or k in (0, n):
        d, basis = worst, "not estimable (0%, 100% or one cluster): every cluster's units taken as alike"
    else:
        d, basis = max(1.0, design_effect(y, codes)), "cluster-robust variance"
    n_eff = n / d
    alpha = 1 - confidence
    if 1 < g < n:
        n_eff *= (stats.t.ppf(alpha / 2, n - 1) / stats.t.ppf(alpha / 2, g - 1)) ** 2
    low, high = korn_graubard(k / n, n_eff, confidence)
    return ClusteredProportion(k, n, g, d, n_eff, 100 * low, 100 * high, basis)


def korn_graubard(p: float, n_eff: float, confidence: float = 0.95) -> tuple[float, float]:
    """Clopper-Pearson interval for a proportion p at a (not necessarily whole) sample size n_eff.

    x = p n_eff: lower B(a/2; x, n_eff - x + 1) (0 when x = 0), upper B(1 - a/2; x + 1, n_eff - x)
    (1 when x = n_eff), a = 1 - confidence; the exact binomial interval when n_eff is a whole number.
    """
    alpha = 1 - confidence
    x = p * n_eff
    low = 0.0 if x <= 0 else float(stats.beta.ppf(alpha / 2, x, n_eff - x + 1))
    high = 1.0 if x >= n_eff else float(stats.beta.ppf(1 - alpha / 2, x + 1, n_eff - x))
    return low, high
