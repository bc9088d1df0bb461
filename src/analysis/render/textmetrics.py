"""Text sizes measured once per kernel, not once per chart: the same bytes, drawn sooner.

matplotlib measures every piece of text (a tick label, a title) before it draws
it, and keeps the sizes only as long as the renderer that measured them lives.
A chart saved with ``bbox_inches="tight"`` is drawn by two renderers of different
sizes, and every chart has renderers of its own, so the same labels ("0", "25",
"Looked after") are measured again for every chart of every report: about a
tenth of the time a report spends saving its charts.

For matplotlib's raster renderer (Agg) the size of plain text depends only on
the text, its font properties, the dots per inch and the hinting settings, never
on the renderer that measures it. :func:`share` keeps those sizes for the
process, keyed on exactly these; any other renderer, and mathematical text, is
measured as matplotlib does. The charts are byte-identical with and without it
(``tests/test_text_metrics.py``). It relies on one private function of
matplotlib (``matplotlib.text._get_text_metrics_function``): where a version
has no such function, nothing is changed and charts are measured as before.
"""

from __future__ import annotations

_SIZES: dict = {}
_LIMIT = 100_000   # distinct (text, font, dpi) sizes kept; beyond that, measured again (and the store emptied)


def share() -> bool:
    """Share plain-text sizes between Agg renderers in this process; whether it is (now or already) in place."""
    import matplotlib
    import matplotlib.text as mtext
    from matplotlib.backends.backend_agg import RendererAgg

    original = getattr(mtext, "_get_text_metrics_function", None)
    if original is None:
        return False
    if getattr(original, "shared_sizes", False):
        return True

    def metrics_function(renderer, *args, **kwargs):
        measure = original(renderer, *args, **kwargs)
        if type(renderer) is not RendererAgg:
            return measure

        def sizes(text, fontprop, ismath, dpi):
            if ismath:   # mathematical text: measured by matplotlib, per renderer, as always
                return measure(text, fontprop, ismath, dpi)
            rc = matplotlib.rcParams
            key = (text, fontprop, dpi, rc["text.hinting"], rc["text.hinting_factor"])
            found = _SIZES.get(key)
            if found is None:
                if len(_SIZES) >= _LIMIT:
                    _SIZES.clear()
                found = _SIZES[key] = measure(text, fontprop, ismath, dpi)
            return found
        return sizes

    metrics_function.shared_sizes = True
    metrics_function.original = original
    mtext._get_text_metrics_function = metrics_function
    return True


def unshare() -> None:
    """Measure every text per renderer again, as matplotlib does (for the tests that compare the two)."""
    import matplotlib.text as mtext

    current = getattr(mtext, "_get_text_metrics_function", None)
    if getattr(current, "shared_sizes", False):
        mtext._get_text_metrics_function = current.original
    _SIZES.clear()
