"""Pseudonymisation: keyed, deterministic, key required and never written out."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from analysis.cli import app
from analysis.importers import ImportFailure, run_import
from analysis.importers.pseudonymise import ENV_VAR, Pseudonymiser, load_key

runner = CliRunner()

FIXTURES = Path(__file__).parent / "fixtures" / "import"
KEY = "test-key-0123456789abcdef"
OTHER_KEY = "another-key-fedcba9876543210"


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
    with pytest.raises(ImportFailure, match="at least 16"):
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
