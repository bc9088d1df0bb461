"""Speed of `rhi audit-disclosure` on publications the size of real runs; appends to results_attack.md.

    python benchmarks/bench_attack.py [--las 3,25] [--seed 7] [--keep DIR]

A publication is generated from simulated children, so that every relation
holds for the true counts: per authority, children with one police grade, an
age band, one or two cohorts (the cohorts overlap) and ten yes/no disclosures.
Cells: RHI children and each disclosure by grade x cohort x age band, each with
its Total level (4 x 4 x 5 = 80 cells a measure), three "not disclosed"
measures, and an `all` scope that is the sum of the authorities. Relations:
grade and age band `sum`, cohort `overlap`, disclosure `le` RHI children,
disclosed + not disclosed = RHI children, all = sum of authorities. Percentages
(one decimal) of each disclosure among RHI children are published where both
counts are.

Suppression is deliberately naive (not the project's): counts 1-4 become `c`,
then, until nothing changes, a `sum` relation with exactly one `c` has its
smallest other non-zero member hidden too. So the attacker has thousands of
`c` cells to bound and finds some leaks (cells pinned across tables, which
this naive rule does not see).

`make_publication` is also used by tests/test_attack.py (true values must lie
within every bound the attacker reports).
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import platform
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

GRADES = ("high", "medium", "low")
COHORTS = ("looked_after", "open_to_services", "not_known")
AGES = ("10_or_under", "11_to_13", "14_to_15", "16_to_17")
DISCLOSURES = tuple(f"d{k:02d}" for k in range(10))
NOT_DISCLOSED = DISCLOSURES[:3]
HEADER = ["cell_id", "scope", "time_period", "time_identifier", "geographic_level", "new_la_code", "la_name",
          "unit", "measure", "police_grade", "cohort", "age_band", "value", "shown_in"]


def simulate(rng: np.random.Generator, n: int) -> dict:
    grade = rng.choice(3, size=n, p=[0.1, 0.6, 0.3])
    age = rng.choice(4, size=n, p=[0.1, 0.25, 0.35, 0.3])
    cohort = np.zeros((n, 3), dtype=bool)
    cohort[np.arange(n), rng.choice(3, size=n, p=[0.3, 0.45, 0.25])] = True
    cohort[rng.random(n) < 0.08, 1] = True                       # some children in two cohorts
    p = np.array([0.35, 0.12, 0.05])[grade]
    disclosed = rng.random((n, len(DISCLOSURES))) < p[:, None] * rng.uniform(0.3, 1.5, len(DISCLOSURES))
    return {"grade": grade, "age": age, "cohort": cohort, "disclosed": disclosed}


def counts(children: dict) -> dict:
    """True count of every cell key (measure, grade, cohort, age) of one authority."""
    out = {}
    for g, c, a in itertools.product(range(4), range(4), range(5)):
        mask = np.ones(len(children["grade"]), dtype=bool)
        if g < 3:
            mask &= children["grade"] == g
        if c < 3:
            mask &= children["cohort"][:, c]
        if a < 4:
            mask &= children["age"] == a
        key = (_level(GRADES, g), _level(COHORTS, c), _level(AGES, a))
        out[("rhi_children", *key)] = int(mask.sum())
        yes = children["disclosed"][mask].sum(axis=0)
        for k, d in enumerate(DISCLOSURES):
            out[(d, *key)] = int(yes[k])
            if d in NOT_DISCLOSED:
                out[(f"not_{d}", *key)] = int(mask.sum() - yes[k])
    return out


def _level(levels, i):
    return levels[i] if i < len(levels) else "Total"


def make_publication(folder: Path, las: int, seed: int = 7, min_cell: int = 5,
                     children: tuple[int, int] = (200, 2000)) -> dict[str, int]:
    """Write cells.csv, relations.csv, statistics.csv, publication.json; return the true value of every cell.
    ``children``: the range of RHI children per authority (larger authorities have fewer small counts)."""
    rng = np.random.default_rng(seed)
    scopes = {f"E0800{k:04d}": counts(simulate(rng, int(rng.integers(*children)))) for k in range(las)}
    total = {}
    for values in scopes.values():
        for key, v in values.items():
            total[key] = total.get(key, 0) + v
    scopes["all"] = total
    ids, truth = {}, {}
    for scope, values in scopes.items():
        for key in values:
            cid = f"k{len(ids):06d}"
            ids[(scope, *key)] = cid
            truth[cid] = values[key]
    relations = []     # (kind, total id, [part ids])
    for scope, values in scopes.items():
        for measure, g, c, a in values:
            key = (scope, measure, g, c, a)
            if g == "Total":
                relations.append(("sum", ids[key], [ids[(scope, measure, x, c, a)] for x in GRADES]))
            if c == "Total":
                relations.append(("overlap", ids[key], [ids[(scope, measure, g, x, a)] for x in COHORTS]))
            if a == "Total":
                relations.append(("sum", ids[key], [ids[(scope, measure, g, c, x)] for x in AGES]))
            if measure in DISCLOSURES:
                relations.append(("le", ids[(scope, "rhi_children", g, c, a)], [ids[key]]))
            if measure in NOT_DISCLOSED:
                relations.append(("sum", ids[(scope, "rhi_children", g, c, a)],
                                  [ids[key], ids[(scope, f"not_{measure}", g, c, a)]]))
            if scope == "all":
                relations.append(("sum", ids[key], [ids[(la, measure, g, c, a)] for la in scopes if la != "all"]))
    hidden = {cid for cid, v in truth.items() if 1 <= v < min_cell}
    changed = True
    while changed:
        changed = False
        for kind, t, parts in relations:
            if kind != "sum":
                continue
            members = [t, *parts]
            if sum(m in hidden for m in members) == 1:
                candidates = [m for m in parts if m not in hidden and truth[m] > 0] or \
                             [m for m in members if m not in hidden and truth[m] > 0]
                if candidates:
                    hidden.add(min(candidates, key=truth.get))
                    changed = True
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "cells.csv").open("w", newline="") as handle:
        w = csv.writer(handle)
        w.writerow(HEADER)
        for (scope, measure, g, c, a), cid in ids.items():
            la = "" if scope == "all" else scope
            level = "National" if scope == "all" else "Local authority"
            w.writerow([cid, scope, "2023", "Financial year", level, la, "", "children", measure, g, c, a,
                        "c" if cid in hidden else truth[cid], f"{scope}/report.html#{measure};{scope}/tables/t.csv"])
    with (folder / "relations.csv").open("w", newline="") as handle:
        w = csv.writer(handle)
        w.writerow(["relation_id", "kind", "cell_id", "role"])
        for n, (kind, t, parts) in enumerate(relations):
            w.writerow([f"r{n}", kind, t, "total"])
            w.writerows([f"r{n}", kind, p, "part"] for p in parts)
    with (folder / "statistics.csv").open("w", newline="") as handle:
        w = csv.writer(handle)
        w.writerow(["stat_id", "scope", "statistic", "value", "decimals", "numerator", "denominator", "based_on",
                    "reason", "shown_in"])
        for n, ((scope, measure, g, c, a), cid) in enumerate(ids.items()):
            if measure in DISCLOSURES:
                den = ids[(scope, "rhi_children", g, c, a)]
                ok = cid not in hidden and den not in hidden and truth[den] > 0
                value = f"{100 * truth[cid] / truth[den]:.1f}" if ok else "c"
                w.writerow([f"s{n}", scope, "percent", value, 1, cid, den, "", "" if ok else "suppressed count",
                            f"{scope}/report.html#{measure}"])
    (folder / "publication.json").write_text(json.dumps({"min_cell": min_cell, "suppressed": True,
                                                         "zeros_shown": True, "tool": "bench_attack"}))
    return truth


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--las", default="3,25", help="authorities per publication, comma separated")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="write the publications here and keep them")
    parser.add_argument("--children", default="200,2000", help="RHI children per authority: low,high")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from analysis.attack import audit_publication

    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        base = args.keep or Path(tmp)
        for las in (int(x) for x in args.las.split(",")):
            folder = base / f"las{las}"
            low, high = (int(x) for x in args.children.split(","))
            truth = make_publication(folder, las, args.seed, children=(low, high))
            result = audit_publication(folder)
            outside = [c for c, b in result.bounds.items() if b["exact"] and not
                       (b["lower"] <= truth[c] and (b["upper"] is None or truth[c] <= b["upper"]))]
            line = (f"| {las} + all | {args.children.replace(',', '-')} | {result.cells:,} | {result.suppressed:,} | {result.components:,} "
                    f"(largest {result.largest_component}) | {result.lp_solves:,} / {result.milp_solves:,} | "
                    f"{len(result.leaks)} / {len(result.warnings)} | {result.seconds:.1f} s |")
            print(line, "true values outside exact bounds:", len(outside), flush=True)
            lines.append(line)
    out = Path(__file__).with_name("results_attack.md")
    head = "" if out.exists() else (
        "# rhi audit-disclosure: speed\n\nWritten by `python benchmarks/bench_attack.py` (see its docstring for the "
        "generated publications and their deliberately naive suppression).\n")
    stamp = f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.processor() or platform.machine()}, " \
            f"Python {platform.python_version()}, seed {args.seed}"
    table = ["", f"## {stamp}", "", "| authorities | children each | cells | c | components | LP / MILP solves "
             "| leaks / warnings | time |", "|---|---|---|---|---|---|---|---|", *lines, ""]
    with out.open("a") as handle:
        handle.write(head + "\n".join(table))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
