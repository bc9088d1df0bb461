"""Text sizes shared between charts (``analysis.render.textmetrics``) leave every chart byte-identical, the
report's PNG compression (``report.PNG_COMPRESSION``) leaves every pixel as matplotlib's default compression draws it,
and the report's PNG (``report._png_bytes``, one drawing) is byte for byte matplotlib's tight save (two drawings).

Every chart of an authority's report and of the all-authorities report is drawn by the project's notebooks
(their code run here, in this process, on the default study data) and saved as the report saves it, with text
sizes measured per renderer (as matplotlib does) and shared across the process (cold, then warm).
"""

from __future__ import annotations

import nbformat
import pytest

from analysis.render import report, textmetrics
from analysis.run.batch import discover_notebooks


def _charts_of(data, la_code, out, monkeypatch) -> list:
    """(name, figure) of every chart the project's per-authority notebooks draw for ``la_code``."""
    from papermill.parameterize import parameterize_notebook

    drawn = []

    def keep(self, fig, name, alt, caption):
        from analysis.render.plots import NotDrawn

        if not isinstance(fig, NotDrawn):
            drawn.append((name, fig))

    monkeypatch.setattr(report.ReportContext, "_show_figure", keep)
    monkeypatch.setattr("IPython.display.display", lambda *args, **kwargs: None)
    per_la = [p for p in discover_notebooks()[0] if not p.name.startswith("05_")]
    for path in per_la:
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            cell.metadata.setdefault("tags", [])
        nb.metadata["papermill"] = {"parameters": {}, "environment_variables": {}}
        nb = parameterize_notebook(nb, {"data_path": str(data), "la_code": la_code, "output_dir": str(out)},
                                   kernel_name="python3", language="python")
        namespace = {"display": lambda *args, **kwargs: None}
        for cell in nb.cells:
            if cell.cell_type == "code" and not cell.source.lstrip().startswith("%"):
                exec(compile(cell.source, str(path), "exec"), namespace)
    return drawn


@pytest.fixture(scope="module")
def drawn(default_run, tmp_path_factory):
    """The charts of the all-authorities report and of the first authority's, drawn once for this module's tests
    (the all-authorities notebooks, run on their own, make their own publication: the slow part). ``charts``: the
    figures, {key: [(name, figure)]}; ``fresh``: each pickled as drawn, before any test saved it (saving a figure
    lays it out, so a test of the first save needs copies that were never saved)."""
    import pickle
    from types import SimpleNamespace

    from analysis.dataset.validate import load_dataset

    first = sorted(load_dataset(default_run.data).la_codes)[0]
    out = {}
    import matplotlib

    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.delenv("RHI_SVG", raising=False)
        monkeypatch.setitem(matplotlib.rcParams, "figure.max_open_warning", 0)   # kept open on purpose, closed below
        for key, la_code in (("all", None), (first, first)):
            out[key] = _charts_of(default_run.data, la_code, tmp_path_factory.mktemp("charts"), monkeypatch)
    fresh = {key: [(name, pickle.dumps(fig)) for name, fig in charts] for key, charts in out.items()}
    yield SimpleNamespace(charts=out, fresh=fresh)
    for charts in out.values():
        _close(charts)


@pytest.mark.slow
@pytest.mark.parametrize("scope", ["all", "an authority"])
def test_charts_are_byte_identical_with_text_sizes_shared(drawn, scope):
    charts = drawn.charts["all"] if scope == "all" else next(v for k, v in drawn.charts.items() if k != "all")
    assert len(charts) >= 5, [name for name, _ in charts]
    try:
        textmetrics.unshare()
        alone = [report._png_bytes(fig) for _, fig in charts]
        assert textmetrics.share()
        shared_cold = [report._png_bytes(fig) for _, fig in charts]
        shared_warm = [report._png_bytes(fig) for _, fig in charts]
    finally:
        textmetrics.share()
    for (name, _), a, b, c in zip(charts, alone, shared_cold, shared_warm):
        assert a == b == c, name
    assert textmetrics._SIZES   # the sizes were shared (a test that could not fail would prove nothing)


def _pixels(png: bytes):
    import io

    from PIL import Image

    image = Image.open(io.BytesIO(png))
    return image.mode, image.size, image.tobytes()


@pytest.mark.slow
def test_the_reports_png_compression_keeps_every_pixel_of_matplotlibs_default(drawn):
    import io

    assert report.PNG_COMPRESSION != 6   # otherwise this compares a thing with itself
    for charts in drawn.charts.values():
        for name, fig in charts:
            ours = report._png_bytes(fig)
            default = io.BytesIO()
            fig.savefig(default, format="png", dpi=report.PNG_DPI, bbox_inches="tight", metadata={"Software": None})
            assert ours != default.getvalue() and _pixels(ours) == _pixels(default.getvalue()), name


@pytest.mark.slow
def test_the_report_png_is_matplotlibs_tight_save_drawn_once(drawn, monkeypatch):
    """Two copies of every chart as drawn, never saved: one saved as the report saves it, one with matplotlib's own
    ``bbox_inches="tight"``; the same bytes, from one drawing against two, and the figure's layout engine is put
    back."""
    import io
    import pickle

    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.layout_engine import PlaceHolderLayoutEngine

    draws = []
    draw = Figure.draw
    monkeypatch.setattr(Figure, "draw", lambda self, renderer: (draws.append(self), draw(self, renderer))[1])
    saved = 0
    for charts in drawn.fresh.values():
        for name, blob in charts:
            ours, theirs = pickle.loads(blob), pickle.loads(blob)
            for fig in (ours, theirs):
                FigureCanvasAgg(fig)                    # an unpickled figure has a plain canvas: the report's is Agg
            engine = ours.get_layout_engine()
            assert type(engine) is PlaceHolderLayoutEngine, name     # laid out by tight_layout, as every chart is
            draws.clear()
            png = report._png_bytes(ours)
            assert len(draws) == 1 and ours.get_layout_engine() is engine, name
            draws.clear()
            buffer = io.BytesIO()
            theirs.savefig(buffer, format="png", dpi=report.PNG_DPI, bbox_inches="tight", metadata={"Software": None},
                           pil_kwargs={"compress_level": report.PNG_COMPRESSION})
            assert len(draws) == 2, name
            assert png == buffer.getvalue(), name
            saved += 1
            plt.close(ours)
            plt.close(theirs)
    assert saved >= 10


def test_a_figure_with_a_live_layout_engine_is_saved_the_usual_way():
    """Constrained layout places a figure as it is drawn: no box can be measured before that, so the report's PNG
    is matplotlib's tight save, drawings and all."""
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.layout_engine import ConstrainedLayoutEngine

    def chart():
        fig = Figure(figsize=(4, 3), layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.subplots()
        ax.plot([1, 3, 2])
        ax.set_title("A title long enough to need its room")
        return fig

    ours, theirs = chart(), chart()
    png = report._png_bytes(ours)
    buffer = io.BytesIO()
    theirs.savefig(buffer, format="png", dpi=report.PNG_DPI, bbox_inches="tight", metadata={"Software": None},
                   pil_kwargs={"compress_level": report.PNG_COMPRESSION})
    assert png == buffer.getvalue()
    assert isinstance(ours.get_layout_engine(), ConstrainedLayoutEngine)


def _close(charts) -> None:
    import matplotlib.pyplot as plt

    for _, fig in charts:
        plt.close(fig)
