"""Checks of the analysis options shared by the commands (``--la``, the period, ``--risk-levels``, ``--min-cell``).

Every option is checked before any work is done, and a bad one raises
:class:`OptionError` with a message naming the option, the value given and
what is accepted; the command line prints it and exits 2. A local authority
code is matched ignoring case and surrounding spaces (``e08999901`` is
``E08999901``), and only against the codes that the dataset holds, so that a
code with no episodes never gives a report full of zeros.
"""

from __future__ import annotations

from datetime import date

from analysis import vocab


class OptionError(ValueError):
    """A bad option value; the message is shown to the user as is."""


def parse_day(option: str, text: str | None) -> date | None:
    """A date option as YYYY-MM-DD; None when not given."""
    if text is None or str(text).strip() == "":
        return None
    try:
        return date.fromisoformat(str(text).strip())
    except ValueError:
        raise OptionError(f"{option} {text!r}: expected a date as YYYY-MM-DD, e.g. 2017-07-01") from None


def parse_period(start: str | None, end: str | None) -> tuple[date | None, date | None]:
    """First and last day of the period (inclusive); the end may not be before the start."""
    first, last = parse_day("--period-start", start), parse_day("--period-end", end)
    if first and last and last < first:
        raise OptionError(f"--period-end {last} is before --period-start {first}: the period would be empty")
    return first, last


def parse_risk_levels(text: str | None) -> tuple[str, ...]:
    """Police risk levels in scope, comma separated, any case (``Medium, low``); at least one."""
    accepted = {key.replace(" ", "_"): value for key, value in vocab.POLICE_RISK.items()}
    levels = []
    for part in str(text or "").split(","):
        key = part.strip().lower().replace(" ", "_").replace("-", "_")
        if not key:
            continue
        if key not in accepted:
            raise OptionError(f"--risk-levels {part.strip()!r}: expected police risk levels among "
                              f"{', '.join(vocab.RISK_ORDER)}, comma separated")
        if accepted[key] not in levels:
            levels.append(accepted[key])
    if not levels:
        raise OptionError(f"--risk-levels: give at least one of {', '.join(vocab.RISK_ORDER)}")
    return tuple(levels)


def check_min_cell(value: int) -> int:
    """The smallest count shown: 1 or more (1 shows every count)."""
    if int(value) < 1:
        raise OptionError(f"--min-cell {value}: expected a whole number of at least 1 "
                          "(counts from 1 to min_cell - 1 are suppressed; 5 is the default)")
    return int(value)


def match_la(code: str, present, where: str = "this dataset") -> str:
    """The dataset's own spelling of a local authority code given in any case; an error if it has none."""
    return match_las([code], present, where)[0]


def match_las(codes, present, where: str = "this dataset") -> list[str]:
    """Each code matched ignoring case and spaces, in order, once; every unknown code named together."""
    known = {str(c).strip().upper(): str(c) for c in present}
    out = [known[str(c).strip().upper()] for c in codes if str(c).strip().upper() in known]
    unknown = [str(c) for c in codes if str(c).strip().upper() not in known]
    if unknown:
        listed = sorted(known.values())
        shown = ", ".join(listed[:12]) + (f" and {len(listed) - 12} more" if len(listed) > 12 else "")
        raise OptionError(f"--la {', '.join(unknown)}: no episodes of that local authority in {where} "
                          f"(it has {shown or 'no local authorities'})")
    return list(dict.fromkeys(out))
