"""How the user ran a command: through ``make``, messages name the make variables, not the flags.

``make import-report`` runs ``rhi import`` and ``rhi batch`` with flags built from the variables the
README teaches (``LA=``, ``KEY=``, ``MAPPING=``, ``JOBS=``), and says so in the environment variable
``RHI_MAKE_OPTIONS``: ``--la-code=LA --key-file=KEY --mapping=MAPPING --jobs=JOBS``. A message about
``--la-code 'X'`` then reads ``LA='X'``, which is what the user typed.
"""

from __future__ import annotations

import os
import re

ENV = "RHI_MAKE_OPTIONS"


def as_invoked(message: str) -> str:
    """The message with each flag the user set through make written as that make variable."""
    for pair in os.environ.get(ENV, "").split():
        flag, _, variable = pair.partition("=")
        if flag.startswith("--") and variable.isidentifier():
            message = re.sub(rf"{re.escape(flag)}(?![\w-])(?:[ =](?=[^\s(]))?", f"{variable}=", message)
    return message
