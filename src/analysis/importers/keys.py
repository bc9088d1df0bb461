"""Pseudonymisation keys: making one (``rhi keygen``), loading one, refusing a guessable one.

A key must carry at least 128 bits of entropy: anyone who guesses the key can
recompute every pseudonym from a list of candidate ids. The entropy of a key
someone typed cannot be known, so it is estimated conservatively, as the
smallest of three estimates (a key is refused if any of them is below 128):

- *alphabet*: length x log2(alphabet), where the alphabet is 16 symbols for a
  hex-looking key (0-9, a-f) and otherwise the sum of the character classes
  used (26 lower case, 26 upper case, 10 digits, 33 ASCII symbols and space,
  128 for anything else);
- *patterns*: the key is cut into tokens, where a repeat of something earlier
  (3 or more characters) or a run of 3 or more characters going up, down or
  staying the same (``aaaa``, ``1234``, ``fedc``) is one token and any other
  character is one token; tokens x log2(alphabet);
- *variety*: length x log2(number of distinct characters).

``rhi keygen`` writes ``secrets.token_hex(32)`` (256 bits) to a new file that
only its owner can read; it never overwrites a file.
"""

from __future__ import annotations

import math
import os
import secrets
import string
from pathlib import Path

from analysis.importers.common import ImportFailure
from analysis.limits import MAX_KEY_BYTES, InputTooLarge, read_bytes_bounded

ENV_VAR = "RHI_PSEUDONYM_KEY"
MIN_BITS = 128
MAX_CHECKED = 4096
KEYGEN = "rhi keygen --out ~/rhi.key"
_HEX = set(string.hexdigits)
_CLASSES = ((set(string.ascii_lowercase), 26), (set(string.ascii_uppercase), 26), (set(string.digits), 10),
            (set(string.punctuation + " "), 33))


def alphabet_size(text: str) -> int:
    """16 for a hex-looking key, else the summed sizes of the character classes it uses."""
    if text and set(text) <= _HEX:
        return 16
    size = sum(n for chars, n in _CLASSES if any(c in chars for c in text))
    if any(not c.isascii() or (c not in string.printable) for c in text):
        size += 128
    return max(size, 1)


def pattern_tokens(text: str) -> int:
    """How many tokens the key is made of when repeats and runs count as one token each."""
    text = text[:MAX_CHECKED]  # the tokens of a prefix are a lower bound: conservative
    tokens, i = 0, 0
    while i < len(text):
        step = max(_repeat_length(text, i), _run_length(text, i))
        tokens += 1
        i += step if step >= 3 else 1
    return tokens


def _repeat_length(text: str, i: int) -> int:
    """Length of the longest match at i of something starting earlier (overlap allowed, as in LZ77)."""
    n = 0
    while i + n < len(text) and text.find(text[i:i + n + 1], 0, i + n) != -1:
        n += 1
    return n


def _run_length(text: str, i: int) -> int:
    """Length of the run at i whose code points step by the same -1, 0 or +1."""
    if i + 1 >= len(text):
        return 1
    step = ord(text[i + 1]) - ord(text[i])
    if abs(step) > 1:
        return 1
    n = 2
    while i + n < len(text) and ord(text[i + n]) - ord(text[i + n - 1]) == step:
        n += 1
    return n


def entropy_bits(key: str | bytes) -> float:
    """A conservative estimate of the key's entropy in bits (the smallest of the three in the module doc)."""
    text = key.decode("utf-8", errors="replace") if isinstance(key, bytes) else key
    if not text:
        return 0.0
    per_char = math.log2(alphabet_size(text))
    distinct = len(set(text))
    return min(len(text) * per_char, pattern_tokens(text) * per_char,
               len(text) * math.log2(distinct) if distinct > 1 else 0.0)


def check_key(key: bytes, where: str) -> bytes:
    """The key if it has at least MIN_BITS of estimated entropy; else ImportFailure with advice."""
    bits = entropy_bits(key)
    if bits < MIN_BITS:
        raise ImportFailure(
            f"{where}: the key is too easy to guess (about {bits:.0f} bits of entropy; at least {MIN_BITS} "
            "are needed: short keys, repeated patterns, runs like 1234 and words can be guessed, and a "
            f"guessed key turns every pseudonym back into a source id). Make a random key with: {KEYGEN}")
    return key


def load_key(key_file: Path | None = None) -> bytes:
    """The key from the file (surrounding whitespace ignored), else from $RHI_PSEUDONYM_KEY; checked."""
    if key_file is not None:
        path = Path(key_file).expanduser()
        if not path.is_file():
            raise ImportFailure(f"--key-file {path}: no such file. Make one with: {KEYGEN}")
        try:  # a key is 64 hex digits: a file of more than 1 KiB is not a key file, and is not read whole
            data = read_bytes_bounded(path, MAX_KEY_BYTES, "key file")
        except InputTooLarge:
            raise ImportFailure(f"--key-file {path}: a key file holds one key (64 hexadecimal digits, at most "
                                f"{MAX_KEY_BYTES:,} bytes); this file is larger. Make a key with: {KEYGEN}") from None
        except OSError as exc:
            raise ImportFailure(f"--key-file {path}: cannot be read ({exc.strerror or exc})") from None
        return check_key(data.strip(), f"--key-file {path}")
    if os.environ.get(ENV_VAR):
        return check_key(os.environ[ENV_VAR].strip().encode("utf-8"), f"${ENV_VAR}")
    raise ImportFailure(
        "No pseudonymisation key: child ids are replaced by keyed hashes on import. Pass --key-file FILE "
        f"or set {ENV_VAR}. Make a key once, keep it secret and keep it safe: {KEYGEN}")


def write_new_key(out: Path) -> Path:
    """Write a random 256-bit key (64 hex digits) to a new file readable by its owner only (0600).

    Raises FileExistsError rather than overwrite a file, FileNotFoundError if the folder is missing.
    """
    out = Path(out).expanduser()
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)  # whatever the umask
        os.write(fd, (secrets.token_hex(32) + "\n").encode("ascii"))
    finally:
        os.close(fd)
    return out


def keygen_command(out: Path) -> None:
    """The CLI's ``rhi keygen``: exit 2 with a message if the file exists or cannot be made."""
    import typer

    try:
        path = write_new_key(out)
    except FileExistsError:
        typer.echo(f"rhi keygen: --out {out} already exists; it was left untouched (a key is never "
                   "overwritten: imports made with it would no longer link up). Give a new file name.", err=True)
        raise typer.Exit(2) from None
    except OSError as exc:
        typer.echo(f"rhi keygen: cannot create --out {out}: {exc.strerror or exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"A new random key (256 bits) is in {path}, readable by you only. Keep it secret and keep a "
               "copy somewhere safe: the same key is needed to link later imports. "
               f"Use it with: rhi import ... --key-file {path}")
