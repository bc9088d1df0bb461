"""Audit of published figures: could each printed number be true?

Checks, each computed from the printed numbers alone (never from notes or
comments in the reference file):

- **GRIM** (granularity-related inconsistency of means, Brown & Heathers 2017):
  a percentage of a known whole-number denominator ``n`` can only take the
  values ``100 k / n``. A printed percentage is *possible* if some whole ``k``
  rounds to it, rounding half up (as reports usually do) or half to even.
- **Count against percentage:** where both are printed, ``count / n`` must
  round to the printed percentage.
- **Parts against whole:** figures that split one population (declared in
  ``PARTITIONS``: which figure ids, not which numbers) must be able to add up
  to it. Each part can be any count its printed percentage allows; the split is
  possible if the whole lies between the sums of the smallest and largest.
  Parts that may overlap (a child in two cohorts) are reported, not condemned.
- **Words against number:** an optional ``words`` field ("one in four") must
  agree with the percentage to within the rounding of the words.

Exact arithmetic (fractions) throughout: no floating-point edge at x.5.
"""

from __future__ import annotations

import json
import math
import re
from fractions import Fraction
from pathlib import Path

import pandas as pd
import yaml

from .compare import printed_decimals

CONSISTENT = "consistent"
IMPOSSIBLE = "impossible as printed"
INCONSISTENT = "inconsistent"
OVERLAP = "parts overlap (not additive)"
NOT_TESTABLE = "not testable"
FAILING = (IMPOSSIBLE, INCONSISTENT)

# Figures that split one population. "whole" is a population name (its n) or a figure id (its count).
PARTITIONS = (
    {"name": "police risk of risk-coded episodes", "whole": "risk_coded_episodes",
     "parts": ("high_share_of_coded", "medium_share_of_coded", "low_share_of_coded"), "overlap": False},
    {"name": "medium or low = medium + low", "whole": "medium_low_share_of_coded",
     "parts": ("medium_share_of_coded", "low_share_of_coded"), "overlap": False},
    {"name": "cohorts of RHI children", "whole": "rhi_children",
     "parts": ("cohort_looked_after", "cohort_open_to_services", "cohort_not_known"), "overlap": True},
    {"name": "cohorts of high-risk episodes", "whole": "high_episodes",
     "parts": ("high_episodes_looked_after", "high_episodes_open_to_services", "high_episodes_not_known"),
     "overlap": False},
    {"name": "consent of RHI episodes", "whole": "rhi_episodes_medium_low",
     "parts": ("consent_all_shared", "consent_none_shared", "consent_partial_or_override"), "overlap": False},
)

WORDS = {"all": 1, "none": 0, "half": Fraction(1, 2), "a third": Fraction(1, 3), "two thirds": Fraction(2, 3),
         "a quarter": Fraction(1, 4), "three quarters": Fraction(3, 4), "a fifth": Fraction(1, 5)}
NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
           "ten": 10}


class AuditInputError(ValueError):
    """The reference file cannot be read as a published-figures file."""


def rounds_to(k: int, n: int, pct: float, decimals: int, mode: str = "half_up") -> bool:
    """Whether 100 k / n, rounded to ``decimals`` (half up or half to even), prints as ``pct``."""
    scaled = Fraction(100 * k, n) * 10 ** decimals
    floor = math.floor(scaled)
    rest = scaled - floor
    if rest > Fraction(1, 2) or (rest == Fraction(1, 2) and (mode == "half_up" or floor % 2 == 1)):
        floor += 1
    return Fraction(floor, 10 ** decimals) == Fraction(str(pct))


def possible_counts(pct: float, n: int, decimals: int, mode: str = "half_up") -> list[int]:
    """Whole counts of n that print as pct."""
    exact = float(pct) * n / 100
    near = range(max(0, math.floor(exact) - 2), min(n, math.ceil(exact) + 2) + 1)
    return [k for k in near if rounds_to(k, n, pct, decimals, mode)]


def nearest_possible(pct: float, n: int, decimals: int) -> str:
    """The printable percentages next to an impossible one, e.g. '3.4% (51/1490) or 3.5% (52/1490)'."""
    exact = float(pct) * n / 100
    out = []
    for k in sorted({max(0, math.floor(exact)), min(n, math.ceil(exact))}):
        out.append(f"{float(round(Fraction(100 * k, n), decimals)):.{decimals}f}% ({k}/{n})")
    return " or ".join(out)


def parse_words(words: str) -> tuple[Fraction, Fraction] | None:
    """'one in four' -> (1/4, tolerance); 'half' -> (1/2, ...). None if not understood."""
    text = words.lower().strip()
    match = re.fullmatch(r"(\w+) in (\w+)", text)
    if match and match.group(1) in NUMBERS and match.group(2) in NUMBERS:
        a, b = NUMBERS[match.group(1)], NUMBERS[match.group(2)]
        return Fraction(a, b), Fraction(1, 2 * b)       # "one in four" covers 1/4 +- half a step of 1/4
    for phrase, value in WORDS.items():
        if text in (phrase, "about " + phrase, "around " + phrase):
            return Fraction(value), Fraction(1, 20)
    return None


def _row(fig, check, printed, possible, verdict, reason=""):
    return {"figure": fig, "check": check, "printed": printed, "possible": possible, "verdict": verdict,
            "reason": reason}


def _denominator(reference: dict, fig: dict) -> int | None:
    """The population's n, or its number of children for a figure about children of an episode population."""
    pop = reference.get("populations", {}).get(fig.get("population"), {})
    if fig.get("unit") == "children" and pop.get("unit") == "episodes" and "children" in pop:
        return int(pop["children"])
    return int(pop["n"]) if "n" in pop else None


def _figure_checks(reference: dict, fig: dict) -> list[dict]:
    fid, pct, count = fig["id"], fig.get("pct"), fig.get("count")
    n = _denominator(reference, fig)
    rows = []
    if pct is None:
        if count is not None and n is not None and not 0 <= int(count) <= n:
            rows.append(_row(fid, "count within denominator", f"{count} of {n}", f"0 to {n}", IMPOSSIBLE,
                             "a count cannot exceed its denominator"))
        return rows
    d = printed_decimals(pct)
    if n is None:
        return [_row(fid, "GRIM", f"{pct}%", "", NOT_TESTABLE, f"the size of {fig.get('population')} is not published")]
    up, even = possible_counts(pct, n, d, "half_up"), possible_counts(pct, n, d, "half_even")
    if up or even:
        how = "" if up else " only when rounding half to even"
        rows.append(_row(fid, "GRIM", f"{pct}% of {n}", ", ".join(map(str, sorted(set(up) | set(even)))),
                         CONSISTENT, f"possible{how}"))
    else:
        rows.append(_row(fid, "GRIM", f"{pct}% of {n}", nearest_possible(pct, n, d), IMPOSSIBLE,
                         f"no whole count of {n} prints as {pct}%"))
    if count is not None:
        ok = rounds_to(int(count), n, pct, d) or rounds_to(int(count), n, pct, d, "half_even")
        actual = float(round(Fraction(100 * int(count), n), d + 2))
        rows.append(_row(fid, "count vs percentage", f"{count} and {pct}% of {n}",
                         ", ".join(map(str, up or even)) or "none",
                         CONSISTENT if ok else INCONSISTENT,
                         "" if ok else f"{count}/{n} = {actual}%, which prints as "
                                       f"{float(round(Fraction(100 * int(count), n), d)):.{d}f}%"))
    if fig.get("words"):
        parsed = parse_words(str(fig["words"]))
        if parsed is None:
            rows.append(_row(fid, "words vs number", f"'{fig['words']}' ({pct}%)", "", NOT_TESTABLE,
                             "words not understood"))
        else:
            value, tolerance = parsed
            ok = abs(Fraction(str(pct)) / 100 - value) <= tolerance + Fraction(1, 2 * 10 ** (d + 2))
            rows.append(_row(fid, "words vs number", f"'{fig['words']}' ({pct}%)",
                             f"{float(value * 100):.0f}% +- {float(tolerance * 100):.1f}",
                             CONSISTENT if ok else INCONSISTENT,
                             "" if ok else f"'{fig['words']}' is about {float(value * 100):.0f}%, not {pct}%"))
    return rows


def _range_of(reference: dict, figures: dict, fid: str) -> tuple[int, int] | None:
    """Smallest and largest count a part may have: its printed count, else what its percentage allows."""
    fig = figures.get(fid)
    if fig is None:
        return None
    if fig.get("count") is not None:
        return int(fig["count"]), int(fig["count"])
    n = _denominator(reference, fig)
    if n is None or fig.get("pct") is None:
        return None
    counts = possible_counts(fig["pct"], n, printed_decimals(fig["pct"]))
    counts += possible_counts(fig["pct"], n, printed_decimals(fig["pct"]), "half_even")
    return (min(counts), max(counts)) if counts else None


def _partition_checks(reference: dict, figures: dict) -> list[dict]:
    rows = []
    for part in PARTITIONS:
        whole_name = part["whole"]
        pops = reference.get("populations", {})
        if whole_name in pops and "n" in pops[whole_name]:
            whole = int(pops[whole_name]["n"])
        elif whole_name in figures and figures[whole_name].get("count") is not None:
            whole = int(figures[whole_name]["count"])
        else:
            continue
        ranges = [_range_of(reference, figures, fid) for fid in part["parts"]]
        if any(r is None for r in ranges):
            continue
        low, high = sum(r[0] for r in ranges), sum(r[1] for r in ranges)
        printed = " + ".join(f"{fid} [{a}-{b}]" if a != b else f"{fid} [{a}]"
                             for fid, (a, b) in zip(part["parts"], ranges))
        possible = f"parts sum to {low}-{high}" if low != high else f"parts sum to {low}"
        if low <= whole <= high:
            verdict, reason = CONSISTENT, f"a split adding up to {whole} exists"
        elif part["overlap"] and low > whole:
            verdict, reason = OVERLAP, (f"parts exceed the whole ({whole}) by at least {low - whole}: possible only "
                                        f"if some are counted in more than one part")
        else:
            verdict, reason = INCONSISTENT, f"no counts the parts allow add up to {whole}"
        rows.append(_row(part["name"], "parts vs whole", printed + f" = {whole}", possible, verdict, reason))
    return rows


def audit_reference(reference: dict) -> pd.DataFrame:
    """One row per check: figure (or partition), check, what was printed, what is possible, verdict, reason."""
    figures = {f["id"]: f for f in reference.get("figures", [])}
    rows = []
    for fig in reference.get("figures", []):
        rows += _figure_checks(reference, fig)
    rows += _partition_checks(reference, figures)
    return pd.DataFrame(rows, columns=["figure", "check", "printed", "possible", "verdict", "reason"])


def inconsistent_figures(reference: dict) -> dict[str, str]:
    """Figure id -> reason, for every figure that fails a check of its own (GRIM, count vs %, words)."""
    table = audit_reference(reference)
    bad = table[table["verdict"].isin(FAILING) & (table["check"] != "parts vs whole")]
    return {fid: "; ".join(f"{r.check}: {r.reason}" for r in group.itertuples())
            for fid, group in bad.groupby("figure", sort=False)}


def load_reference_file(path: Path) -> dict:
    """Read a published-figures YAML, or raise AuditInputError naming the file and what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise AuditInputError(f"{path}: no such file")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise AuditInputError(f"{path}{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, dict) or not isinstance(data.get("figures"), list):
        raise AuditInputError(f"{path}: expected a mapping with a 'figures' list (and 'populations')")
    for i, fig in enumerate(data["figures"], start=1):
        if not isinstance(fig, dict) or "id" not in fig:
            raise AuditInputError(f"{path}: figure {i} has no 'id'")
    return data


def audit_command(yaml_path: Path, as_json: bool = False) -> None:
    import typer

    try:
        reference = load_reference_file(yaml_path)
    except AuditInputError as exc:
        typer.echo(f"rhi audit-figures: {exc}", err=True)
        raise typer.Exit(1) from None
    table = audit_reference(reference)
    without_words = sum(1 for f in reference["figures"] if f.get("pct") is not None and not f.get("words"))
    if as_json:
        typer.echo(json.dumps({"checks": table.to_dict(orient="records"),
                               "figures_without_words": without_words}, indent=2))
        return
    with pd.option_context("display.max_colwidth", 70, "display.width", 250):
        typer.echo(table.to_string(index=False))
    counts = table["verdict"].value_counts()
    typer.echo("\n" + "; ".join(f"{v}: {int(counts[v])}" for v in counts.index) + f" ({len(table)} checks)")
    typer.echo(f"Words against numbers: {without_words} percentages have no 'words' field, so any disagreement "
               "between the report's words and its numbers cannot be checked for them.")
