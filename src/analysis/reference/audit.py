"""Audit of published figures: could each printed number be true?

Checks, each computed from the printed numbers alone (never from notes or
comments in the reference file):

- **GRIM** (granularity-related inconsistency of means, Brown & Heathers 2017):
  a percentage of a known whole-number denominator ``n`` can only take the
  values ``100 k / n``. A printed percentage is *possible* if some whole ``k``
  rounds to it, rounding half up (as reports usually do) or half to even.
- **Count against percentage:** where both are printed, ``count / n`` must
  round to the printed percentage.
- **Relations between figures** (declared in ``RELATIONS``: figure ids and
  population names, never numbers). Each figure can be any count its printed
  percentage allows (its printed count, if there is one); a relation holds if
  some choice of those counts satisfies it:
  ``sum`` parts add up to the whole; ``overlap`` parts may add up to more
  (a child in two cohorts), which is reported, not condemned; ``within`` a
  subset is no larger than its whole; ``repeats`` at most ``episodes -
  children`` of a population's episodes (or children) can be second or later
  ones *within* that population. Every population with episodes and children
  must have no more children than episodes.
- **Words against number:** an optional ``words`` field ("one in four",
  "nearly half") must agree with the percentage (see ``parse_words``).

Exact arithmetic (fractions) throughout: no floating-point edge at x.5.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import pandas as pd

from analysis.limits import InputTooLarge, load_yaml
from analysis.stats.proportions import printed_decimals

CONSISTENT = "consistent"
IMPOSSIBLE = "impossible as printed"
INCONSISTENT = "inconsistent"
OVERLAP = "parts overlap (not additive)"
BEYOND = "counts beyond its population"
NOT_TESTABLE = "not testable"
FAILING = (IMPOSSIBLE, INCONSISTENT)
COLUMNS = ["figure", "check", "printed", "possible", "verdict", "reason"]

# Audit configuration: which figures and populations should relate, and how. A name is a population
# (its n; "<population>.children" for its children) if the populations block has it, else a figure id.
RELATIONS = (
    {"kind": "sum", "name": "police risk of risk-coded episodes", "whole": "risk_coded_episodes",
     "parts": ("high_share_of_coded", "medium_share_of_coded", "low_share_of_coded")},
    {"kind": "sum", "name": "medium or low = medium + low", "whole": "medium_low_share_of_coded",
     "parts": ("medium_share_of_coded", "low_share_of_coded")},
    {"kind": "sum", "name": "risk-coded = medium or low + high", "whole": "risk_coded_episodes",
     "parts": ("medium_low_share_of_coded", "high_share_of_coded")},
    {"kind": "sum", "name": "risk-coded populations = medium/low + high", "whole": "risk_coded_episodes",
     "parts": ("medium_low_episodes", "high_episodes")},
    {"kind": "sum", "name": "notified = risk-coded + no risk code", "whole": "notified_episodes",
     "parts": ("risk_coded_episodes", "no_risk_code_share")},
    {"kind": "sum", "name": "medium or low episodes printed twice", "whole": "medium_low_episodes",
     "parts": ("medium_low_share_of_coded",)},
    {"kind": "sum", "name": "high-risk episodes printed twice", "whole": "high_episodes",
     "parts": ("high_share_of_coded",)},
    {"kind": "sum", "name": "looked-after cohort printed twice", "whole": "rhi_children_looked_after",
     "parts": ("cohort_looked_after",)},
    {"kind": "sum", "name": "open-to-services cohort printed twice", "whole": "rhi_children_open_to_services",
     "parts": ("cohort_open_to_services",)},
    {"kind": "sum", "name": "not-known cohort printed twice", "whole": "rhi_children_not_known",
     "parts": ("cohort_not_known",)},
    {"kind": "overlap", "name": "cohorts of RHI children", "whole": "rhi_children",
     "parts": ("cohort_looked_after", "cohort_open_to_services", "cohort_not_known")},
    {"kind": "sum", "name": "cohorts of high-risk episodes", "whole": "high_episodes",
     "parts": ("high_episodes_looked_after", "high_episodes_open_to_services", "high_episodes_not_known")},
    {"kind": "sum", "name": "consent of RHI episodes", "whole": "rhi_episodes_medium_low",
     "parts": ("consent_all_shared", "consent_none_shared", "consent_partial_or_override")},
    {"kind": "within", "name": "medium/low RHI episodes among all RHI episodes", "whole": "rhi_episodes_all",
     "parts": ("rhi_episodes_medium_low",)},
    {"kind": "within", "name": "medium/low RHI episodes among medium/low episodes", "whole": "medium_low_episodes",
     "parts": ("rhi_episodes_medium_low",)},
    {"kind": "within", "name": "RHI children among medium/low children", "whole": "medium_low_episodes.children",
     "parts": ("rhi_children",)},
    {"kind": "within", "name": "high-risk RHI children among high-risk children", "whole": "high_episodes.children",
     "parts": ("rhi_children_high",)},
    {"kind": "repeats", "name": "high-risk children missing more than once", "whole": "high_episodes",
     "parts": ("high_children_missing_more_than_once",)},
    {"kind": "repeats", "name": "repeat medium/low episodes", "whole": "medium_low_episodes",
     "parts": ("repeat_episodes",)},
)

NUMBER_WORDS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split())}
FRACTION_WORDS = {"all": Fraction(1), "none": Fraction(0), "half": Fraction(1, 2), "a half": Fraction(1, 2),
                  "a third": Fraction(1, 3), "one third": Fraction(1, 3), "two thirds": Fraction(2, 3),
                  "a quarter": Fraction(1, 4), "one quarter": Fraction(1, 4), "three quarters": Fraction(3, 4),
                  "a fifth": Fraction(1, 5), "one fifth": Fraction(1, 5), "a tenth": Fraction(1, 10),
                  "one tenth": Fraction(1, 10)}
# qualifier -> which side of the fraction the true share lies: "~" near it, "<" just below, ">" above, "<<" below.
QUALIFIERS = {"": "~", "about": "~", "around": "~", "roughly": "~", "approximately": "~", "some": "~",
              "nearly": "<", "almost": "<", "just under": "<", "just over": ">", "over": ">>", "more than": ">>",
              "fewer than": "<<", "less than": "<<", "under": "<<"}
WORDS_TOLERANCE = Fraction(1, 20)   # "one in four" is taken to mean 25% give or take 5 percentage points


class AuditInputError(ValueError):
    """The reference file cannot be read as a published-figures file."""


# --- arithmetic of printed percentages -----------------------------------------------------------

def rounds_to(k: int, n: int, pct: float, decimals: int, mode: str = "half_up") -> bool:
    """Whether 100 k / n, rounded to ``decimals`` (half up or half to even), prints as ``pct``."""
    scaled = Fraction(100 * k, n) * 10 ** decimals
    floor = math.floor(scaled)
    rest = scaled - floor
    if rest > Fraction(1, 2) or (rest == Fraction(1, 2) and (mode == "half_up" or floor % 2 == 1)):
        floor += 1
    return Fraction(floor, 10 ** decimals) == Fraction(str(pct))


def possible_counts(pct: float, n: int, decimals: int, mode: str = "half_up") -> list[int]:
    """Every whole count of n that prints as pct: those within half a printed unit of it, rounding as ``mode``."""
    half = Fraction(1, 2 * 10 ** decimals)
    low = math.floor((Fraction(str(pct)) - half) * n / 100)
    high = math.ceil((Fraction(str(pct)) + half) * n / 100)
    return [k for k in range(max(0, low), min(n, high) + 1) if rounds_to(k, n, pct, decimals, mode)]


def counts_text(counts) -> str:
    """'52', '79, 80' or '53 to 67' (counts that print as a percentage are always a run)."""
    counts = sorted(set(counts))
    if len(counts) <= 3:
        return ", ".join(map(str, counts))
    return f"{counts[0]} to {counts[-1]}"


def nearest_possible(pct: float, n: int, decimals: int) -> str:
    """The printable percentages next to an impossible one, e.g. '29% (2/7) or 43% (3/7)'."""
    exact = Fraction(str(pct)) * n / 100
    out = []
    for k in sorted({max(0, math.floor(exact)), min(n, math.ceil(exact))}):
        out.append(f"{float(round(Fraction(100 * k, n), decimals)):.{decimals}f}% ({k}/{n})")
    return " or ".join(out)


# --- words ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class WordsMeaning:
    """What words such as 'nearly one in four' allow: the fraction named and the range of true shares."""

    value: Fraction
    low: Fraction
    high: Fraction

    def __getitem__(self, i):       # meaning[0] is the fraction named
        return (self.value, self.low, self.high)[i]


def parse_words(words: str) -> WordsMeaning | None:
    """'one in four' -> 1/4, allowing 20% to 30%; 'nearly half' -> 45% to 50%; None if not understood.

    A fraction in words is taken to mean that fraction give or take 5
    percentage points (``WORDS_TOLERANCE``); 'nearly', 'almost', 'just under'
    allow only the 5 points below it, 'just over' only the 5 above, 'over',
    'more than' anything above, 'fewer than', 'less than', 'under' anything below.
    """
    text = " ".join(str(words).lower().replace("-", " ").split())
    for qualifier in sorted(QUALIFIERS, key=len, reverse=True):
        if qualifier and not text.startswith(qualifier + " "):
            continue
        value = _fraction_of(text[len(qualifier):].strip())
        if value is None:
            continue
        side, tol = QUALIFIERS[qualifier], WORDS_TOLERANCE
        low, high = {"~": (value - tol, value + tol), "<": (value - tol, value), ">": (value, value + tol),
                     ">>": (value, Fraction(1)), "<<": (Fraction(0), value)}[side]
        return WordsMeaning(value, max(Fraction(0), low), min(Fraction(1), high))
    return None


def _fraction_of(text: str) -> Fraction | None:
    text = re.sub(r"^(the )", "", text)
    if text in FRACTION_WORDS:
        return FRACTION_WORDS[text]
    match = re.fullmatch(r"(\w+) (?:in|out of) (\w+)", text)
    if not match:
        return None
    a, b = (NUMBER_WORDS.get(g, int(g) if g.isdigit() else None) for g in match.groups())
    return Fraction(a, b) if a is not None and b and a <= b else None


# --- checks of one figure ------------------------------------------------------------------------

def _row(fig, check, printed, possible, verdict, reason=""):
    return dict(zip(COLUMNS, (fig, check, printed, possible, verdict, reason)))


def _denominator(reference: dict, fig: dict) -> int | None:
    """The population's n, or its number of children for a figure about children of an episode population."""
    pop = reference.get("populations", {}).get(fig.get("population"), {})
    if fig.get("unit") == "children" and pop.get("unit") == "episodes" and "children" in pop:
        return int(pop["children"])
    return int(pop["n"]) if "n" in pop else None


def _grim(fid, pct, n, d) -> dict:
    up, even = possible_counts(pct, n, d, "half_up"), possible_counts(pct, n, d, "half_even")
    if not (up or even):
        return _row(fid, "GRIM", f"{pct}% of {n}", nearest_possible(pct, n, d), IMPOSSIBLE,
                    f"no whole count of {n} prints as {pct}%")
    how = "" if up else " only when rounding half to even"
    how = how or ("" if even else " only when rounding half up")
    return _row(fid, "GRIM", f"{pct}% of {n}", counts_text(up + even), CONSISTENT, f"possible{how}")


def _count_vs_pct(fid, pct, count, n, d) -> dict:
    ok = rounds_to(count, n, pct, d) or rounds_to(count, n, pct, d, "half_even")
    exact = Fraction(100 * count, n)
    reason = "" if ok else (f"{count}/{n} = {float(round(exact, d + 2))}%, which prints as "
                            f"{float(round(exact, d)):.{d}f}%")
    possible = counts_text(possible_counts(pct, n, d) + possible_counts(pct, n, d, "half_even")) or "none"
    return _row(fid, "count vs percentage", f"{count} and {pct}% of {n}", possible,
                CONSISTENT if ok else INCONSISTENT, reason)


def _words_vs_pct(fid, pct, words, d) -> dict:
    printed = f"'{words}' ({pct}%)"
    meaning = parse_words(words)
    if meaning is None:
        return _row(fid, "words vs number", printed, "", NOT_TESTABLE, "words not understood")
    slack = Fraction(1, 2 * 10 ** (d + 2))          # the printed percentage is itself rounded
    share = Fraction(str(pct)) / 100
    ok = meaning.low - slack <= share <= meaning.high + slack
    allowed = f"{float(meaning.low * 100):.1f}% to {float(meaning.high * 100):.1f}%"
    return _row(fid, "words vs number", printed, allowed, CONSISTENT if ok else INCONSISTENT,
                "" if ok else f"'{words}' allows {allowed}, not {pct}%")


def _figure_checks(reference: dict, fig: dict) -> list[dict]:
    fid, pct, count = fig["id"], fig.get("pct"), fig.get("count")
    n = _denominator(reference, fig)
    if pct is None:
        if count is not None and n is not None and not 0 <= int(count) <= n:
            return [_row(fid, "count within denominator", f"{count} of {n}", f"0 to {n}", IMPOSSIBLE,
                         "a count cannot exceed its denominator")]
        return []
    if n is None:
        return [_row(fid, "GRIM", f"{pct}%", "", NOT_TESTABLE,
                     f"denominator unknown: the size of {fig.get('population')} is not published")]
    d = printed_decimals(pct)
    rows = [_grim(fid, pct, n, d)]
    if count is not None:
        rows.append(_count_vs_pct(fid, pct, int(count), n, d))
    if fig.get("words"):
        rows.append(_words_vs_pct(fid, pct, str(fig["words"]), d))
    return rows


# --- relations between figures -------------------------------------------------------------------

def _range_of(reference: dict, figures: dict, name: str, decimals: int | None = None) -> tuple[int, int] | None:
    """Smallest and largest count a name may stand for: a population's size, a figure's printed count, else what
    its printed percentage allows (read at ``decimals`` if given, e.g. 4% read as 4.0%)."""
    pops = reference.get("populations", {})
    pop_name, _, field = name.partition(".")
    if pop_name in pops and (field or "n") in pops[pop_name]:
        value = int(pops[pop_name][field or "n"])
        return value, value
    fig = figures.get(name)
    if fig is None:
        return None
    if fig.get("count") is not None:
        return int(fig["count"]), int(fig["count"])
    n = _denominator(reference, fig)
    if n is None or fig.get("pct") is None:
        return None
    d = printed_decimals(fig["pct"]) if decimals is None else decimals
    counts = possible_counts(fig["pct"], n, d) + possible_counts(fig["pct"], n, d, "half_even")
    return (min(counts), max(counts)) if counts else None


def _holds(kind: str, whole: int, low: int, high: int) -> bool:
    return low <= whole if kind in ("within", "repeats") else low <= whole <= high


def _relation_check(reference: dict, figures: dict, rel: dict) -> dict | None:
    kind, parts = rel["kind"], rel["parts"]
    whole = _range_of(reference, figures, rel["whole"])
    ranges = [_range_of(reference, figures, p) for p in parts]
    if whole is None or whole[0] != whole[1] or any(r is None for r in ranges):
        return None                                 # a figure is missing or its size is not published
    whole = whole[0]
    printed_whole = f"{rel['whole']} [{whole}]"
    if kind == "repeats":
        pop = reference["populations"].get(rel["whole"], {})
        if "children" not in pop:
            return None
        whole = int(pop["n"]) - int(pop["children"])
        printed_whole = f"{pop['n']} episodes - {pop['children']} children = {whole}"
    low, high = sum(r[0] for r in ranges), sum(r[1] for r in ranges)
    printed = " + ".join(f"{p} [{a}]" if a == b else f"{p} [{a} to {b}]" for p, (a, b) in zip(parts, ranges))
    printed += {"sum": " = ", "overlap": " = ", "within": " within ", "repeats": " at most "}[kind] + printed_whole
    possible = f"{low}" if low == high else f"{low} to {high}"
    if _holds(kind, whole, low, high):
        verdict, reason = CONSISTENT, {"sum": f"a split adding up to {whole} exists",
                                       "overlap": f"a split adding up to {whole} exists",
                                       "within": "no larger than its whole",
                                       "repeats": f"no more than the {whole} episodes after each child's first"}[kind]
        reason += _precision_note(reference, figures, rel, whole)
    elif kind == "overlap" and low > whole:
        verdict, reason = OVERLAP, (f"parts exceed the whole ({whole}) by at least {low - whole}: possible only "
                                    f"if some are counted in more than one part")
    elif kind == "repeats":
        verdict, reason = BEYOND, (f"only {whole} episodes can be a child's second or later within this population, "
                                   f"so at most {whole} can be repeats within it, not {low}: possible only if "
                                   f"episodes outside the population are counted")
    else:
        verdict, reason = INCONSISTENT, (f"no counts the figures allow add up to {whole}" if kind != "within"
                                         else f"larger than its whole ({whole})")
    return _row(rel["name"], f"parts vs whole ({kind})", printed, possible, verdict, reason)


def _precision_note(reference: dict, figures: dict, rel: dict, whole: int) -> str:
    """Where parts were printed to different precisions, whether the relation also holds read at the finest one."""
    decimals = {printed_decimals(figures[p]["pct"]) for p in rel["parts"]
                if p in figures and figures[p].get("pct") is not None and figures[p].get("count") is None}
    if len(decimals) < 2 or rel["kind"] not in ("sum", "overlap"):
        return ""
    finest = max(decimals)
    ranges = [_range_of(reference, figures, p, finest) for p in rel["parts"]]
    if any(r is None for r in ranges):
        return ""
    low, high = sum(r[0] for r in ranges), sum(r[1] for r in ranges)
    if low <= whole <= high:
        return ""
    sums = f"{low}" if low == high else f"{low} to {high}"
    return (f"; but only at the printed precision: read to {finest} decimal(s) like the finest part, the parts "
            f"sum to {sums}, not {whole}")


def _population_checks(reference: dict) -> list[dict]:
    """Every population of episodes with a number of children: no more children than episodes."""
    rows = []
    for name, pop in reference.get("populations", {}).items():
        if pop.get("unit") == "episodes" and "children" in pop and "n" in pop:
            ok = int(pop["children"]) <= int(pop["n"])
            rows.append(_row(name, "children within episodes", f"{pop['children']} children, {pop['n']} episodes",
                             f"at most {pop['n']} children", CONSISTENT if ok else IMPOSSIBLE,
                             "" if ok else "every child has at least one episode"))
    return rows


# --- the audit -----------------------------------------------------------------------------------

def audit_reference(reference: dict) -> pd.DataFrame:
    """One row per check: figure (or relation), check, what was printed, what is possible, verdict, reason."""
    figures = {f["id"]: f for f in reference.get("figures", [])}
    rows = [row for fig in reference.get("figures", []) for row in _figure_checks(reference, fig)]
    rows += _population_checks(reference)
    rows += [row for rel in RELATIONS if (row := _relation_check(reference, figures, rel)) is not None]
    return pd.DataFrame(rows, columns=COLUMNS)


def inconsistent_figures(reference: dict) -> dict[str, str]:
    """Figure id -> reason, for every figure that fails a check of its own (GRIM, count vs %, words)."""
    table = audit_reference(reference)
    own = table["figure"].isin([f["id"] for f in reference.get("figures", [])])
    bad = table[table["verdict"].isin(FAILING) & own & ~table["check"].str.startswith("parts vs whole")]
    return {fid: "; ".join(f"{r.check}: {r.reason}" for r in group.itertuples())
            for fid, group in bad.groupby("figure", sort=False)}


def words_note(reference: dict) -> str:
    """What the words check could not see: percentages transcribed without the report's words."""
    figures = [f for f in reference.get("figures", []) if f.get("pct") is not None]
    without = sum(1 for f in figures if not f.get("words"))
    return (f"Words against numbers: {without} of {len(figures)} percentages have no 'words' field, so a "
            f"disagreement between the report's words and its numbers cannot be found by computation for them.")


def load_reference_file(path: Path) -> dict:
    """Read a published-figures YAML, or raise AuditInputError naming the file and what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise AuditInputError(f"{path}: " + ("a folder, not a YAML file" if path.is_dir() else "no such file"))
    try:  # bounded: at most 1 MiB, no aliases (a "billion laughs" file), at most 20 levels deep
        data = load_yaml(path, "published-figures YAML")
    except InputTooLarge as exc:
        raise AuditInputError(str(exc)) from None
    except OSError as exc:
        raise AuditInputError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("figures"), list):
        raise AuditInputError(f"{path}: expected a mapping with a 'figures' list (and 'populations')")
    if not isinstance(data.get("populations", {}), dict):
        raise AuditInputError(f"{path}: 'populations' must be a mapping of name to {{unit, n}}")
    for i, fig in enumerate(data["figures"], start=1):
        if not isinstance(fig, dict) or "id" not in fig:
            raise AuditInputError(f"{path}: figure {i} has no 'id'")
        for key in ("pct", "count"):
            if fig.get(key) is not None and (isinstance(fig[key], bool) or not isinstance(fig[key], (int, float))):
                raise AuditInputError(f"{path}: figure {fig['id']}: {key} must be a number, got {fig[key]!r}")
    return data


def audit_command(yaml_path: Path, as_json: bool = False) -> None:
    """Print the audit of a published-figures file as a table (or JSON); a bad file is one line on stderr."""
    import typer

    try:
        reference = load_reference_file(yaml_path)
    except AuditInputError as exc:
        typer.echo(f"rhi audit-figures: {exc}", err=True)
        raise typer.Exit(1) from None
    table = audit_reference(reference)
    note = words_note(reference)
    counts = table["verdict"].value_counts()
    summary = "; ".join(f"{v}: {int(counts[v])}" for v in counts.index) + f" ({len(table)} checks)"
    if as_json:
        typer.echo(json.dumps({"checks": table.to_dict(orient="records"), "summary": counts.to_dict(),
                               "notes": [note]}, indent=2))
        return
    with pd.option_context("display.max_colwidth", 90, "display.width", 250, "display.max_rows", 1000):
        failing = table[table["verdict"] != CONSISTENT]
        typer.echo(f"Checks that do not simply pass ({len(failing)}):\n")
        typer.echo(failing.to_string(index=False) if len(failing) else "(none)")
        typer.echo(f"\nAll checks ({len(table)}):\n")
        typer.echo(table.to_string(index=False))
    typer.echo(f"\n{summary}\n{note}")
