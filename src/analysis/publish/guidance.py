"""The data guidance that goes beside the open-data file, as a statistics release ships one.

``data-guidance.txt`` says what ``rhi_publication.csv`` holds, what each
geographic level and time period means in this run, the method and the symbols,
the disclosure control, the coverage with its caveats, and the footnotes (part
years). Every statement about the run is read from the run itself (the open-data
file, the publication's settings), never typed in.
"""

from __future__ import annotations

from analysis.publish.tidy import OpenData

SYMBOLS = (
    ("c", "confidential: suppressed to protect children's identities (a small count, or a number that would "
          "reveal one)"),
    ("x", "not available: the dataset's source does not hold the field, the percentage is not printed in the "
          "reports, or a year's value was computed only for the whole period"),
    ("z", "not applicable: a population's percentage of itself, a measure with no complement, or the whole "
          "period's value in a year before the last"),
)


def data_guidance(od: OpenData, pub, coverage, synthetic: bool = False) -> str:
    """The text of ``data-guidance.txt`` for one run."""
    control = pub.control
    levels = sorted(set(od.data["geographic_level"])) if len(od.data) else []
    authorities = sorted(set(coverage.authorities))
    lines = ["Data guidance: return home interviews linked to police risk gradings (rhi-analysis)", ""]
    if synthetic:
        lines += ["SYNTHETIC DATA. These files were made from invented records (rhi synth) for testing and "
                  "demonstration. No real child is described and no figure is evidence about any authority.", ""]
    lines += [
        "1. What the files hold",
        "rhi_publication.csv holds every count the run's reports publish, in the Department for Education's "
        "open-data format for statistics releases, with rhi_publication.meta.csv describing its columns. "
        "Each row is one population (what is counted) for one time period and one area, broken down by the "
        "filters the reports use; Total in a filter means not broken down by it.",
        "Indicators: count is the number with the measure (for the measure Total, the population's size); "
        "count_without is the complement the reports publish beside the count (for a measure, the rest of the "
        "population; for a population's Total, or a level of it, the rest of the larger group it is a share of); percent is the percentage of the population with the measure "
        "and percent_ci_lower and percent_ci_upper its 95% Wilson score interval, exactly as the reports print "
        "them (one decimal place).",
        "Filters: population and measure hold labels; population_code and measure_code hold the machine names "
        "used in cells.csv, statistics.csv and the reports' JSON, to join on. Breakdown levels add up to their "
        "Total where each member has one level (an episode has one police grade); children can count in several "
        "levels (a child with episodes of two grades counts in both), which each filter's hint says. Subtotals "
        "are in their own filter (police_grade_group, cohort_group, age_band_broad) so that no filter mixes a "
        "subtotal with its parts.",
        "cells.csv, relations.csv and statistics.csv in the same folder hold the same counts with the relations "
        "between them and every derived statistic the reports print; the disclosure audit reads them.",
        "",
        "2. Time periods",
    ]
    if od.span_suffix:
        lines.append(f"Each reporting year (1 April to 31 March) is its own time_period: {', '.join(od.time_periods)}."
                     f" Figures computed over the whole period are in the indicators ending {od.span_suffix} "
                     "at the last time_period, as DfE's standards ask for figures that span several years; "
                     "a year's own indicators are x there where the run computed the figure only for the whole "
                     "period.")
    else:
        lines.append(f"time_period {', '.join(od.time_periods) or '(none)'}: the reporting year (financial year, "
                     "1 April to 31 March) the records fall in.")
    if od.footnotes:
        lines += ["Part years:"] + [f"- {note}" for note in od.footnotes]
    else:
        lines.append("No time period is a part year by the records (see the method of rhi trends).")
    lines += ["", "3. Geography"]
    lines.append("All areas are in England (country_code E92000001). Local authority rows are one authority "
                 "each, with its DfE codes (new_la_code, old_la_code), name and region from DfE's published "
                 "lists; a code DfE does not publish (such as the synthetic authorities) is written as x with "
                 "la_name naming the dataset's code.")
    if od.all_level == "National":
        lines.append("National rows are England: " + od.all_reason + ".")
    elif od.all_level == "Regional":
        lines.append("Regional rows are the region: " + od.all_reason + ".")
    else:
        lines.append("The total over the dataset's authorities is not in this file: " + od.all_reason
                     + ". It is in cells.csv (scope all) and in the all-authorities report.")
    lines.append(f"Authorities in the dataset: {len(authorities)} ({', '.join(authorities)}). "
                 f"Geographic levels in this file: {', '.join(levels) or 'none'}.")
    lines += [
        "", "4. Method",
        "The counts follow the definitions of 'A Safer Return' (Missing People, 2019) as the project documents "
        "them (docs/definitions.md): episodes in scope are those graded medium or low by the police; RHI "
        "children are children with a completed return home interview addressing such an episode; "
        "disclosures are the indicators recorded at those interviews. Percentages have their count and "
        "denominator in the same row (count and count + count_without); intervals are Wilson score intervals.",
        "", "5. Symbols",
    ] + [f"{symbol}: {meaning}." for symbol, meaning in SYMBOLS]
    lines += ["", "6. Disclosure control", control.statement]
    if control.suppress:
        summary = pub.summary()
        lines.append(f"Counts from 1 to {control.min_cell - 1} are suppressed (primary: {summary['primary']} cells) "
                     f"and further cells so that none can be worked out from everything the run publishes, "
                     f"including each authority against the total and the relations between tables "
                     f"(secondary: {summary['secondary']} cells). A suppressed count is not necessarily small. "
                     "An independent audit (rhi audit-disclosure) checks the whole publication.")
    lines += ["", "7. Caveats",
              "Authorities record missing episodes and return home interviews differently; compare them with care.",
              "Rows are not a sample: they are every record of the dataset that the definitions select."]
    return "\n".join(lines) + "\n"
