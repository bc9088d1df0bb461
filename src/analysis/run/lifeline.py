"""Child processes that die with their parent, even when the parent is killed with SIGKILL.

A batch's workers and their Jupyter kernels must not outlive it: left behind, they keep writing
into the run's partial folder and would race a ``--resume``. On Linux each of them asks to be sent
SIGKILL when its parent dies (``prctl(PR_SET_PDEATHSIG)``): a worker in the pool's initializer, a
kernel through this file run as a launcher, which sets the signal and then execs the kernel (the
setting survives exec; the kernel keeps the launcher's pid). The signal follows the *thread* that
started the child, so workers and kernels must be started from a thread that lives as long as the
process (the main thread, as ProcessPoolExecutor and jupyter_client do here). Elsewhere this is a
no-op; ipykernel still exits on its own when its worker is gone.

This file is also run as a script (``python -I lifeline.py PARENT_PID COMMAND...``), so it imports
nothing but the standard library.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def die_with_parent(parent_pid: int) -> bool:
    """SIGKILL this process when its parent dies; exit now if ``parent_pid`` is already gone.

    Returns whether the parent-death signal was set (Linux only).
    """
    armed = False
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        armed = libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
    if os.getppid() != parent_pid:  # the parent died before the signal was set: nobody would send it
        os._exit(1)
    return armed


def tethered(command: list[str]) -> list[str]:
    """``command`` started through this launcher, so that it dies with the calling process."""
    return [sys.executable, "-I", os.path.abspath(__file__), str(os.getpid()), *command]


if __name__ == "__main__":
    die_with_parent(int(sys.argv[1]))
    os.execvp(sys.argv[2], sys.argv[2:])
