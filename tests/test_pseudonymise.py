"""Pseudonymisation: keyed, deterministic, a strong key required, and nothing of the key written out."""

from __future__ import annotations

from pathlib import Path

import os
import stat

import pandas as pd
import pytest
from typer.testing import CliRunner

from analysis.cli import app
from analysis.importers import ImportFailure, run_import
from analysis.importers.keys import MIN_BITS, entropy_bits, write_new_key
from analysis.importers.pseudonymise import ENV_VAR, Pseudonymiser, load_key

runner = CliRunner()

FIXTURES = Path(__file__).parent / "fixtures" / "import"
# Test keys made by secrets.token_hex(32), as rhi keygen does (weak keys are refused).
KEY = "9f591fcac152c058f016d7f2211af836ee066cb125b056fef3fc099e7a849b52"
OTHER_KEY = "1a5a6862726a36e856070676bad11098bd57464a883f15b22615cb1ed37c4a79"


def read(out: Path, table: str) -> pd.DataFrame:
    return pd.read_csv(out / f"{table}.csv", dtype=str, keep_default_na=False)


def files(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(Path(out).iterdir())}


EXPORT = FIXTURES.parent.parent.parent / "examples" / "provider_export_example.csv"
MAPPING = FIXTURES / "provider" / "mapping.yaml"


def test_pseudonyms_are_keyed_hmac_with_prefixes():
    import hashlib
    import hmac

    p = Pseudonymiser(KEY.encode())
    expected = "P" + hmac.new(KEY.encode(), b"person\x1f1001", hashlib.sha256).hexdigest()[:16]
    assert p.one("person", "1001") == expected
    assert p.one("episode", "1001").startswith("E") and p.one("rhi", "1001").startswith("R")
    # kinds are separated: the same source id gives different pseudonyms per kind
    assert p.one("episode", "1001")[1:] != p.one("person", "1001")[1:]
    assert Pseudonymiser(OTHER_KEY.encode()).one("person", "1001") != expected
    out = p.series("person", pd.Series(["a", "", "a"]))
    assert out[0] == out[2] and out[1] == ""


def test_key_from_file_or_environment(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    with pytest.raises(ImportFailure, match="No pseudonymisation key"):
        load_key(None)
    key_file = tmp_path / "k"
    key_file.write_text(KEY + "\n")
    assert load_key(key_file) == KEY.encode()
    monkeypatch.setenv(ENV_VAR, OTHER_KEY)
    assert load_key(None) == OTHER_KEY.encode()
    assert load_key(key_file) == KEY.encode()  # the file wins
    key_file.write_text("short")
    with pytest.raises(ImportFailure, match="too easy to guess.*rhi keygen --out"):
        load_key(key_file)
    with pytest.raises(ImportFailure, match="no such file"):
        load_key(tmp_path / "absent")


def test_no_key_is_a_clear_cli_error_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    out = tmp_path / "out"
    result = runner.invoke(app, ["import", "provider", str(EXPORT), "--mapping", str(MAPPING), "--out", str(out)])
    assert result.exit_code == 2
    assert "--key-file" in result.output and ENV_VAR in result.output
    assert "Traceback" not in result.output
    assert not out.exists()


def _import(tmp_path, name, key, **kw):
    key_file = tmp_path / f"{name}.key"
    key_file.write_text(key)
    out = tmp_path / name
    run_import("provider", EXPORT, out, mapping=MAPPING, key_file=key_file, **kw)
    return out


def test_same_key_byte_identical_other_key_other_ids(tmp_path):
    first, second = _import(tmp_path, "a", KEY), _import(tmp_path, "b", KEY)
    assert files(first) == files(second)
    other = _import(tmp_path, "c", OTHER_KEY)
    for table, column in (("children", "child_id"), ("episodes", "episode_id"), ("rhis", "rhi_id")):
        ids_a, ids_c = set(read(first, table)[column]), set(read(other, table)[column])
        assert ids_a and not ids_a & ids_c
    # same shape: only the ids differ
    assert read(first, "episodes").drop(columns=["episode_id", "child_id"]).equals(
        read(other, "episodes").drop(columns=["episode_id", "child_id"]))


def test_key_and_source_ids_never_written(tmp_path):
    out = _import(tmp_path, "a", KEY)
    text = b"".join(files(out).values()).decode("utf-8")
    assert KEY not in text
    for source_id in ("YP-0001", "YP-0002", "EP-9001", "Amy", "Sample Street", "Invented note"):
        assert source_id not in text


def test_keep_identifiers_keeps_names_and_notes(tmp_path):
    out = _import(tmp_path, "kept", KEY, keep_identifiers=True)
    children = read(out, "children")
    assert {"First name", "Surname", "Address", "source_child_id"} <= set(children.columns)
    assert "YP-0001" in set(children["source_child_id"])
    assert "notes" in read(out, "rhis").columns
    import json

    assert json.loads((out / "import_report.json").read_text())["identifiers"] == "kept"


# --- key strength ---------------------------------------------------------------------------------

WEAK = [
    "aaaaaaaaaaaaaaaa",                      # one character repeated
    "abcabcabcabcabcabc",                    # a short pattern repeated
    "password12345678",                      # a word and a run of digits
    "0123456789abcdef",                      # a 16-digit hex run
    "9f591fcac152c058",                      # 16 random hex digits: 64 bits
    "test-key-0123456789abcdef",             # the kind of key people type
    "correct horse battery staple",          # words, lower case and spaces only
    "ab" * 40,                               # long, but two characters
    "Q7" + "x" * 60,                         # long, but nearly one character
]


@pytest.mark.parametrize("key", WEAK)
def test_weak_keys_are_refused_with_advice(tmp_path, monkeypatch, key):
    assert entropy_bits(key) < MIN_BITS
    key_file = tmp_path / "weak.key"
    key_file.write_text(key + "\n")
    with pytest.raises(ImportFailure, match=r"--key-file .*weak.key: the key is too easy to guess.*rhi keygen"):
        load_key(key_file)
    monkeypatch.setenv(ENV_VAR, key)
    with pytest.raises(ImportFailure, match=r"\$RHI_PSEUDONYM_KEY: the key is too easy to guess"):
        load_key(None)


def test_entropy_estimates_by_hand():
    assert entropy_bits("aaaaaaaaaaaaaaaa") == 0                      # one distinct character
    assert entropy_bits("9f591fcac152c058") <= 16 * 4                 # hex: at most 4 bits a digit
    assert entropy_bits(KEY) == pytest.approx(64 * 4, abs=16)         # 64 hex digits: about 256 bits
    assert entropy_bits("abcabcabcabcabcabc") == 2 * 4                # hex letters: a run 'abc' + one repeat
    assert entropy_bits("xyzxyzxyzxyzxyzxyz") == pytest.approx(2 * 4.70, abs=0.01)  # lower case: 26 symbols
    assert entropy_bits("zq") < entropy_bits("zqK") < entropy_bits("zqK!")      # more classes, more bits


def test_keygen_output_is_accepted_and_random(tmp_path):
    keys = []
    for n in range(50):
        path = write_new_key(tmp_path / f"k{n}")
        text = path.read_text()
        assert len(text.strip()) == 64 and set(text.strip()) <= set("0123456789abcdef") and text.endswith("\n")
        assert load_key(path) == text.strip().encode()
        keys.append(text)
    assert len(set(keys)) == 50


def test_keygen_file_is_owner_only_and_never_overwritten(tmp_path):
    old_umask = os.umask(0)  # even with a permissive umask
    try:
        result = runner.invoke(app, ["keygen", "--out", str(tmp_path / "rhi.key")])
    finally:
        os.umask(old_umask)
    assert result.exit_code == 0, result.output
    path = tmp_path / "rhi.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key = path.read_bytes()
    assert key.decode().strip() not in result.output              # the key is not printed
    again = runner.invoke(app, ["keygen", "--out", str(path)])
    assert again.exit_code == 2 and "already exists" in again.output and "Traceback" not in again.output
    assert path.read_bytes() == key
    missing = runner.invoke(app, ["keygen", "--out", str(tmp_path / "no" / "such" / "folder" / "k")])
    assert missing.exit_code == 2 and "cannot create" in missing.output


def test_a_weak_key_stops_the_import_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, "password12345678")
    out = tmp_path / "out"
    result = runner.invoke(app, ["import", "provider", str(EXPORT), "--mapping", str(MAPPING), "--out", str(out)])
    assert result.exit_code == 2 and "too easy to guess" in result.output and "rhi keygen" in result.output
    assert "Traceback" not in result.output and not out.exists()


def test_the_import_report_cannot_confirm_a_guessed_key(tmp_path):
    """Nothing in the report depends on the key: imports with two keys give identical reports."""
    first, other = _import(tmp_path, "a", KEY), _import(tmp_path, "c", OTHER_KEY)
    for name in ("import_report.json", "import_report.md"):
        assert (first / name).read_bytes() == (other / name).read_bytes()
    assert "fingerprint" not in (first / "import_report.json").read_text()
