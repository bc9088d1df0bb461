"""Where ``rhi batch`` writes: run folders, one run per folder at a time, and the swap into place.

A *run folder* is one ``rhi batch`` made: it carries a marker file, ``.rhi-run`` (JSON: tool, version
and the top-level entries the run wrote). ``--out`` may name a new folder, an empty folder or a run
folder holding nothing but what its run wrote; never a folder holding anything else, never the input
dataset, a folder containing it or a folder inside it. A run folder made before markers existed is
recognised by its ``manifest.json`` (tool ``rhi batch``) under the same rule.

The run is built in ``.RUN.partial`` beside the target and renamed into place at the end (the old
run is renamed aside first and removed after). ``.RUN.lock`` beside the target, created with O_EXCL,
holds the holder's pid, host and start time: a second run into the same folder is refused while the
first is alive; a lock whose holder is no longer running on this host is stale and is cleared.

Before any work the destination is probed: a small file is written, synced and removed in the
parent folder (the nearest one that exists) and in the target, so a read-only or full destination
is refused at the start, not at the final rename.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import socket
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

MARKER = ".rhi-run"
TOOL = "rhi batch"
PROBE_PREFIX = ".rhi-probe-"
PROBE_BYTES = 64 * 1024
REASONS = {errno.EROFS: "the file system is read-only", errno.EACCES: "permission denied",
           errno.EPERM: "the folder may not be changed (permission denied)", errno.ENOSPC: "no space left on the device",
           errno.EDQUOT: "disk quota exceeded"}


class RunFolderError(Exception):
    """A destination that must not, or cannot, be written (exit ``code``: 2 refused at the start, 1 at the end)."""

    def __init__(self, message: str, code: int = 2):
        super().__init__(message)
        self.code = code


def staging_path(out: Path) -> Path:
    return out.parent / f".{out.name}.partial"


def lock_path(out: Path) -> Path:
    return out.parent / f".{out.name}.lock"


# --- what may be replaced --------------------------------------------------------------------------

def check_target(out: Path, dataset: Path) -> None:
    """Refuse (RunFolderError) a target that is, holds or lies in the dataset, holds foreign files or cannot be written."""
    out, dataset = Path(out).resolve(), Path(dataset).resolve()
    if out == dataset:
        raise RunFolderError(f"--out {out} is the input dataset; give another folder for the reports. Nothing was changed.")
    if out in dataset.parents:
        raise RunFolderError(f"--out {out} contains the input dataset ({dataset}); give another folder for the reports. "
                             "Nothing was changed.")
    if dataset.is_dir() and dataset in out.parents:
        raise RunFolderError(f"--out {out} is inside the input dataset ({dataset}); give a folder outside it. "
                             "Nothing was changed.")
    if out.exists() and not out.is_dir():
        raise RunFolderError(f"--out {out} is a file; give a folder. Nothing was changed.")
    if out.is_dir():
        if os.path.ismount(out):
            raise RunFolderError(f"--out {out} is a mount point and cannot be replaced; give a folder inside it. "
                                 "Nothing was changed.")
        foreign = foreign_entries(out)
        if foreign:
            shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
            raise RunFolderError(f"--out {out} holds files that rhi batch did not write ({shown}); give a new or empty "
                                 "folder, or the folder of a previous run. Nothing was changed.")
    parent = out.parent
    while not parent.exists():
        parent = parent.parent
    probe(parent)
    if out.is_dir():
        probe(out)


def foreign_entries(folder: Path) -> list[str]:
    """Top-level entries of ``folder`` that no run wrote (all of them if it is not a run folder)."""
    names = sorted(n for n in os.listdir(folder) if not n.startswith(PROBE_PREFIX))  # a probe a kill left behind
    if not names:
        return []
    allowed = run_entries(folder)
    if allowed is None:
        return names
    return [name for name in names if name != MARKER and name not in allowed]


def run_entries(folder: Path) -> set[str] | None:
    """The entries a finished run wrote into ``folder``, or None if it is not a finished run's folder."""
    marker = _read_json(folder / MARKER)
    if marker is not None:
        entries = marker.get("entries")
        ok = marker.get("tool") == TOOL and isinstance(entries, list)
        return {str(e) for e in entries} if ok else None
    manifest = _read_json(folder / "manifest.json")  # a run made before markers
    if manifest and manifest.get("tool") == TOOL and isinstance(manifest.get("reports"), dict):
        return {"index.html", "manifest.json", *map(str, manifest["reports"])}
    return None


def write_marker(folder: Path, entries: list[str] | None = None) -> None:
    from analysis import __version__

    record = {"tool": TOOL, "version": __version__}
    if entries is not None:
        record["entries"] = entries
    (folder / MARKER).write_text(json.dumps(record, indent=2) + "\n")


def _read_json(path: Path) -> dict | None:
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


# --- can it be written ------------------------------------------------------------------------------

def probe(folder: Path) -> None:
    """Write, sync and remove a small file in ``folder``; RunFolderError if the folder cannot take it."""
    path = folder / f"{PROBE_PREFIX}{os.getpid()}"
    try:
        _write_probe(path)
    except OSError as exc:
        raise RunFolderError(f"--out: cannot write in {folder}: {reason(exc)}. Nothing was run or written.") from None
    finally:
        try:
            path.unlink()
        except OSError:  # never created
            pass


def _write_probe(path: Path) -> None:
    with open(path, "xb") as handle:
        handle.write(b"\0" * PROBE_BYTES)
        handle.flush()
        os.fsync(handle.fileno())


def reason(exc: OSError) -> str:
    return REASONS.get(exc.errno, exc.strerror or str(exc))


# --- one run per folder ----------------------------------------------------------------------------

class RunLock:
    """``.RUN.lock`` beside the target, created with O_EXCL; holds pid, host and start time of the run."""

    def __init__(self, out: Path, say=None):
        self.out, self.path, self.say = Path(out), lock_path(Path(out)), say or _to_stderr
        self.mine = {"tool": TOOL, "pid": os.getpid(), "host": socket.gethostname(),
                     "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                     "pid_started": _process_start(os.getpid())}
        self.held = False

    def acquire(self) -> None:
        for _ in range(5):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                holder = self._holder()
                if holder is not None and _alive(holder):
                    raise RunFolderError(
                        f"--out {self.out} is being written by another rhi batch (pid "
                        f"{holder.get('pid')} on {holder.get('host')}, started {holder.get('started')}); wait for it "
                        f"to finish. If no batch is running there, delete {self.path}. Nothing was changed.") from None
                self._clear_stale(holder)
                continue
            with os.fdopen(fd, "w") as handle:
                json.dump(self.mine, handle)
            self.held = True
            return
        raise RunFolderError(f"could not take the lock {self.path}: other runs keep taking it. Nothing was changed.")

    def release(self) -> None:
        if self.held and _read_json(self.path) == self.mine:
            self.path.unlink(missing_ok=True)
        self.held = False

    def _holder(self) -> dict | None:
        """The lock's content; None if it stays unreadable (its writer died between creating and writing it)."""
        for _ in range(10):
            holder = _read_json(self.path)
            if holder is not None or not self.path.exists():
                return holder
            time.sleep(0.1)
        return None

    def _clear_stale(self, holder: dict | None) -> None:
        aside = self.path.with_name(f"{self.path.name}.stale-{os.getpid()}")
        try:
            os.rename(self.path, aside)  # atomic: of two runs clearing the same lock, one gets it
        except FileNotFoundError:
            return
        if _read_json(aside) != holder:  # a live run took the lock in between: put its lock back
            try:
                os.link(aside, self.path)
            except FileExistsError:
                pass
        else:
            who = f"pid {holder.get('pid')}, started {holder.get('started')}" if holder else "unreadable"
            self.say(f"Cleared a stale lock {self.path} ({who}): that batch is no longer running.")
        aside.unlink(missing_ok=True)


def _process_start(pid: int) -> float | None:
    import psutil

    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None


def _alive(holder: dict) -> bool:
    """Is the lock's holder still running? A holder on another host is assumed to be."""
    if holder.get("host") != socket.gethostname():
        return True
    return process_running(holder.get("pid"), holder.get("pid_started"))


def process_running(pid, started: float | None = None) -> bool:
    """Whether process ``pid`` of this host runs: not ended, not a zombie (ended, not yet reaped by its parent),
    and, given when it ``started``, the same process (else the pid was reused). A pid that cannot be looked at,
    or is not a number, counts as ended."""
    import psutil

    try:
        proc = psutil.Process(int(pid))
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        return started is None or abs(proc.create_time() - float(started)) < 1.0
    except (psutil.Error, TypeError, ValueError):
        return False


def _to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- the run's folders -----------------------------------------------------------------------------

@contextmanager
def claim(out: Path, dataset: Path, resume: bool, say=None):
    """Lock ``out`` for this run and yield its staging folder; the lock is released however the run ends.

    Without ``resume`` an earlier partial folder is removed; with it, it is kept for reuse. A partial
    folder holding anything but a run's report folders is refused.
    """
    out = Path(out).resolve()
    check_target(out, dataset)
    out.parent.mkdir(parents=True, exist_ok=True)
    lock = RunLock(out, say)
    lock.acquire()
    try:
        check_target(out, dataset)  # again: another run may have finished between the first check and the lock
        staging = staging_path(out)
        if staging.exists() and not _is_partial(staging):
            raise RunFolderError(f"{staging} holds files that rhi batch did not write; move them away and run again. "
                                 "Nothing was changed.")
        if staging.exists() and not resume:
            shutil.rmtree(staging)
        staging.mkdir(exist_ok=True)
        write_marker(staging)
        yield staging
    finally:
        lock.release()


def _is_partial(folder: Path) -> bool:
    """A run's partial folder: it has the marker, or (made before markers) it holds only report folders."""
    if not folder.is_dir() or folder.is_symlink():
        return False
    marker = _read_json(folder / MARKER)
    if marker is not None:
        return marker.get("tool") == TOOL
    return all(entry.is_dir() and not entry.is_symlink() for entry in folder.iterdir())


def swap_into_place(staging: Path, out: Path) -> None:
    """Mark the finished run and replace the target with it: two renames, then the old run is removed."""
    write_marker(staging, sorted(name for name in os.listdir(staging) if name != MARKER))
    old = None
    try:
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            old.rmdir()
            out.rename(old)
        staging.rename(out)
    except OSError as exc:
        if old is not None and old.exists() and not out.exists():
            old.rename(out)
        raise RunFolderError(f"could not move the finished run into {out} ({reason(exc)}); it is complete in "
                             f"{staging}", code=1) from None
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
