"""Sentences for the replication report, written from the computed figures.

Every sentence is built from a figure record (count, denominator, pct,
interval), after disclosure control: a hidden figure reads "not shown (c)",
the same words whatever hid it (a reader is never told that a particular hidden
number is small), and never a number. Nothing here states a finding that the
numbers do not carry.
"""

from __future__ import annotations

from analysis.disclosure import NOT_AVAILABLE, SUPPRESSED


def figure_phrase(record: dict, min_cell: int = 5, with_ci: bool = True) -> str:
    """'30 of 214 (14%, 95% CI 10% to 19%)', or a suppression/no-estimate phrase."""
    count, den, pct = record.get("count"), record.get("denominator"), record.get("pct")
    if NOT_AVAILABLE in (count, den, pct):
        return "a number this dataset's source cannot supply"
    if SUPPRESSED in (count, den, pct):
        return "a number not shown (c)"
    if pct is None:
        return f"{count:,} of {den:,} (no percentage: the denominator is 0)" if den == 0 else f"{count:,}"
    ci = f", 95% CI {record['ci_low']:.0f}% to {record['ci_high']:.0f}%" if with_ci and record.get("ci_low") is not None else ""
    return f"{count:,} of {den:,} ({pct:.0f}%{ci})"


def headlines(computed: dict, comparison_summary: str | None = None) -> list[str]:
    """Plain-English headline findings from ``compute_figures`` output."""
    f, pops = computed["figures"], computed["populations"]
    min_cell = computed["disclosure_control"]["min_cell"]
    levels = " or ".join(computed["params"]["risk_levels"])
    out = []
    notified = pops["notified_episodes"]["n"]
    out.append(f"{_n(notified)} missing episodes were notified; {figure_phrase(f['no_risk_code_share'], min_cell, False)} "
               f"had no police risk code, and {figure_phrase(f['medium_low_share_of_coded'], min_cell, False)} "
               f"risk-coded episodes were graded {levels}.")
    children = pops["rhi_children"]["n"]
    if children == NOT_AVAILABLE:
        out.append("This dataset's source holds no return home interviews, so nothing children disclosed can be reported.")
    elif children == 0:
        out.append(f"No child had a completed RHI for a {levels}-risk episode, so nothing they disclosed can be reported.")
    elif children == SUPPRESSED:
        out.append(f"The number of children with a completed RHI for a {levels}-risk episode is not shown (c), so that "
                   "a small number cannot be worked out, and nor is what they disclosed.")
    else:
        out.append(
            f"{_n(children)} children had a completed RHI for a {levels}-risk episode. Of them, "
            f"{figure_phrase(f['cse_victim'], min_cell)} disclosed current or past sexual exploitation, "
            f"{figure_phrase(f['cse_red_flag_any'], min_cell)} at least one CSE red flag, "
            f"{figure_phrase(f['cce_victim'], min_cell)} criminal exploitation and "
            f"{figure_phrase(f['mental_health'], min_cell)} a mental-health issue.")
    if comparison_summary:
        out.append(comparison_summary)
    return out


def _n(value) -> str:
    if value == NOT_AVAILABLE:
        return "An unknown number of (not in this source)"
    return "A number, not shown (c), of" if value == SUPPRESSED else f"{value:,}"
