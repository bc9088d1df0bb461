"""Pseudonymisation of identifiers on import: keyed hashes (HMAC-SHA256).

A pseudonym is ``prefix + the first 16 hex digits of HMAC-SHA256(key, kind + value)``:
``P…`` for people, ``E…`` for episodes, ``R…`` for RHIs. The same source with the
same key always gives the same pseudonyms (so imports can be repeated and linked);
without the key they cannot be reversed or recomputed from a list of known ids.
The key comes from ``--key-file`` or the environment variable RHI_PSEUDONYM_KEY,
and is never written anywhere.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

import pandas as pd

from .common import ImportFailure

ENV_VAR = "RHI_PSEUDONYM_KEY"
MIN_KEY_LENGTH = 16
DIGITS = 16
PREFIX = {"person": "P", "episode": "E", "rhi": "R"}
MAKE_KEY = 'python -c "import secrets; print(secrets.token_hex(32))" > rhi.key'


def load_key(key_file: Path | None = None) -> bytes:
    """The key from the file (surrounding whitespace ignored), else from $RHI_PSEUDONYM_KEY."""
    if key_file is not None:
        path = Path(key_file)
        if not path.is_file():
            raise ImportFailure(f"--key-file {path}: no such file")
        key = path.read_bytes().strip()
        where = f"--key-file {path}"
    elif os.environ.get(ENV_VAR):
        key = os.environ[ENV_VAR].strip().encode("utf-8")
        where = f"${ENV_VAR}"
    else:
        raise ImportFailure(
            "No pseudonymisation key: child ids are replaced by keyed hashes on import. Pass --key-file FILE "
            f"or set {ENV_VAR}. Make a key once, keep it secret and keep it safe, e.g.: {MAKE_KEY}")
    if len(key) < MIN_KEY_LENGTH:
        raise ImportFailure(f"{where}: the key is {len(key)} characters; use at least {MIN_KEY_LENGTH} "
                            f"(a short key can be guessed). For example: {MAKE_KEY}")
    return key


class Pseudonymiser:
    """Replaces source ids with keyed hashes; refuses (never silently merges) a collision."""

    def __init__(self, key: bytes):
        self._key = key
        self._seen: dict[tuple[str, str], str] = {}

    def one(self, kind: str, value: str) -> str:
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

    def fingerprint(self) -> str:
        """A short check value of the key, so two imports can be seen to share a key (not the key)."""
        return hmac.new(self._key, b"rhi-key-fingerprint", hashlib.sha256).hexdigest()[:8]
