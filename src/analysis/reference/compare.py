"""Published against replicated: every figure of the reference file beside the one computed from records.

This is the only analysis module that reads the published figures, and it
reads them only to compare. A replicated figure "matches" when the computed
percentage, rounded half up to the precision the report printed, equals the
printed one, and any printed count equals the computed count. Figures the
audit (``analysis.reference.audit``) finds impossible as printed are marked "the
report is inconsistent" with the reason, whatever the data say.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pandas as pd
import yaml

from analysis.disclosure import NOT_AVAILABLE, SUPPRESSED
from analysis.filecache import read_once
from analysis.stats.proportions import printed_decimals
from analysis.stats.proportions import round_half_up

REFERENCE = "a_safer_return_2019_figures.yaml"

STATUS_MATCH = "matches"
STATUS_DIFFER = "differs"
STATUS_REPORT = "report inconsistent"
STATUS_SUPPRESSED = "suppressed"
STATUS_NOT_AVAILABLE = "not available in this source"
STATUS_MISSING = "not computable from these data"
STATUS_NOT_PUBLISHED = "not published"


def reference_path(path=None) -> Path:
    """The given reference file, or the copy shipped with the package."""
    if path:
        return Path(path)
    return Path(str(resources.files("analysis") / "data" / "reference" / REFERENCE))


def load_reference(path=None) -> dict:
    """The reference file as a dict (a fresh copy each call: the caller may change it), read as every
    published-figures YAML is (``analysis.limits.load_yaml``: at most 1 MiB, no aliases), once per file version:
    a batch kernel reads it for every report."""
    return _read_reference(reference_path(path))


def _parse_reference(path: Path) -> dict:
    from analysis.limits import load_yaml

    return load_yaml(path, "published-figures YAML")


_read_reference = read_once(_parse_reference)


def published_table(reference: dict) -> pd.DataFrame:
    rows = []
    for fig in reference.get("figures", []):
        rows.append({"id": fig["id"], "population": fig.get("population"), "unit": fig.get("unit"),
                     "published_count": fig.get("count"), "published_pct": fig.get("pct"),
                     "decimals": printed_decimals(fig.get("pct"))})
    return pd.DataFrame(rows)


def _matches(published_pct, published_count, count, pct, decimals) -> bool:
    ok = True
    if published_pct is not None and not pd.isna(published_pct):
        ok &= pct is not None and round_half_up(pct, decimals) == float(published_pct)
    if published_count is not None and not pd.isna(published_count):
        ok &= count == int(published_count)
    return bool(ok)


def compare_figures(computed: dict, reference: dict, inconsistent: dict[str, str] | None = None) -> pd.DataFrame:
    """One row per published figure: printed, replicated (count, denominator, %, CI) and a status with reason.

    ``computed`` is the result of ``analysis.definitions.figures.compute_figures``;
    ``inconsistent`` maps figure ids to the audit's reason.
    """
    inconsistent = inconsistent or {}
    figures = computed["figures"]
    rows = []
    for pub in published_table(reference).itertuples(index=False):
        rec = figures.get(pub.id)
        row = {"id": pub.id, "population": pub.population, "published_count": pub.published_count,
               "published_pct": pub.published_pct}
        if rec is None:
            row.update(status=STATUS_MISSING, reason="no definition of this figure in analysis.definitions.figures")
            rows.append(row)
            continue
        row.update({k: rec.get(k) for k in ("count", "denominator", "pct", "ci_low", "ci_high")})
        if rec.get("not_published"):
            status, reason = STATUS_NOT_PUBLISHED, rec["not_published"]
        elif rec.get("suppressed"):
            status, reason = STATUS_SUPPRESSED, "count below the disclosure threshold"
        elif NOT_AVAILABLE in (rec.get("count"), rec.get("denominator")):
            status, reason = STATUS_NOT_AVAILABLE, "the dataset's source does not hold what this figure needs"
        elif _matches(pub.published_pct, pub.published_count, rec["count"], rec["pct"], pub.decimals):
            status, reason = STATUS_MATCH, ""
        else:
            status, reason = STATUS_DIFFER, _difference(pub, rec)
        if pub.id in inconsistent:
            status, reason = STATUS_REPORT, inconsistent[pub.id] + (f" (replicated: {reason})" if reason else "")
        row.update(status=status, reason=reason)
        rows.append(row)
    return pd.DataFrame(rows)


def _difference(pub, rec) -> str:
    parts = []
    if pub.published_pct is not None and not pd.isna(pub.published_pct) and rec["pct"] is not None:
        parts.append(f"printed {pub.published_pct}%, replicated {round_half_up(rec['pct'], pub.decimals)}%")
    if pub.published_count is not None and not pd.isna(pub.published_count):
        parts.append(f"printed count {int(pub.published_count)}, replicated {rec['count']}")
    return "; ".join(parts) or "no estimate (empty denominator)"


def compare_populations(computed: dict, reference: dict) -> pd.DataFrame:
    """Published population sizes (episodes and children) against those computed."""
    rows = []
    for name, pub in reference.get("populations", {}).items():
        got = computed["populations"].get(name, {})
        for key in ("n", "children"):
            if key in pub:
                value = got.get(key)
                rows.append({"population": name, "measure": "episodes or children" if key == "n" else "children",
                             "published": pub[key], "replicated": value,
                             "status": STATUS_MATCH if value == pub[key] else
                             (STATUS_SUPPRESSED if value == SUPPRESSED else
                              STATUS_NOT_AVAILABLE if value == NOT_AVAILABLE else STATUS_DIFFER)})
    return pd.DataFrame(rows)


def _status_phrases() -> dict:
    return {STATUS_REPORT: ("is inconsistent in the report", "are inconsistent in the report"),
            STATUS_DIFFER: ("differs", "differ"), STATUS_SUPPRESSED: ("is not shown (c)", "are not shown (c)"),
            STATUS_NOT_AVAILABLE: ("is not available in this source", "are not available in this source"),
            STATUS_MISSING: ("cannot be computed from these data", "cannot be computed from these data")}


def status_summary(table: pd.DataFrame) -> str:
    """'72 of 90 published figures match; 1 is inconsistent in the report; ...' from the table."""
    STATUS_PHRASES = _status_phrases()
    counts = table["status"].value_counts()
    total = len(table)
    parts = [f"{counts.get(STATUS_MATCH, 0)} of {total} published figures are reproduced at the printed precision"]
    for status in (STATUS_REPORT, STATUS_DIFFER, STATUS_SUPPRESSED, STATUS_NOT_AVAILABLE, STATUS_MISSING):
        n = int(counts.get(status, 0))
        if n:
            parts.append(f"{n} {STATUS_PHRASES.get(status, (status, status))[0 if n == 1 else 1]}")
    return "; ".join(parts) + "."


def audit_inconsistencies(reference: dict) -> dict[str, str]:
    """Figure id -> reason, for figures the audit finds cannot be as printed.

    The audit depends on the reference's content alone, so it runs once per content in a process (keyed on the
    content itself, written out canonically): a batch kernel audits the same file for every authority's report.
    """
    import json

    key = json.dumps(reference, sort_keys=True, default=str)
    found = _AUDITED.get(key)
    if found is None:
        from analysis.reference.audit import inconsistent_figures

        if len(_AUDITED) >= 8:   # a few versions of the file at most in one process
            _AUDITED.clear()
        found = _AUDITED[key] = inconsistent_figures(reference)
    return dict(found)   # the caller's to change


_AUDITED: dict[str, dict[str, str]] = {}


def context_view(table: pd.DataFrame) -> pd.DataFrame:
    """For one authority: each of the study's printed figures beside the authority's own, with no verdict.

    The study covered three authorities together; one authority differing from it is not a failure to
    replicate, so the status column is left out.
    """
    columns = ["id", "published_count", "published_pct", "count", "denominator", "pct", "ci_low", "ci_high"]
    return table[[c for c in columns if c in table]]   # published_*: the study's printed numbers
