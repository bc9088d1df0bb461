"""Read a written report page back as a reader sees it: the title of each table a notebook named.

Independent of ``analysis.render.html``: the whole page is parsed here (the package hands the titles to the
spreadsheet as it writes the page, and never reads a page back).
"""

from __future__ import annotations

import re
from pathlib import Path

from bs4 import BeautifulSoup


def table_titles(page: Path) -> dict:
    """{CSV name (``data-table``): the table's caption without its symbols note ("c: ...; z: ...")}, in page order."""
    soup = BeautifulSoup(Path(page).read_text(encoding="utf-8"), "html.parser")
    titles = {}
    for table in soup.find_all("table", attrs={"data-table": True}):
        if table.caption is not None:
            words = " ".join(table.caption.get_text(" ").split())
            titles[table["data-table"]] = re.split(r"\s+[cxz]: ", words)[0].rstrip(" .")
    return titles
