"""Headless Chromium: screenshots and PDFs of a report, with networking effectively off.

``python -m analysis.render.browser REPORT.html OUT.png [WIDTH ...]`` saves one PNG per width
(``OUT-400.png`` beside ``OUT.png`` for each width after the first); ``print_pdf``
prints a report to PDF. Uses Debian's ``chromium`` (``apt-get install chromium``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
INSTALL_HINT = "Chromium was not found. Install it with: sudo apt-get install chromium (Debian/Ubuntu)."
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--disable-extensions", "--mute-audio"]


def find_chromium() -> str | None:
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def _chromium(report: Path, out: Path, extra: list[str], timeout: int, what: str) -> Path:
    """Run Chromium on ``report`` with ``extra`` flags that write ``out``; RuntimeError on any failure."""
    report, out = Path(report).resolve(), Path(out).resolve()
    if not report.exists():
        raise RuntimeError(f"No report at {report}")
    exe = find_chromium()
    if exe is None:
        raise RuntimeError(INSTALL_HINT)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="rhi-chromium-") as profile:
        cmd = [exe, *FLAGS, f"--user-data-dir={profile}", *extra, report.as_uri()]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"Chromium did not finish within {timeout}s") from None
    if not out.exists() or out.stat().st_size == 0:
        tail = "\n".join((proc.stderr or "").strip().splitlines()[-5:])
        raise RuntimeError(f"Chromium wrote no {what} (exit {proc.returncode}). {tail}")
    return out


def screenshot(report: Path, out: Path, width: int = 1280, height: int = 2000, timeout: int = 120) -> Path:
    """Render ``report`` at ``width`` x ``height`` CSS pixels and write a PNG."""
    out = Path(out)
    return _chromium(report, out, [f"--screenshot={Path(out).resolve()}", f"--window-size={width},{height}"],
                     timeout, "screenshot")


def screenshots(report: Path, out: Path, widths=(1280, 400), height: int = 2000) -> list[Path]:
    """One PNG per width: ``out`` for the first, ``out`` with ``-WIDTH`` before the suffix for the others."""
    out = Path(out)
    paths = []
    for n, width in enumerate(widths):
        target = out if n == 0 else out.with_name(f"{out.stem}-{width}{out.suffix}")
        paths.append(screenshot(report, target, width=width, height=height))
    return paths


def print_pdf(report: Path, out: Path, timeout: int = 180) -> Path:
    """Print ``report`` to an A4 PDF, long tables opened, the same bytes for the same page.

    The page is printed from a copy in which every ``<details>`` is open (a closed one prints only its
    summary) and links to the files beside the page are plain text (they would point at the copy). Chromium stamps the PDF with the time it was made: the stamps are set to $SOURCE_DATE_EPOCH,
    or blanked when that is not set (same length, so the file's cross-references stay right).
    """
    report, out = Path(report).resolve(), Path(out).resolve()
    if not report.exists():
        raise RuntimeError(f"No report at {report}")
    text = report.read_text(encoding="utf-8")
    opened = re.sub(r"<details\b(?![^>]*\bopen\b)", "<details open", text)
    # Links to files beside the page would point at the temporary copy: kept as text, without the link.
    opened = re.sub(r"""<a\s+href=(["'])(?!#|https?:|mailto:)[^"']*\1""", "<a", opened)
    with tempfile.TemporaryDirectory(prefix="rhi-print-") as tmp:
        page = Path(tmp) / report.name
        page.write_text(opened, encoding="utf-8")
        _chromium(page, out, [f"--print-to-pdf={out}", "--no-pdf-header-footer"], timeout, "PDF")
    out.write_bytes(fixed_pdf_dates(out.read_bytes()))
    return out


_PDF_DATE = re.compile(rb"/(CreationDate|ModDate) \(D:[0-9+\-Z']+\)")


def fixed_pdf_dates(data: bytes) -> bytes:
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    stamp = (datetime.fromtimestamp(int(epoch), tz=timezone.utc).strftime("D:%Y%m%d%H%M%S+00'00'").encode()
             if epoch.isdigit() else None)

    def swap(match):
        whole = match.group(0)
        if stamp is not None:
            new = b"/" + match.group(1) + b" (" + stamp + b")"
            if len(new) == len(whole):
                return new
        return b" " * len(whole)
    return _PDF_DATE.sub(swap, data)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) < 2 or not all(w.isdigit() for w in argv[2:]):
        print("usage: python -m analysis.render.browser REPORT.html OUT.png [WIDTH ...]  (default widths: 1280 400)",
              file=sys.stderr)
        return 2
    widths = [int(w) for w in argv[2:]] or [1280, 400]
    try:
        paths = screenshots(Path(argv[0]), Path(argv[1]), widths=widths)
    except RuntimeError as err:
        print(str(err), file=sys.stderr)
        return 1
    for path in paths:
        print(f"Screenshot written: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
