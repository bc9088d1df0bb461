"""The checks every notebook cell's outputs get (tests/notebook_outputs.py) can each fail."""

from __future__ import annotations

import base64
import io

import pytest
from notebook_outputs import problems
from PIL import Image


def png(colours: int) -> str:
    image = Image.new("RGB", (20, 10), "white")
    if colours > 1:
        image.putpixel((3, 3), (0, 0, 0))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


TABLE = "<table><thead><tr><th>group</th><th>count</th></tr></thead><tbody><tr><td>all</td><td>{}</td></tr></tbody></table>"


def html(text: str) -> dict:
    return {"output_type": "display_data", "data": {"text/html": text, "text/plain": "<IPython.core.display.HTML>"}}


def test_good_outputs_pass():
    outputs = [html(TABLE.format("12")), {"output_type": "display_data", "data": {"image/png": png(2)}}]
    assert problems("ctx.show_table(t, 'x')", outputs, {"C00000001"}) == []


@pytest.mark.parametrize("outputs, found", [
    ([html(TABLE.format("nan"))], "a missing value shown as 'nan'"),
    ([html(TABLE.format("&lt;NA&gt;"))], "a missing value shown as '&lt;NA&gt;'"),
    ([html(TABLE.format("C00000001"))], "a child id in the output"),
    ([html("<table><thead><tr><th>a</th></tr></thead><tbody></tbody></table>")], "a table without any row of data"),
    ([{"output_type": "display_data", "data": {"image/png": png(1)}}], "a blank chart"),
    ([{"output_type": "display_data", "data": {"image/png": "bm90IGEgcG5n"}}], "not a readable PNG"),
    ([{"output_type": "stream", "name": "stderr", "text": "RuntimeWarning: divide by zero"}], "stderr: RuntimeWarning"),
    ([], "displayed nothing"),
])
def test_each_check_can_fail(outputs, found):
    assert any(found in p for p in problems("ctx.show_table(t, 'x')", outputs, {"C00000001"})), found


def test_words_containing_none_or_nan_are_not_missing_values():
    assert problems("ctx.say(x)", [html("<p>Nonetheless, finance.</p>")], set()) == []
