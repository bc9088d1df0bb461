"""The words beside the numbers name the methods the code uses (issue 28).

Each wrong phrase the review found is searched for where readers meet it (notebooks 02 and 06, the captions and
sentences of ``analysis.render``, the docs); each caveat it asked for is searched for where it belongs.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def notebook_text(name: str) -> str:
    cells = json.loads((ROOT / "notebooks" / name).read_text())["cells"]
    return "\n".join("".join(c["source"]) for c in cells)


TEXTS = {
    "notebook 02": lambda: notebook_text("02_police_risk_and_disclosures.ipynb"),
    "notebook 06": lambda: notebook_text("06_this_year_against_earlier_years.ipynb"),
    "plots.py": lambda: (ROOT / "src/analysis/render/plots.py").read_text(),
    "narrative.py": lambda: (ROOT / "src/analysis/render/narrative.py").read_text(),
    "years_plots.py": lambda: (ROOT / "src/analysis/render/years_plots.py").read_text(),
    "linkage-analysis.md": lambda: (ROOT / "docs/linkage-analysis.md").read_text(),
    "trends.md": lambda: (ROOT / "docs/trends.md").read_text(),
    "reports.md": lambda: (ROOT / "docs/reports.md").read_text(),
}

WRONG = {
    # the expected-count rule (every expected count at least 5) is stricter than Cochran's, not Cochran's rule
    "expected-count rule called Cochran's": r"\(Cochran's rule\)|at least 5 \(Cochran",
    # the RHI-level tests are Rao-Scott adjusted
    "RHI-level tests said to treat RHIs as independent": r"RHI level treats the RHIs of\s+one child as independent",
    # child-level screening pairs each child's first in-scope RHI and is published
    "child-level screening described as any RHI high": r"child level: any in-scope RHI graded high",
    "screening said to be RHI level only": r"RHI level only",
    # Firth rows are not cluster-robust
    "forest caption calling every interval cluster-robust": r"confidence intervals \(cluster-robust, by child\)",
    # Korn and Graubard: neither the GEE variance nor a Wilson interval at n/d
    "Korn and Graubard cited for the GEE variance": r"Korn and Graubard 1998 for cluster-robust variance",
    "Wilson at n/d called Korn-Graubard": r"Wilson interval at the effective sample size n/d\*\* \(Korn",
    # funnel switch: measured up to 6.1%, not under 3%
    "funnel limits said to differ by under 3%": r"under 3% of the limits' half-width",
    # effective counts: not the largest inflation clustering can cause
    "Kish design effect called an upper bound": r"the most clustering\s+can cause|largest inflation clustering can cause",
    # the old first-order test and its gate
    "old Rao-Scott gate": r"expected counts? divided by the design effect (is|are) at least 5|applied to the expected counts "
                          r"divided by",
}


@pytest.mark.parametrize("wrong", list(WRONG))
def test_wrong_method_words_are_gone(wrong):
    found = [name for name, text in TEXTS.items() if re.search(WRONG[wrong], text())]
    assert not found, f"{wrong}: still in {found}"


def test_the_search_finds_what_it_looks_for():
    # the patterns match the phrases as they were (the check can fail)
    before = {
        "expected-count rule called Cochran's": "Chi-square when every expected count is at least 5\n(Cochran's rule)",
        "RHI-level tests said to treat RHIs as independent": "RHI level treats the RHIs of\none child as independent",
        "child-level screening described as any RHI high": "(child level: any in-scope RHI graded high)",
        "screening said to be RHI level only": "RHI level only: a child-level version would pair",
        "forest caption calling every interval cluster-robust": "Lines show 95% confidence intervals (cluster-robust, by child); ",
        "Korn and Graubard cited for the GEE variance": "Konis 2007 for the separation check; Korn and Graubard 1998 for cluster-robust variance.",
        "Wilson at n/d called Korn-Graubard": "each interval is a **Wilson interval at the effective sample size n/d** (Korn and",
        "funnel limits said to differ by under 3%": "under two counts of the denominator and under 3% of the limits' half-width",
        "Kish design effect called an upper bound": "the most clustering\ncan cause, so these comparisons are conservative",
        "old Rao-Scott gate": "The expected-count rule is\n  applied to the expected counts divided by δ̄",
    }
    assert set(before) == set(WRONG)
    for wrong, text in before.items():
        assert re.search(WRONG[wrong], text), wrong


def test_the_caveats_are_where_readers_meet_the_numbers():
    from analysis.definitions import trends
    from analysis.render import plots
    from analysis.stats import funnel, models

    nb02 = notebook_text("02_police_risk_and_disclosures.ipynb")
    # RHI-level prevalence intervals ignore clustering, and the caption of their table says so
    assert "plots.RHI_INDEPENDENT" in nb02 and "treat the RHIs of one child as independent" in plots.RHI_INDEPENDENT
    # the forest caption says which intervals are cluster-robust (GEE) and which are not (Firth)
    assert "plots.FOREST_INTERVALS" in nb02 and "treat the RHIs of one child as independent" in plots.FOREST_INTERVALS
    # the screening chart names Korn and Graubard's interval, and the child-level table is shown
    assert "plots.KORN_GRAUBARD" in nb02 and '"screening_children"' in nb02
    # the police-grade p-values: adjusted, the family named, and the notebook's sentences say so
    import pandas as pd

    from analysis.render import narrative

    assert "Benjamini-Hochberg" in nb02 and "narrative.model_methods(ors)" in nb02
    ors = models.odds_ratio_table([models.ModelResult("y", "ok", table=pd.DataFrame(
        [{"term": "police_risk=high", "p_value": 0.01}, {"term": "police_risk=low", "p_value": 0.2},
         {"term": "sex=male", "p_value": 0.03}]))])
    said = " ".join(narrative.model_methods(ors))
    assert "Multiple testing" in said and "the 2 police-grade term(s)" in said and "not adjusted" in said
    # the winsorised phi is about two thirds of the true phi: the funnel caption says so when limits are widened
    caption = plots.funnel_caption("x", {"limit_type": "k", "overdispersion_adjusted": True})
    assert funnel.PHI_CAVEAT in caption and "two thirds" in caption
    assert funnel.PHI_CAVEAT not in plots.funnel_caption("x", {"limit_type": "k", "overdispersion_adjusted": False})
    # effective counts in trends are not an upper bound
    assert "not an upper bound" in trends.CLUSTER_NOTE
    from analysis.render import years_plots
    assert "not an upper bound" in years_plots.CLUSTERED
