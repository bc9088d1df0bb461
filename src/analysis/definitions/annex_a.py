"""What Ofsted's Annex A (List 8, children looked after) can answer, and what it cannot.

List 8 gives, per child looked after in the 12 months before the inspection,
the number of missing and of absent episodes, and whether a return interview
was offered and accepted after the last missing episode. From it this module
computes, per child (never per episode: List 8 has no episodes):

- how many missing and absent episodes children had (a distribution) and how
  many children went missing more than once;
- the share of children who went missing who were offered an interview after
  their last episode, and of those offered the share who accepted, by legal
  status, placement type, placement in or out of the authority, age band,
  sex and UASC;
- the authority's share of looked-after children who went missing, beside the
  figure the DfE published for the same authority and year.

Every count is a cell of one :class:`~analysis.publish.publication.Publication`
with the sums that tie the cells together declared, so the run's linked
suppression hides small counts and whatever would reveal them, and the
independent audit checks the result. What List 8 cannot answer (police risk
grading, what children disclosed, how soon interviews happened) is stated in
words by :data:`CANNOT_ANSWER`; it is never shown as a zero.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.disclosure import Disclosure
from analysis.errors import DatasetError, Problems

TABLE = "annex_a_children"
FILE = f"{TABLE}.csv"
COLUMNS = ("child_id", "la_code", "period_start", "period_end", "age", "age_band", "sex", "uasc",
           "legal_status", "legal_status_group", "placement_type", "placement_group", "placement_provider",
           "placement_location", "missing_episodes", "absent_episodes", "rhi_offered", "rhi_accepted")
BANDS = (("0", 0, 0), ("1", 1, 1), ("2-4", 2, 4), ("5-9", 5, 9), ("10 or more", 10, None))
NOT_RECORDED = "not recorded"
BREAKDOWNS = {  # column -> label in the report
    "legal_status_group": "legal status", "placement_group": "placement type",
    "placement_location": "placed in or out of the authority", "age_band": "age band", "sex": "sex",
    "uasc": "unaccompanied asylum-seeking child",
}
LEVEL_NAMES = {"placement_location": {"in": "in the authority", "out": "out of the authority"},
               "uasc": {"true": "UASC", "false": "not UASC"}}
CANNOT_ANSWER = (
    "Police risk grading: Annex A does not record how the police graded each missing episode, so nothing "
    "here can be limited to medium- or low-risk episodes as 'A Safer Return' was.",
    "Disclosures: Annex A does not record what children said at their interviews (exploitation, push "
    "factors, mental health), so none of the study's disclosure figures can be computed.",
    "Timeliness: Annex A has no episode, offer or interview dates, so whether interviews were offered or "
    "held within 72 hours cannot be measured.",
    "Episodes: List 8 counts episodes per child; an interview is recorded only after the last missing "
    "episode, so the share of episodes followed by an interview cannot be computed.",
    "Children not looked after: List 8 covers children in care only; children missing from home are not in it.",
)
SCOPE = "all"


# --- reading -------------------------------------------------------------------------------------


def has_annex_a(path) -> bool:
    """Whether a dataset folder holds the optional Annex A table."""
    path = Path(path)
    return path.is_dir() and any(p.name.lower() == FILE for p in path.iterdir())


def load_annex_a(path) -> pd.DataFrame:
    """The Annex A table of a dataset folder, checked; DatasetError naming file, row and column if not valid."""
    path = Path(path)
    from analysis.importers.common import read_csv  # bounded and located (analysis.limits)

    file = next(p for p in path.iterdir() if p.name.lower() == FILE)
    problems = Problems()
    table = read_csv(file, TABLE, problems)
    if table is None:
        raise DatasetError(problems.items, str(path))
    frame = table.frame
    missing = [c for c in COLUMNS if c not in frame.columns]
    for c in missing:
        problems.add(TABLE, file.name, 1, c, None, "a column of the Annex A table (docs/data-contract.md)")
    if problems:
        raise DatasetError(problems.items, str(path))
    checks = {
        "sex": {"female", "male", "other", "unknown"}, "uasc": {"true", "false", ""},
        "rhi_offered": {"true", "false", ""}, "rhi_accepted": {"true", "false", ""},
        "placement_location": {"in", "out", ""},
    }
    for column, allowed in checks.items():
        for i in frame.index[~frame[column].isin(allowed)]:
            problems.add(TABLE, file.name, int(i) + 2, column, frame.at[i, column],
                         "one of " + ", ".join(repr(a) for a in sorted(allowed)))
    for column in ("missing_episodes", "absent_episodes"):
        bad = frame.index[(frame[column] != "") & ~frame[column].str.fullmatch(r"\d+")]
        for i in bad:
            problems.add(TABLE, file.name, int(i) + 2, column, frame.at[i, column], "a whole number or blank")
    for i in frame.index[frame["child_id"].duplicated() | (frame["child_id"] == "")]:
        problems.add(TABLE, file.name, int(i) + 2, "child_id", frame.at[i, "child_id"], "a unique child id")
    if problems:
        raise DatasetError(problems.items, str(path))
    return frame


# --- the tables ----------------------------------------------------------------------------------


def _key(population: str, measure: str = "Total"):
    from analysis.publish.cells import key

    return key(SCOPE, "children", population, measure)


def _band(n: int) -> str:
    for name, low, high in BANDS:
        if n >= low and (high is None or n <= high):
            return name
    raise ValueError(n)


def _level(column: str, value: str) -> str:
    if value == "":
        return NOT_RECORDED
    return LEVEL_NAMES.get(column, {}).get(value, value)


def _pct(count, den):
    """A percentage to one decimal place (None without a denominator)."""
    return None if not den else round(100 * count / den, 1)


def register(pub, t: pd.DataFrame) -> None:
    """Register every Annex A table of the report as cells of ``pub`` with their sums."""
    store = pub.store
    n_all = len(t)
    all_k = _key("list8_children")
    store.add(all_k, n_all)

    # 1. Episodes per child: missing and absent.
    rows, counts, dens = [], [], []
    for kind in ("missing", "absent"):
        col = f"{kind}_episodes"
        recorded = t[t[col] != ""]
        rec_k = _key("list8_children", f"{kind} recorded")
        not_k = _key("list8_children", f"{kind} not recorded")
        store.add(rec_k, len(recorded))
        store.add(not_k, n_all - len(recorded))
        store.relate("sum", all_k, [rec_k, not_k])
        bands = recorded[col].astype(int).map(_band).value_counts()
        parts = []
        for name, _, _ in BANDS:
            k = _key("list8_children", f"{kind} episodes: {name}")
            n = int(bands.get(name, 0))
            store.add(k, n)
            parts.append(k)
            rows.append({"episodes": kind, "episodes_per_child": name, "children": n,
                         "denominator": len(recorded), "pct": _pct(n, len(recorded))})
            counts.append(k), dens.append(rec_k)
        store.relate("sum", rec_k, parts)
        rows.append({"episodes": kind, "episodes_per_child": NOT_RECORDED, "children": n_all - len(recorded),
                     "denominator": n_all, "pct": _pct(n_all - len(recorded), n_all)})
        counts.append(not_k), dens.append(all_k)
    frame = pd.DataFrame(rows)
    pub.add_table(SCOPE, "annex_a_episodes_per_child", frame, {"children": counts, "denominator": dens},
                  {"pct": [(c, d) for c, d in zip(counts, dens)]})

    # 2. Repeat missing: at least once (of those recorded), more than once (of those missing at least once).
    missing = t[(t["missing_episodes"] != "") & (t["missing_episodes"].replace("", "0").astype(int) > 0)]
    miss_k = _key("list8_children", "missing at least once")
    repeat_k = _key("list8_children", "missing more than once")
    rec_k = _key("list8_children", "missing recorded")
    n_miss = len(missing)
    n_repeat = int((missing["missing_episodes"].astype(int) > 1).sum())
    store.add(miss_k, n_miss)
    store.add(repeat_k, n_repeat)
    store.relate("sum", miss_k, [_key("list8_children", "missing episodes: 1"), repeat_k])
    store.relate("sum", repeat_k, [_key("list8_children", f"missing episodes: {b}") for b, _, _ in BANDS[2:]])
    store.relate("sum", rec_k, [_key("list8_children", "missing episodes: 0"), miss_k])
    repeat = pd.DataFrame([
        {"measure": "children missing at least once", "count": n_miss, "denominator": int((t["missing_episodes"] != "").sum()),
         "pct": None},
        {"measure": "children missing more than once", "count": n_repeat, "denominator": n_miss, "pct": None}])
    repeat["pct"] = [_pct(c, d) for c, d in zip(repeat["count"], repeat["denominator"])]
    pub.add_table(SCOPE, "annex_a_repeat_missing", repeat,
                  {"count": [miss_k, repeat_k], "denominator": [rec_k, miss_k]},
                  {"pct": [(miss_k, rec_k), (repeat_k, miss_k)]})

    # 3. Return interviews after the last missing episode, by each breakdown.
    rows, cells = [], {c: [] for c in ("children", "offered", "offer_recorded", "offer_not_recorded", "accepted",
                                        "accept_recorded", "accept_not_recorded")}
    _rhi_cells(store, missing, "all children", "all", None, rows, cells, total=True)
    for column, label in BREAKDOWNS.items():
        levels = missing[column].map(lambda v, c=column: _level(c, v))
        totals = {name: [] for name in cells}
        for level in sorted(set(levels)):
            part = missing[levels == level]
            keys = _rhi_cells(store, part, label, level, column, rows, cells)
            for name, k in keys.items():
                totals[name].append(k)
        for name, parts in totals.items():
            store.relate("sum", _rhi_key(name, None, None), parts)
    # All children (with the answers not recorded), then each breakdown's levels (shares only).
    for name, part, columns in (("annex_a_rhi", slice(0, 1), list(cells)),
                                ("annex_a_rhi_by", slice(1, None), ["offered", "offer_recorded", "accepted",
                                                                    "accept_recorded"])):
        frame = pd.DataFrame(rows[part])
        if name == "annex_a_rhi_by":
            frame = frame.drop(columns=["children_missing", "offer_not_recorded", "accept_not_recorded"])
        else:
            frame = frame.drop(columns=["breakdown", "level"])
        c = {k: v[part] for k, v in cells.items()}
        derived = {"offered_pct": [(o, d) for o, d in zip(c["offered"], c["offer_recorded"])],
                   "accepted_pct": [(a, d) for a, d in zip(c["accepted"], c["accept_recorded"])]}
        shown = {"children": "children_missing", "offered": "offered", "offer_recorded": "offer_recorded",
                 "offer_not_recorded": "offer_not_recorded", "accepted": "accepted",
                 "accept_recorded": "accept_recorded", "accept_not_recorded": "accept_not_recorded"}
        pub.add_table(SCOPE, name, frame, {shown[k]: c[k] for k in columns}, derived)
    store.relate("sum", _rhi_key("children", None, None), [miss_k])  # one population, two names


def _rhi_key(name: str, column, level):
    where = "" if column is None else f" | {column}={level}"
    return _key("list8_missing_children", f"{name}{where}")


def _rhi_cells(store, part: pd.DataFrame, label, level, column, rows, cells, total=False) -> dict:
    offered = part["rhi_offered"]
    offered_yes = part[offered == "true"]
    accepted = offered_yes["rhi_accepted"]
    values = {
        "children": len(part), "offered": int((offered == "true").sum()),
        "offer_recorded": int((offered != "").sum()), "offer_not_recorded": int((offered == "").sum()),
        "accepted": int((accepted == "true").sum()), "accept_recorded": int((accepted != "").sum()),
        "accept_not_recorded": int((accepted == "").sum()),
    }
    keys = {name: _rhi_key(name, column, level) for name in values}
    for name, k in keys.items():
        store.add(k, values[name])
    not_offered = _rhi_key("not offered", column, level)
    store.add(not_offered, values["offer_recorded"] - values["offered"])
    declined = _rhi_key("declined", column, level)
    store.add(declined, values["accept_recorded"] - values["accepted"])
    store.relate("sum", keys["offer_recorded"], [keys["offered"], not_offered])
    store.relate("sum", keys["children"], [keys["offer_recorded"], keys["offer_not_recorded"]])
    store.relate("sum", keys["offered"], [keys["accept_recorded"], keys["accept_not_recorded"]])
    store.relate("sum", keys["accept_recorded"], [keys["accepted"], declined])
    # A level's row shows its shares and their denominators; how many children it has and how many answers
    # are not recorded are shown for all children only. Those cells still count (the relations hold), but
    # a small 'not recorded' in one level then does not force its level's denominators to be hidden.
    shown_here = set(keys) if total else {"offered", "offer_recorded", "accepted", "accept_recorded"}
    rows.append({"breakdown": label, "level": level,
                 "children_missing": values["children"] if "children" in shown_here else None,
                 "offered": values["offered"], "offer_recorded": values["offer_recorded"],
                 "offered_pct": _pct(values["offered"], values["offer_recorded"]),
                 "offer_not_recorded": values["offer_not_recorded"] if total else None,
                 "accepted": values["accepted"], "accept_recorded": values["accept_recorded"],
                 "accepted_pct": _pct(values["accepted"], values["accept_recorded"]),
                 "accept_not_recorded": values["accept_not_recorded"] if total else None})
    for name, k in keys.items():
        cells[name].append(k if name in shown_here else None)
    return keys


def dfe_comparison(t: pd.DataFrame) -> dict:
    """The authority's share of looked-after children who went missing, and DfE's published share.

    The local count is children in List 8 with at least one missing episode,
    over children whose number of missing episodes is recorded. DfE's year is
    the April-March year holding the middle of List 8's 12 months. The two are
    not the same measure (DfE counts a year ending 31 March; List 8 the 12
    months before the inspection), which the report says beside them.
    """
    from analysis.reference.dfe import DfEDataError, load_dfe, missing_rates, years

    la_codes = sorted(set(t["la_code"]) - {""})
    end = pd.Timestamp(t["period_end"].iloc[0]) if len(t) else None
    out = {"la_code": la_codes[0] if len(la_codes) == 1 else None, "period_start": t["period_start"].iloc[0] if len(t) else None,
           "period_end": t["period_end"].iloc[0] if len(t) else None, "dfe": None, "why_not": None}
    if out["la_code"] is None:
        out["why_not"] = ("the import was given no --la-code, so the authority's DfE figure cannot be found"
                          if not la_codes else "the table holds more than one authority")
        return out
    middle = end - pd.DateOffset(months=6)
    year = middle.year + 1 if middle.month >= 4 else middle.year
    try:
        available = years(load_dfe())
        used = year if year in available else max(y for y in available if y <= year) if any(
            y <= year for y in available) else None
        if used is None:
            out["why_not"] = f"the DfE data shipped holds no year up to {year}"
            return out
        _, rates = missing_rates(used)
    except DfEDataError as err:
        out["why_not"] = str(err)
        return out
    row = rates[(rates["la_code"] == out["la_code"]) | (rates["la_code_latest"] == out["la_code"])]
    if row.empty:
        out["why_not"] = f"the DfE data for {used} has no row for {out['la_code']}"
        return out
    r = row.iloc[0]
    out["dfe"] = {"year": int(used), "wanted_year": int(year), "la_name": r["la_name"], "status": r["status"],
                  "count": None if pd.isna(r["count"]) else int(r["count"]),
                  "denominator": None if pd.isna(r["denominator"]) else int(r["denominator"])}
    return out


def register_dfe(pub, t: pd.DataFrame) -> dict:
    """The comparison table: the local share as cells, DfE's published figures beside it (already public)."""
    comp = dfe_comparison(t)
    rec_k = _key("list8_children", "missing recorded")
    miss_k = _key("list8_children", "missing at least once")
    n_rec = int((t["missing_episodes"] != "").sum())
    n_miss = int(((t["missing_episodes"] != "") & (t["missing_episodes"].replace("", "0").astype(int) > 0)).sum())
    d = comp["dfe"]
    dfe_pct = _pct(d["count"], d["denominator"]) if d and d["status"] == "published" else None
    frame = pd.DataFrame([{
        "source": f"Annex A, List 8 ({comp['period_start']} to {comp['period_end']})",
        "children_missing": n_miss, "children_looked_after": n_rec, "pct": _pct(n_miss, n_rec)},
        {"source": (f"DfE, year ending 31 March {d['year']}" if d else "DfE: not available"),
         "children_missing": d["count"] if d and d["status"] == "published" else None,
         "children_looked_after": d["denominator"] if d and d["status"] == "published" else None,
         "pct": dfe_pct}])
    pub.add_table(SCOPE, "annex_a_dfe_comparison", frame,
                  {"children_missing": [miss_k, None], "children_looked_after": [rec_k, None]},
                  {"pct": [(miss_k, rec_k), ()]})
    return comp


def build(t: pd.DataFrame, control: Disclosure):
    """The Annex A publication: every table registered, suppressed once."""
    from analysis.publish.publication import Publication

    period = (pd.Timestamp(t["period_start"].iloc[0]), pd.Timestamp(t["period_end"].iloc[0])) if len(t) else (None, None)
    pub = Publication(control, period)
    register(pub, t)
    comp = register_dfe(pub, t)
    pub.finish()
    return pub, comp


def tables(pub) -> dict:
    from analysis.publish.build import tables_of

    return tables_of(pub, SCOPE)


def figures(path, control: Disclosure) -> dict:
    """What ``rhi figures`` prints for an Annex A dataset: the published tables and the statement of limits."""
    t = load_annex_a(path)
    pub, comp = build(t, control)
    published = tables(pub)
    return {"source": "Ofsted Annex A, List 8", "period_start": comp["period_start"], "period_end": comp["period_end"],
            "disclosure_control": {"suppressed": control.suppress, "min_cell": control.min_cell,
                                   "statement": control.statement},
            "dfe_comparison_note": comp["why_not"] or dfe_note(comp),
            "tables": {name: frame.astype(object).where(frame.notna(), None).to_dict("records") for name, frame in published.items()},
            "cannot_answer": list(CANNOT_ANSWER)}


def dfe_note(comp: dict) -> str:
    d = comp["dfe"]
    text = (f"DfE's figure is for the year ending 31 March {d['year']} (children looked after during the year who "
            f"went missing); List 8 covers the 12 months to {comp['period_end']}, so the two overlap but differ.")
    if d["year"] != d["wanted_year"]:
        text += f" The DfE year matching these 12 months ({d['wanted_year']}) is not in the data shipped."
    if d["status"] != "published":
        text += f" DfE's figure for this authority: {d['status']}."
    return text


def publish_run(path, options: dict, staging: Path, folder_name: str) -> dict:
    """The batch's publication for an Annex A dataset: pickled tables for the notebook, open-data files."""
    import pickle

    from analysis.publish.files import time_period_of, write_publication

    t = load_annex_a(path)
    pub, _ = build(t, Disclosure(options["suppress"], options["min_cell"]))
    folder = staging / folder_name
    folder.mkdir(exist_ok=True)
    with open(folder / f"{SCOPE}.pkl", "wb") as handle:
        pickle.dump(tables(pub), handle)
    from analysis.publish.tidy import Coverage

    start = pd.Timestamp(t["period_start"].iloc[0]) if len(t) else None
    codes = sorted(set(t["la_code"]) - {""}) if len(t) else []
    write_publication(pub, staging / "publication", *time_period_of(start, None), coverage=Coverage(authorities=codes))
    return {"folder": "publication", **pub.summary()}


def _shown(value) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return f"{value:.1f}" if isinstance(value, float) else str(value)


def figures_command(path, control: Disclosure, as_json: bool = False) -> None:
    """The CLI's ``rhi figures`` on a dataset holding the Annex A table and no episodes."""
    import json

    import typer

    try:
        result = figures(path, control)
    except DatasetError as err:
        typer.echo(f"{path}: {len(err.problems)} problem(s) found; nothing was analysed.", err=True)
        for line in err.summary_lines(20):
            typer.echo(f"  - {line}", err=True)
        raise typer.Exit(1)
    if as_json:
        typer.echo(json.dumps(result, indent=2, default=str))
    else:
        print_figures(result, typer.echo)


def print_figures(result: dict, echo=print) -> None:
    """``rhi figures`` on an Annex A dataset, as text."""
    echo(result["disclosure_control"]["statement"])
    echo(f"Ofsted Annex A, List 8: children looked after, {result['period_start']} to {result['period_end']}")
    for name, rows in result["tables"].items():
        echo(f"\n{name}")
        if rows:
            columns = list(rows[0])
            echo("  " + " | ".join(columns))
            for r in rows:
                echo("  " + " | ".join(_shown(r[c]) for c in columns))
    echo(f"\nDfE comparison: {result['dfe_comparison_note']}")
    echo("\nWhat Annex A cannot answer (not zero: not recorded):")
    for line in result["cannot_answer"]:
        echo(f"  - {line}")


# --- the report (notebooks/05_annex_a.ipynb) -----------------------------------------------------


def setup(data_path=None, min_cell: int = 5, suppress: bool = True, output_dir=None, publication_dir=None,
          **_other_parameters):
    """The notebook's context: the dataset, the Annex A tables as published, and the DfE comparison.

    In a batch the tables come from the run's publication (suppressed once, audited); on its own the
    notebook suppresses its own tables the same way. Returns (ReportContext, comparison dict).
    """
    from analysis.dataset.metadata import is_synthetic
    from analysis.definitions.populations import Params
    from analysis.render.report import (NotebookDataError, ReportContext, published_tables, resolve_data_path,
                                        run_context, show_working_view_notice)
    from analysis.dataset.validate import load_dataset

    path = resolve_data_path(data_path)
    example = False
    try:
        ds = load_dataset(path)
        if has_annex_a(path):
            t = load_annex_a(path)
        elif publication_dir:
            raise NotebookDataError(f"{path} has no {FILE}: import an Annex A workbook with `rhi import annex-a`")
        else:   # the notebook opened on another dataset: an invented example, said so on the page
            t, example = example_table(), True
    except DatasetError as err:
        raise NotebookDataError(f"{path} is not a valid dataset; nothing was analysed:\n  "
                                + "\n  ".join(err.summary_lines(10))) from None
    control = Disclosure(bool(suppress), int(min_cell))
    if publication_dir:
        published = published_tables(publication_dir, SCOPE)
    else:
        published = tables(build(t, control)[0])
    out = Path(output_dir) if output_dir else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    run = run_context(publication_dir) if publication_dir else {}   # in a batch: what it tells every report
    if not publication_dir:
        show_working_view_notice()
    ctx = ReportContext(ds, Params(), control, out, path, synthetic=example or is_synthetic(path), tables=published,
                        scope=SCOPE, run=run)
    comparison = dfe_comparison(t)
    comparison["example"] = example
    if example:
        ctx.say(f"{path} holds no Annex A table, so the tables below are from an INVENTED example of "
                f"{len(t)} children, to show what the report contains. Import an Annex A workbook with "
                "`rhi import annex-a` to see your own.")
    return ctx, comparison


def example_table(seed: int = 2019, n: int = 900) -> pd.DataFrame:
    """An invented Annex A table in the contract's form (no real child), for the notebook opened on other data."""
    import numpy as np

    from analysis.importers.annex_a import LEGAL_STATUS_GROUP, PLACEMENT, age_band

    rng = np.random.default_rng(seed)
    legal = rng.choice(["C2", "C1", "V2", "E1", "J1"], size=n, p=[0.6, 0.1, 0.2, 0.06, 0.04])
    place = rng.choice(["U4", "U6", "U3", "K2", "H5", "A5", "P1"], size=n, p=[0.25, 0.3, 0.15, 0.12, 0.08, 0.05, 0.05])
    age = rng.integers(0, 18, size=n)
    went = rng.random(n) < np.where(age >= 13, 0.35, 0.05)
    missing = np.where(went, rng.geometric(0.35, size=n), 0)
    offered = np.where(~went, "", rng.choice(["true", "false", ""], size=n, p=[0.8, 0.12, 0.08]))
    accepted = np.where(offered != "true", "", rng.choice(["true", "false", ""], size=n, p=[0.5, 0.4, 0.1]))
    return pd.DataFrame({
        "child_id": [f"EXAMPLE{i:04d}" for i in range(n)], "la_code": "", "period_start": "2023-04-01",
        "period_end": "2024-03-31", "age": age.astype(str), "age_band": [age_band(a) for a in age],
        "sex": rng.choice(["female", "male"], size=n), "uasc": np.where(rng.random(n) < 0.06, "true", "false"),
        "legal_status": legal, "legal_status_group": [LEGAL_STATUS_GROUP[c] for c in legal], "placement_type": place,
        "placement_group": [PLACEMENT[c] for c in place], "placement_provider": rng.choice(["PR1", "PR4", "PR5"], size=n),
        "placement_location": rng.choice(["in", "out"], size=n, p=[0.6, 0.4]),
        "missing_episodes": missing.astype(str), "absent_episodes": rng.poisson(0.4, size=n).astype(str),
        "rhi_offered": offered, "rhi_accepted": accepted,
    })


def headlines(ctx) -> list[str]:
    """Sentences for the report's headline box, from the published tables only ('c' said as "not shown (c)")."""
    once, more = ctx.table("annex_a_repeat_missing").to_dict("records")
    (everyone,) = ctx.table("annex_a_rhi").to_dict("records")

    def share(count, den, pct):
        if "c" in (count, den, pct) or pct is None:
            return None
        return f"{count:,} of {den:,} ({pct:.1f}%)"

    lines = []
    s = share(once["count"], once["denominator"], once["pct"])
    lines.append(f"Children looked after who went missing at least once in the 12 months (Annex A, List 8): {s}."
                 if s else "Children looked after who went missing: not shown (c), so that a small number cannot be worked out.")
    s = share(everyone["offered"], everyone["offer_recorded"], everyone["offered_pct"])
    lines.append(f"Offered a return interview after their last missing episode: {s} of the children whose answer "
                 "is recorded." if s else "Offered a return interview after their last missing episode: not shown (c).")
    s = share(everyone["accepted"], everyone["accept_recorded"], everyone["accepted_pct"])
    lines.append(f"Accepted it: {s} of those offered with an answer recorded." if s
                 else "Accepted the interview: not shown (c).")
    lines.append("Annex A cannot say how the police graded episodes, what children disclosed or how soon interviews "
                 "happened: those figures are not shown.")
    return lines


def validate_note(path) -> str | None:
    """For ``rhi validate``: check the Annex A table if the dataset has one (exit 1 naming every problem)."""
    if not has_annex_a(path):
        return None
    import typer

    try:
        t = load_annex_a(path)
    except DatasetError as err:
        typer.echo(f"{path}: {len(err.problems)} problem(s) found; nothing was analysed.", err=True)
        for line in err.summary_lines(20):
            typer.echo(f"  - {line}", err=True)
        raise typer.Exit(1)
    return (f"Note: {FILE} (Ofsted Annex A, List 8) is valid: {len(t)} children looked after, "
            f"{t['period_start'].iloc[0] if len(t) else '-'} to {t['period_end'].iloc[0] if len(t) else '-'}; "
            "`rhi figures` and `rhi batch` report on it.")
