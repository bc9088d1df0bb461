"""Pseudonymisation of identifiers on import: keyed hashes (HMAC-SHA256).

A pseudonym is ``prefix + the first 16 hex digits of HMAC-SHA256(key, kind + value)``, the value
trimmed and in upper case (ids are compared ignoring case and surrounding spaces):
``P…`` for people, ``E…`` for episodes, ``R…`` for RHIs. The same source with the
same key always gives the same pseudonyms (so imports can be repeated and linked);
without the key they cannot be reversed or recomputed from a list of known ids.
The key comes from ``--key-file`` or the environment variable RHI_PSEUDONYM_KEY
(loaded and checked for strength by :mod:`.keys`), and nothing derived from the
key alone is written anywhere: no fingerprint, which would let anyone holding
an import report test guessed keys offline.
"""

from __future__ import annotations

import hashlib
import hmac

import pandas as pd

from analysis.importers.common import ImportFailure
from analysis.importers.keys import ENV_VAR, load_key  # noqa: F401  (re-exported: where callers have always found them)

DIGITS = 16
PREFIX = {"person": "P", "episode": "E", "rhi": "R"}


def same_id(value: str) -> str:
    """The id as compared (docs/data-contract.md, "Identifiers"): trimmed, in upper case, so that ``yp01`` and
    ``YP01 `` are one child. Upper, not lower, so that ids of digits and capitals keep the pseudonyms
    they had before ids were compared this way."""
    return str(value).strip().upper()


class Pseudonymiser:
    """Replaces source ids with keyed hashes; refuses (never silently merges) a collision."""

    def __init__(self, key: bytes):
        self._key = key
        self._seen: dict[tuple[str, str], str] = {}

    def one(self, kind: str, value: str) -> str:
        value = same_id(value)
        digest = hmac.new(self._key, f"{kind}\x1f{value}".encode("utf-8"), hashlib.sha256).hexdigest()
        pseudonym = PREFIX[kind] + digest[:DIGITS]
        earlier = self._seen.setdefault((kind, pseudonym), value)
        if earlier != value:  # 1 in 2**64 per pair: report it rather than merge two records
            raise ImportFailure(f"two different {kind} ids give the same pseudonym {pseudonym}; "
                                "use another key")
        return pseudonym

    def series(self, kind: str, values: pd.Series) -> pd.Series:
        """Pseudonyms of a column of ids (blank stays blank)."""
        table = {v: self.one(kind, v) for v in pd.unique(values) if v != ""}
        table[""] = ""
        return values.map(table).astype(object)
