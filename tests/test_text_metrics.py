"""Text sizes shared between charts (``analysis.render.textmetrics``) leave every chart byte-identical, and the
report's PNG compression (``report.PNG_COMPRESSION``) leaves every pixel as matplotlib's default compression draws it.

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
    (the all-authorities notebooks, run on their own, make their own publication: the slow part)."""
    from analysis.dataset.validate import load_dataset

    first = sorted(load_dataset(default_run.data).la_codes)[0]
    out = {}
    import matplotlib

    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.delenv("RHI_SVG", raising=False)
        monkeypatch.setitem(matplotlib.rcParams, "figure.max_open_warning", 0)   # kept open on purpose, closed below
        for key, la_code in (("all", None), (first, first)):
            out[key] = _charts_of(default_run.data, la_code, tmp_path_factory.mktemp("charts"), monkeypatch)
    yield out
    for charts in out.values():
        _close(charts)


@pytest.mark.slow
@pytest.mark.parametrize("scope", ["all", "an authority"])
def test_charts_are_byte_identical_with_text_sizes_shared(drawn, scope):
    charts = drawn["all"] if scope == "all" else next(v for k, v in drawn.items() if k != "all")
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
    for charts in drawn.values():
        for name, fig in charts:
            ours = report._png_bytes(fig)
            default = io.BytesIO()
            fig.savefig(default, format="png", dpi=report.PNG_DPI, bbox_inches="tight", metadata={"Software": None})
            assert ours != default.getvalue() and _pixels(ours) == _pixels(default.getvalue()), name


def _close(charts) -> None:
    import matplotlib.pyplot as plt

    for _, fig in charts:
        plt.close(fig)
