"""Open a report in headless Chromium and save a screenshot: ``python -m analysis.browser REPORT.html OUT.png``.

Checks that a report renders in a real browser with networking effectively
off. Uses Debian's ``chromium`` (``apt-get install chromium``).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
INSTALL_HINT = "Chromium was not found. Install it with: sudo apt-get install chromium (Debian/Ubuntu)."


def find_chromium() -> str | None:
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def screenshot(report: Path, out: Path, width: int = 1280, height: int = 2000, timeout: int = 120) -> Path:
    """Render ``report`` and write a PNG; raise RuntimeError with a clear message on failure."""
    report, out = Path(report).resolve(), Path(out).resolve()
    if not report.exists():
        raise RuntimeError(f"No report at {report}")
    exe = find_chromium()
    if exe is None:
        raise RuntimeError(INSTALL_HINT)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="rhi-chromium-") as profile:
        cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--hide-scrollbars", f"--user-data-dir={profile}", f"--screenshot={out}",
               f"--window-size={width},{height}", report.as_uri()]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"Chromium did not finish within {timeout}s") from None
    if not out.exists() or out.stat().st_size == 0:
        tail = "\n".join((proc.stderr or "").strip().splitlines()[-5:])
        raise RuntimeError(f"Chromium wrote no screenshot (exit {proc.returncode}). {tail}")
    return out


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        print("usage: python -m analysis.browser REPORT.html OUT.png", file=sys.stderr)
        return 2
    try:
        path = screenshot(Path(argv[0]), Path(argv[1]))
    except RuntimeError as err:
        print(str(err), file=sys.stderr)
        return 1
    print(f"Screenshot written: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
