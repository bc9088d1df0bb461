"""Files read once per version in a long-lived process, such as a batch worker or its kernel.

Every report of a batch reads the same few files (the study's published figures, DfE's file, the notebooks).
``read_once(read)`` makes ``read`` parse a file once for each version of it (its resolved path, size and
modification time) and hand every caller a deep copy, which the caller may change.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path


def read_once(read, versions: int = 8):
    """``read(path)`` parsed once per file version (path, size, modification time); a deep copy per call."""
    @functools.lru_cache(maxsize=versions)
    def parsed(path: str, size: int, mtime_ns: int):
        return read(Path(path))

    @functools.wraps(read)
    def reader(path):
        path = Path(path).resolve()
        stat = path.stat()
        return copy.deepcopy(parsed(str(path), stat.st_size, stat.st_mtime_ns))
    return reader
