"""Every input read within bounds (analysis.limits): a hostile file is refused, located, with exit 1 or 2,
no traceback, nothing written, and without the memory or time its expansion would take.

The two cases of issue 29's "Done when" (a YAML bomb in a provider mapping, a CSV cell of ten million
characters) run the real command in a child process, whose peak memory and CPU time the kernel reports
(``os.wait4``): under 500 MB and under 5 s of CPU. The other bounds are checked in-process, most with
the bound lowered (monkeypatched) so that a small file crosses it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from builders import valid_tables
from typer.testing import CliRunner

from analysis import limits
from analysis.cli import app
from analysis.dataset.io import read_raw
from analysis.errors import DatasetError
from analysis.importers.pseudonymise import ENV_VAR

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "src" / "analysis" / "templates" / "provider_mapping_example.yaml"
EXPORT = ROOT / "examples" / "provider_export_example.csv"
KEY = "9f591fcac152c058f016d7f2211af836ee066cb125b056fef3fc099e7a849b52"
runner = CliRunner()


def laughs(levels: int = 9) -> str:
    """A "billion laughs" flow list: each level an anchor and eight aliases of it, 9**(levels+1) strings."""
    value = "[" + ", ".join(['"lol"'] * 9) + "]"
    for i in range(levels):
        value = f"[&l{i} {value}" + f", *l{i}" * 8 + "]"
    return value


# The peak is the command's own: VmHWM of its process, read as it exits. (The rusage of a child is no use here:
# Linux carries a process's peak across fork and exec, so a command started from a large test worker would
# report the worker's memory, not its own.)
_MEASURED = """
import atexit, os, runpy, sys
def _peak():
    with open("/proc/self/status") as status, open(os.environ["RHI_TEST_PEAK_FILE"], "w") as out:
        out.write(next(line.split()[1] for line in status if line.startswith("VmHWM:")))
atexit.register(_peak)
sys.argv = ["analysis", *sys.argv[1:]]
runpy.run_module("analysis", run_name="__main__")
"""


def run_measured(args: list[str], cwd: Path) -> tuple[int, str, float, int]:
    """(exit code, stderr + stdout, CPU seconds, peak resident MB) of ``python -m analysis ARGS``."""
    peak_file = cwd / ".peak-kb"
    env = {**os.environ, ENV_VAR: KEY, "COLUMNS": "200", "RHI_TEST_PEAK_FILE": str(peak_file)}
    proc = subprocess.Popen([sys.executable, "-c", _MEASURED, *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = proc.stdout.read().decode()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    peak_kb = int(peak_file.read_text())
    peak_file.unlink()
    return proc.returncode, out, usage.ru_utime + usage.ru_stime, peak_kb // 1024


def files_under(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*")}


# --- the two cases of the "Done when" --------------------------------------------------

@pytest.mark.parametrize("key", ["identifying", "true_values"])
def test_yaml_bomb_in_a_mapping_is_refused_quickly_in_little_memory(tmp_path, key):
    text = TEMPLATE.read_text()
    lines = [line for line in text.splitlines() if not line.startswith(f"{key}:")]
    mapping = tmp_path / "bomb.yaml"
    mapping.write_text("\n".join(lines) + f"\n{key}: {laughs()}\n")
    before = files_under(tmp_path)
    code, out, cpu, peak_mb = run_measured(["import", "provider", str(EXPORT), "--mapping", str(mapping),
                                            "--out", str(tmp_path / "out")], tmp_path)
    line = len(lines) + 1
    assert code == 2, out
    assert f"bomb.yaml, line {line}, column" in out and "alias" in out, out
    assert "Traceback" not in out
    assert cpu < 5 and peak_mb < 500, (cpu, peak_mb)
    assert files_under(tmp_path) == before                                # nothing written


@pytest.mark.parametrize("quoted", [False, True], ids=["plain", "quoted"])
def test_a_csv_cell_of_ten_million_characters_is_refused_quickly_in_little_memory(tmp_path, quoted):
    data = tmp_path / "data"
    data.mkdir()
    for name, frame in valid_tables().items():
        frame.to_csv(data / f"{name}.csv", index=False)
    cell = "A" * 10_000_000
    with open(data / "children.csv", "a") as handle:   # rows 2-4 are the three children: this is row 5
        handle.write(f'"{cell}",female,2005-01-01,,\n' if quoted else f"{cell},female,2005-01-01,,\n")
    before = files_under(tmp_path)
    code, out, cpu, peak_mb = run_measured(["validate", str(data)], tmp_path)
    assert code == 1, out
    assert "children.csv, row 5, column child_id" in out and "at most 32,767 characters" in out, out
    assert "10,000,000" in out and "Traceback" not in out
    assert cpu < 5 and peak_mb < 500, (cpu, peak_mb)
    assert files_under(tmp_path) == before


def test_a_long_cell_in_a_provider_export_names_row_and_column(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, KEY)
    lines = EXPORT.read_text().splitlines()
    row = lines[1].split(",")
    row[0] = "B" * 40_000
    export = tmp_path / "export.csv"
    export.write_text("\n".join(lines + [",".join(row)]) + "\n")
    result = runner.invoke(app, ["import", "provider", str(export), "--mapping", str(TEMPLATE),
                                 "--out", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert f"export.csv, row {len(lines) + 1}, column Young Person ID" in result.output
    assert "this one has 40,000" in result.output and not (tmp_path / "out").exists()


# --- YAML, JSON and key files -----------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("a: &x [1, 2]\nb: *x\n", "line 2, column 4: an alias"),
    ("a: " + "[" * 30 + "]" * 30 + "\n", "nesting deeper than 20 levels"),
    ("a: " + "9" * 5000 + "\n", "not valid YAML"),                  # Python refuses int() of over 4,300 digits
    ("a: [1, 2\n", "not valid YAML"),
])
def test_yaml_refusals_are_located(tmp_path, text, expected):
    path = tmp_path / "m.yaml"
    path.write_text(text)
    with pytest.raises(limits.InputTooLarge) as err:
        limits.load_yaml(path)
    assert str(err.value).startswith("m.yaml") and expected in str(err.value)


def test_yaml_size_bound_reads_no_more_than_it_allows(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_YAML_BYTES", 100)
    path = tmp_path / "m.yaml"
    path.write_text("a: 1\n" * 30)
    with pytest.raises(limits.InputTooLarge, match="at most 100 bytes"):
        limits.load_yaml(path)
    path.write_text("a: 1\n")
    assert limits.load_yaml(path) == {"a": 1}                          # anchors alone, and small files, are fine


def test_published_figures_yaml_refuses_aliases(tmp_path):
    path = tmp_path / "figures.yaml"
    path.write_text(f"populations: {{}}\nfigures: {laughs(3)}\n")
    result = runner.invoke(app, ["audit-figures", str(path)])
    assert result.exit_code == 1 and "figures.yaml, line 2" in result.output and "alias" in result.output


def test_deeply_nested_metadata_json_is_a_located_problem(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for name, frame in valid_tables().items():
        frame.to_csv(data / f"{name}.csv", index=False)
    (data / "metadata.json").write_text("[" * 100_000 + "]" * 100_000)
    result = runner.invoke(app, ["validate", str(data)])
    assert result.exit_code == 1 and "metadata.json: expected a readable JSON file" in result.output
    assert "Traceback" not in result.output


def test_a_key_file_larger_than_a_key_is_not_read(tmp_path):
    key = tmp_path / "big.key"
    key.write_bytes(os.urandom(2 * limits.MAX_KEY_BYTES))
    result = runner.invoke(app, ["import", "provider", str(EXPORT), "--mapping", str(TEMPLATE),
                                 "--key-file", str(key), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "a key file holds one key" in result.output
    assert not (tmp_path / "out").exists()


# --- tables: shape counted before parsing -----------------------------------------------------

def csv_folder(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    for name, frame in valid_tables().items():
        frame.to_csv(data / f"{name}.csv", index=False)
    return data


def problems_of(path) -> list[str]:
    with pytest.raises(DatasetError) as err:
        read_raw(path)
    return [str(p) for p in err.value.problems]


def test_a_header_of_a_million_columns_is_refused_before_parsing(tmp_path):
    data = csv_folder(tmp_path)
    head, body = (data / "children.csv").read_text().split("\n", 1)
    (data / "children.csv").write_text(head + ",x" * 1_000_000 + "\n" + body)
    assert problems_of(data) == ["children.csv, row 1 (header row): expected at most 1,000 columns in one table; "
                                 "this one has 1,000,005 (fields in the header row)"]


def test_quoted_commas_in_the_header_are_not_counted_as_columns(monkeypatch):
    monkeypatch.setattr(limits, "MAX_COLUMNS", 3)
    assert limits.csv_shape_problem(b'a,b,"c, with, commas"\n1,2,3\n') is None
    assert "at most 3 columns" in limits.csv_shape_problem(b"a,b,c,d\n1,2,3,4\n")


@pytest.mark.parametrize("bound, value, expected", [
    ("MAX_ROWS", 2, "at most 2 rows in one table; this one has 3 (lines below the header)"),
    ("MAX_CELLS", 10, "at most 10 cells in one table; this one has 15 (3 lines below the header times 5 columns)"),
])
def test_rows_and_cells_are_counted_before_parsing(tmp_path, monkeypatch, bound, value, expected):
    monkeypatch.setattr(limits, bound, value)
    assert f"children.csv, row 1 (header row): expected {expected}" in problems_of(csv_folder(tmp_path))


def test_a_row_of_a_million_fields_is_named_not_held(tmp_path):
    data = csv_folder(tmp_path)
    with open(data / "children.csv", "a") as handle:
        handle.write('"c9",female,2005-01-01,,' + "ab," * 1_000_000 + "\n")    # quoted: read by the csv module
    assert any(p.startswith("children.csv, row 5, column field 6 (beyond the header): expected 5 fields")
               for p in problems_of(data))


def parquet_folder(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    for name, frame in valid_tables().items():
        pq.write_table(pa.Table.from_pandas(frame.astype(str), preserve_index=False), data / f"{name}.parquet")
    return data


def test_parquet_rows_are_counted_from_the_footer_before_reading(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_ROWS", 1000)
    data = parquet_folder(tmp_path)
    codes = pa.DictionaryArray.from_arrays(pa.array([0] * 5000, pa.int32()), pa.array(["R1"]))
    pq.write_table(pa.table({"rhi_id": codes, "indicator": codes}), data / "disclosures.parquet")
    assert problems_of(data) == ["disclosures.parquet: expected at most 1,000 rows in one table; this one has 5,000"]


def test_a_long_value_repeated_by_a_parquet_dictionary_is_measured_once(tmp_path):
    data = parquet_folder(tmp_path)
    indices = pa.array([0, 0, 1, 0], pa.int32())
    rhi = pa.DictionaryArray.from_arrays(indices, pa.array(["R1", "R" * 1_000_000]))
    indicator = pa.DictionaryArray.from_arrays(pa.array([0] * 4, pa.int32()), pa.array(["cse_victim"]))
    pq.write_table(pa.table({"rhi_id": rhi, "indicator": indicator}), data / "disclosures.parquet")
    found = problems_of(data)
    assert len(found) == 1 and found[0].startswith("disclosures.parquet, row 3, column rhi_id: value 'RRRR")
    assert "this one has 1,000,000" in found[0]


def test_parquet_that_decompresses_beyond_the_bound_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_UNPACKED_BYTES", 100_000)
    data = parquet_folder(tmp_path)
    table = pa.table({"rhi_id": ["R" * 1000] * 200, "indicator": ["cse_victim"] * 200})
    pq.write_table(table, data / "disclosures.parquet", use_dictionary=False, compression="zstd")
    assert (data / "disclosures.parquet").stat().st_size < 5_000               # small on disk
    [found] = problems_of(data)
    assert found.startswith("disclosures.parquet: expected a Parquet file whose columns take at most 100,000 bytes")


def workbook(tmp_path: Path) -> Path:
    path = tmp_path / "study.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for name, frame in valid_tables().items():
            frame.to_excel(writer, sheet_name=name, index=False)
    return path


def test_a_workbook_that_unpacks_beyond_the_bound_is_not_unpacked(tmp_path, monkeypatch):
    path = workbook(tmp_path)
    total = sum(i.file_size for i in zipfile.ZipFile(path).infolist())
    monkeypatch.setattr(limits, "MAX_UNPACKED_BYTES", total - 1)
    assert problems_of(path) == [f"study.xlsx: expected an .xlsx workbook that unpacks to at most {total - 1:,} "
                                 f"bytes; this one unpacks to {total:,}"]


def test_a_sheet_wider_than_the_bound_stops_being_read_at_its_row(tmp_path):
    import openpyxl

    path = workbook(tmp_path)
    book = openpyxl.load_workbook(path)
    book["episodes"]["ALN3"] = "x"           # column 1,002
    book.save(path)
    assert problems_of(path) == ["study.xlsx, sheet episodes, row 3: expected at most 1,000 columns in one table; "
                                 "this one has 1,002 (reading stopped at this row)"]


def test_a_long_cell_in_a_workbook_is_located(tmp_path):
    """Written into the sheet's XML: openpyxl cuts a value to Excel's limit when a program sets it, not when it
    reads one, so a workbook written otherwise can hold more."""
    path = workbook(tmp_path)
    edited = tmp_path / "edited.xlsx"
    with zipfile.ZipFile(path) as old, zipfile.ZipFile(edited, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():   # 2004-02 is the date of birth of the second child (row 3)
            new.writestr(info.filename, old.read(info.filename).replace(b">2004-02<", b">" + b"9" * 40_000 + b"<"))
    [found] = problems_of(edited)
    assert found.startswith("edited.xlsx, sheet children, row 3, column date_of_birth: value '9999")
    assert "this one has 40,000" in found


# --- a large valid file still loads: the bounds against the national synthetic dataset -----------

def test_the_bounds_leave_room_for_the_national_dataset():
    """`rhi synth --scale national`: about 200,000 episodes a year; every bound at least 10 times its use, and
    sixteen years of it (the largest size the benchmarks load, benchmarks/run.py) at most half of each bound: the
    30,000,000-cell bound once refused the benchmark's own 16 years (3.2 million episodes, 39 million cells)."""
    from analysis.synth.national import generate_national

    tables = generate_national(2019, 1)
    for name, frame in tables.items():
        rows, columns = frame.shape
        assert rows * 10 < limits.MAX_ROWS and columns * 10 < limits.MAX_COLUMNS, name
        assert rows * columns * 10 < limits.MAX_CELLS, name
        assert 16 * rows * 2 < limits.MAX_ROWS and 16 * rows * columns * 2 < limits.MAX_CELLS, name
        longest = max((frame[c].astype(str).str.len().max() for c in frame.columns), default=0)
        assert longest * 10 < limits.MAX_CELL_CHARS, name
