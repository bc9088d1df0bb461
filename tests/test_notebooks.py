"""What the notebooks show (issue 15): charts a reader can read, tables a reader can use, headlines from the
published numbers, and charts inline in a plain Jupyter kernel (JupyterLab) as well as in the batch."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from analysis.run import batch

from analysis.reference import dfe

from analysis.render import narrative, plots, report

ROOT = Path(__file__).resolve().parents[1]
C = "c"


def _prev(high=("8", "15"), medium=("63", "212"), low=(C, C), outcome="serious_harm_any"):
    """A child-level prevalence table as published: count and denominator per grade, 'c' where suppressed."""
    rows = []
    for level, (k, n) in (("high", high), ("medium", medium), ("low", low)):
        if C in (k, n):
            rows.append({"unit": "children", "cohort": "all", "police_risk": level, "outcome": outcome,
                         "count": k, "denominator": n, "pct": C, "ci_low": C, "ci_high": C})
        else:
            k, n = int(k), int(n)
            rows.append({"unit": "children", "cohort": "all", "police_risk": level, "outcome": outcome,
                         "count": k, "denominator": n, "pct": round(100 * k / n, 1), "ci_low": 1.0, "ci_high": 99.0})
    return pd.DataFrame(rows)


def _hidden(count=43, den=146):
    return pd.DataFrame([{"figure": "children graded medium or low on every episode who disclosed serious harm",
                          "count": count, "denominator": den, "pct": C if C in (count, den) else round(100 * count / den, 1),
                          "ci_low": 22.7, "ci_high": 37.3}])


# --- headlines -------------------------------------------------------------------------------------

def test_police_grade_headline_names_its_population_and_uses_only_published_numbers():
    text = narrative.police_grade_headline(_prev(), _hidden(), None, "1 July 2017 to 31 March 2018")
    assert text.startswith("All local authorities, 1 July 2017 to 31 March 2018: among children with a completed "
                           "return home interview (RHI)")
    assert "29.5% (43 of 146)" in text and "29.7% (63 of 212)" in text and "53.3% (8 of 15)" in text
    assert "The figure for children with a low-risk RHI is not shown (c)." in text and "small" not in text
    numbers = set(re.findall(r"\d+(?:\.\d+)?", text))
    assert numbers <= {"43", "146", "29.5", "63", "212", "29.7", "8", "15", "53.3", "1", "2017", "31", "2018"}


def test_police_grade_headline_says_when_high_cannot_be_compared():
    """An authority where the high grade is hidden: no comparison claimed, the pooled figure still stated."""
    text = narrative.police_grade_headline(_prev(high=(C, C), medium=(C, C)), _hidden(20, 66), "E10000016",
                                           "1 April 2017 to 31 March 2018")
    assert text.startswith("Kent (E10000016), 1 April 2017 to 31 March 2018") and "30.3% (20 of 66)" in text
    assert "high-risk RHI is not shown (c), so the grades are not compared" in text and "small" not in text
    nothing = narrative.police_grade_headline(_prev(high=(C, C), medium=(C, C)), _hidden(C, C), "E08999901", "x")
    assert "Local authority E08999901" in nothing and "not shown (c) for every grade" in nothing
    assert not re.search(r"\d+ of \d+", nothing)


def test_police_grade_headline_reads_the_coarse_grades_of_an_authority():
    """Where the run publishes high and medium-or-low only, the headline compares those two."""
    coarse = _prev().iloc[:1].copy()
    coarse = pd.concat([coarse, coarse.assign(police_risk="medium_or_low", count=71, denominator=227, pct=31.3)])
    text = narrative.police_grade_headline(coarse, None, "E10000016", "1 April 2017 to 31 March 2018")
    assert "31.3% (71 of 227) of the children with a medium- or low-risk RHI did" in text
    assert "against 53.3% (8 of 15) of the children with a high-risk RHI" in text


def test_an_authority_gets_the_study_as_context_not_a_verdict():
    from analysis.reference.compare import load_reference

    reference = load_reference()
    line = narrative.study_context(reference)
    assert "A Safer Return (Missing People, 2019)" in line and "not a standard to meet" in line
    assert "differs" not in line and "reproduced" not in line


def test_context_lines_cite_title_publisher_and_year_never_a_seed():
    from analysis.render import kpis_plots
    from analysis.reference.compare import load_reference

    context = kpis_plots.context_lines(load_reference())
    for key, item in context.items():
        assert "seed" not in item["source"].lower(), key
        assert re.search(r"\((?:\d{4})\)|\(\d{4}\)|\b(19|20)\d\d\b", item["source"]), key
    note = kpis_plots.context_note(context, ("offered", "declined"))
    assert "NPCC" in note and "Making Connections" in note and "2017" in note


def test_headline_blocks_are_ordered_by_rank(tmp_path):
    """The batch reads each notebook's headlines with its rank: police grade (1) before delivery (2) and context (3)."""
    import json

    blocks = []
    for rank, line in ((3, "context"), (1, "police grade"), (2, "delivery")):
        (tmp_path / "figures.json").write_text(json.dumps({"headlines": [line], "headline_rank": rank}))
        blocks.append(batch._headlines(tmp_path))
    assert [lines[0] for _, lines in sorted(blocks, key=lambda b: b[0])] == ["police grade", "delivery", "context"]
    assert "headline_rank" not in json.loads((tmp_path / "figures.json").read_text())


# --- charts ----------------------------------------------------------------------------------------

def test_grade_chart_draws_published_groups_and_the_pooled_group_only_as_published():
    rows = plots.grade_rows(_prev(), _hidden())
    assert list(rows["group"]) == ["high", "medium", "low", "medium or low"]
    assert list(rows["shown"]) == [True, True, False, True]
    fig = plots.grade_chart(rows)
    assert not isinstance(fig, plots.NotDrawn)
    texts = {t.get_text() for t in fig.axes[0].texts}
    assert "29.5% (43 of 146)" in texts and "not shown (c)" in texts
    assert fig.axes[0].get_legend() is None           # labelled directly: never an empty legend
    alt = plots.grade_alt(rows, "all local authorities")
    assert "53.3% (8 of 15)" in alt and "low-risk RHI not shown (c)" in alt and ".png" not in alt


def test_grade_chart_is_not_drawn_from_one_value_and_says_why():
    rows = plots.grade_rows(_prev(high=(C, C), medium=(C, C)), _hidden(20, 66))
    out = plots.grade_chart(rows)
    assert isinstance(out, plots.NotDrawn)
    assert "30.3% (20 of 66)" in out.reason and "not drawn" in out.reason


def test_chart_text_is_no_smaller_than_body_text():
    """At the saved 120 dpi in a column no wider than the image, 13 pt is about 21 pixels: above 16-pixel body text."""
    fig = plots.grade_chart(plots.grade_rows(_prev(), _hidden()))
    sizes = [t.get_fontsize() for ax in fig.axes for t in ax.texts + ax.get_xticklabels() + ax.get_yticklabels()
             + [ax.xaxis.label]]
    assert min(sizes) >= plots.FONT
    assert fig.get_size_inches()[0] <= 7      # readable when scaled to a phone's width


def test_decline_reasons_axis_matches_its_labels():
    from analysis.render import kpis_plots

    reasons = pd.DataFrame({"reason": ["child_declined", "other"], "count": [237, 16], "denominator": [436, 436],
                            "pct": [54.4, 3.7], "ci_low": [49.7, 2.3], "ci_high": [59.0, 5.9]})
    fig = kpis_plots.decline_reasons_chart(reasons)
    ax = fig.axes[0]
    assert "%" in ax.get_xlabel()
    labels = [t.get_text().strip() for t in ax.texts]
    assert labels == ["54.4% (237 of 436)", "3.7% (16 of 436)"]


# --- tables ----------------------------------------------------------------------------------------

def test_tables_are_captioned_formatted_and_complete():
    table = pd.DataFrame({"group": ["all"] * 30 + ["setting"], "count": [1921] * 30 + [C],
                          "denominator": [1921.0] * 30 + [float("nan")], "pct": [55.8123] * 30 + [C]})
    html = report.table_html(table, "Scorecard")
    assert "<caption>Scorecard" in html and html.count('<th scope="col"') == 4
    assert "1,921" in html and "55.8<" in html and "55.81" not in html
    assert "NaN" not in html and "nan" not in html and ">z<" in html and ">c<" in html
    assert html.count("<tr>") == 32 and "rows ×" not in html        # header + every row: no truncation
    assert html.startswith('<details class="long-table">')              # long: folded, in full
    assert '<th scope="row">all</th>' in html                          # the words of each row name it
    assert "suppressed" not in html and "small" not in html            # the symbols are explained once a page
    text = report.table_text(table, "Scorecard")
    assert text.splitlines()[0] == "Scorecard" and len(text.splitlines()) == 33
    assert report.format_cell("p_value", 0.00001) == "<0.001"
    assert "<td class=num>x</td>" in report.table_html(table.tail(1), "cap", missing={"denominator": "x"})   # not available


def test_dfe_year_follows_the_analysed_period():
    assert dfe.reporting_year("2018-03-31") == 2018 and dfe.reporting_year("2018-04-01") == 2019
    assert dfe.year_for_period(None, pd.Timestamp("2018-03-20"))[0] == 2018
    assert dfe.year_for_period(pd.Timestamp("2016-01-31"), pd.Timestamp("2018-03-20"))[0] == 2016
    year, why = dfe.year_for_period(None, pd.Timestamp("2001-01-01"))
    assert year == min(dfe.years(dfe.load_dfe())) and "nearest" in why
    assert dfe.year_for_period(None, None, requested=2020)[0] == 2020
    with pytest.raises(dfe.DfEDataError):
        dfe.year_for_period(None, None, requested=1990)


# --- JupyterLab ------------------------------------------------------------------------------------

def test_nothing_forces_the_agg_backend():
    offenders = [str(p.relative_to(ROOT)) for p in list((ROOT / "src").rglob("*.py")) + list((ROOT / "notebooks").glob("*.ipynb"))
                 if re.search(r"matplotlib\.use\(|mpl\.use\(", p.read_text())]
    assert not offenders
    code = ("import matplotlib; import analysis.render.plots, analysis.render.kpis_plots, analysis.render.report, analysis.definitions.linkage, "
            "analysis.stats.models, analysis.stats.funnel; print(matplotlib.get_backend())")
    env = {**os.environ, "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout
    assert out.strip() == "module://matplotlib_inline.backend_inline"


@pytest.mark.slow
def test_notebook_02_in_a_plain_kernel_shows_its_charts_inline(tmp_path):
    """As in JupyterLab: no output folder, the default dataset; the charts are displayed PNGs with alt and caption."""
    import nbformat
    from nbclient import NotebookClient

    data = ROOT / "data" / "processed" / "synthetic"
    if not (data / "episodes.csv").exists():   # a fresh clone: the same dataset `make data` writes (seed 2019)
        from analysis.synth.command import write_synthetic

        data = tmp_path / "synthetic"
        write_synthetic(data, seed=2019)
    nb = nbformat.read(ROOT / "notebooks" / "02_police_risk_and_disclosures.ipynb", as_version=4)
    env_before = os.environ.get("RHI_DATA")
    os.environ["RHI_DATA"] = str(data.resolve())
    try:
        NotebookClient(nb, timeout=900, kernel_name="python3",
                       resources={"metadata": {"path": str(ROOT / "notebooks")}}).execute()
    finally:
        if env_before is None:
            os.environ.pop("RHI_DATA", None)
        else:
            os.environ["RHI_DATA"] = env_before
    images = [o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert images
    for out in images:
        alt, caption = out["metadata"]["alt"], out["metadata"]["caption"]
        assert re.search(r"\d+\.\d% \(\d[\d,]* of \d[\d,]*\)", alt) and not alt.endswith(".png")
        assert "interval" in caption.lower()
    html = [o["data"]["text/html"] for c in nb.cells for o in c.get("outputs", []) if "text/html" in o.get("data", {})]
    assert any("<caption>" in h for h in html) and not any("NaN" in h for h in html)
    printed = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "stream"]
    assert not [o for o in printed if "Disclosure control applied" in o.get("text", "")]   # stated once, by the page
    # A notebook on its own says first that its numbers are a working view, not the protected publication
    first = next(o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "text/html" in first["data"] and report.WORKING_VIEW_TITLE in first["data"]["text/html"]
    assert "make report" in first["data"]["text/plain"] and "not the published report" in first["data"]["text/plain"]


def test_delivery_headline_names_its_population():
    from analysis.render import kpis_plots

    card = pd.DataFrame([{"group": "all", "value": "all", "measure": m, "count": k, "denominator": n, "pct": p}
                         for m, k, n, p in (("episodes", 1921, None, None), ("children missing", 700, None, None),
                                            ("episodes with an RHI offered", 1071, 1921, 55.8),
                                            ("episodes with an RHI completed", C, 1921, C),
                                            ("offered episodes declined", 459, 1071, 42.9))])
    timeliness = pd.DataFrame([{"within_72h_count": C, "within_72h_denominator": 329, "within_72h_pct": C,
                                "median_hours": 60.9}])
    lines = kpis_plots.headline_sentences(card, timeliness)
    assert lines[0].startswith("1,921 missing episodes of 700 children were notified (every police grade)")
    assert "offered for 1,071 of 1,921 (56%)" in lines[0] and "the number completed is not shown (c)" in lines[0]
    assert lines[1].startswith("How many completed RHIs took place within 72 hours") and "not shown (c)" in lines[1]
    assert not any("small" in line.split("so that")[0] or "too few" in line.lower() for line in lines)


def test_dfe_year_option_is_checked_before_anything_runs(tmp_path):
    from typer.testing import CliRunner

    from analysis.cli import app

    with pytest.raises(batch.BatchError, match="not in the DfE data"):
        batch.run_batch(tmp_path / "no-data", tmp_path / "out", dfe_year=1990, progress=False)
    assert not (tmp_path / "out").exists()
    assert "--dfe-year" in CliRunner().invoke(app, ["batch", "--help"]).output


def test_a_batch_report_has_no_working_view_notice_and_a_table_left_out_is_one_line(tmp_path, monkeypatch):
    """In a batch the notebook shows the run's tables (no notice); a table the run does not publish for this report
    is one line saying where it is shown, never a crash."""
    import pickle

    from IPython.core.interactiveshell import InteractiveShell

    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj, **kw: shown.append(obj))
    InteractiveShell.instance()
    folder = tmp_path / "published"
    folder.mkdir()
    (folder / "E10000016.pkl").write_bytes(pickle.dumps({"record_flow": pd.DataFrame({"stage": ["x"], "count": [7]})}))
    (folder / report.RUN_FILE).write_text('{"data_start": "2017-04-01", "data_end": "2018-03-31"}')
    data = tmp_path / "data"
    data.mkdir()
    ctx = report.setup(data_path=data, la_code="E10000016", publication_dir=folder)
    assert not shown and ctx.has_table("record_flow") and not ctx.has_table("hidden_risk")
    assert ctx.optional_table("hidden_risk") is None
    with pytest.raises(KeyError):
        ctx.table("hidden_risk")
    ctx.not_here("grades_by_episode_count")
    (line,) = [o["text/plain"] for o in shown]
    assert line.startswith("Police grades of the episodes of children with many episodes: not shown for one local "
                           "authority")
    assert "shown in the report for all local authorities together" in line and "small" not in line
    assert ctx.title_suffix == ", Kent, 1 April 2017 to 31 March 2018"
    assert ctx.describe().startswith("Kent (E10000016), 1 April 2017 to 31 March 2018")
