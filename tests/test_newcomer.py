"""A newcomer's path without surprises: what `make test` says without Chromium, what a run says without its
PDF, messages reached through make naming the make variables, and --jobs outside 1..cores refused."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from analysis.cli import app
from analysis.invocation import ENV, as_invoked
from analysis.render import browser
from analysis.run import batch

ROOT = Path(__file__).resolve().parents[1]
MAKE = shutil.which("make")
runner = CliRunner()


def makefile_value(name: str) -> str:
    match = re.search(rf"^{name}\s*:?=\s*(.+)$", (ROOT / "Makefile").read_text(), re.M)
    assert match, name
    return match.group(1).strip()


# --- make test without Chromium ---------------------------------------------------------------

def test_make_looks_for_the_same_browsers_as_the_tests():
    assert makefile_value("CHROMIUM_NAMES").split() == list(browser.CANDIDATES)


@pytest.mark.skipif(MAKE is None, reason="make is not installed")
def test_make_test_says_at_once_what_to_install_when_chromium_is_missing(tmp_path):
    bare = tmp_path / "bin"
    bare.mkdir()
    env = {**os.environ, "PATH": str(bare)}           # no chromium, nothing else either
    said = subprocess.run([MAKE, "-s", "-C", str(ROOT), "browser-check"], env=env, capture_output=True, text=True)
    assert said.returncode == 0
    first = said.stdout.splitlines()
    assert first[0].startswith("make test: Chromium is not installed") and "SKIPPED" in first[0]
    assert "sudo apt-get install chromium" in first[1]
    fake = bare / "chromium"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    said = subprocess.run([MAKE, "-s", "-C", str(ROOT), "browser-check"], env=env, capture_output=True, text=True)
    assert said.returncode == 0 and said.stdout == ""


def test_make_test_checks_the_browser_before_anything_else():
    for target in ("test", "test-fast"):
        line = re.search(rf"^{target}:(.*)$", (ROOT / "Makefile").read_text(), re.M).group(1).split()
        assert line[0] == "browser-check", target


# --- a run without its PDF says why -------------------------------------------------------------

def test_a_run_level_report_without_chromium_records_why_it_has_no_pdf(monkeypatch):
    monkeypatch.setattr(browser, "find_chromium", lambda: None)
    assert batch._pdf_outcome("all", {}) == f"not printed: {browser.INSTALL_HINT}"
    assert batch._pdf_outcome("compare", {}) == f"not printed: {browser.INSTALL_HINT}"
    assert batch._pdf_outcome("E08000001", {}) is None                  # authorities' reports have no PDF
    assert batch._pdf_outcome("all", {"pdf": {"file": "report.pdf"}}) == "report.pdf"
    assert batch._pdf_outcome("all", {"pdf": {"file": None, "error": "Chromium did not finish within 180s"}}) \
        == "not printed: Chromium did not finish within 180s"


def test_the_batch_summary_says_why_a_pdf_is_missing(monkeypatch, tmp_path):
    record = {"summary": {"ok": 1, "reports": 1, "failed": []}, "duration_s": 1.0,
              "reports": {"all": {"reused": False, "pdf": f"not printed: {browser.INSTALL_HINT}"}},
              "publication": {"cells": 1, "primary": 0, "secondary": 0}, "disclosure_audit": {"ok": True},
              "verdict": {"text": "Safe to publish."}}
    monkeypatch.setattr(batch, "run_batch", lambda *a, **k: record)
    result = runner.invoke(app, ["batch", str(tmp_path), "--out", str(tmp_path / "run")])
    assert result.exit_code == 0
    assert ("No PDF of all/report.html: Chromium was not found. Install it with: sudo apt-get install chromium "
            "(Debian/Ubuntu). The HTML report and its spreadsheet are complete without it.") in result.output


# --- --jobs ----------------------------------------------------------------------------------

@pytest.mark.parametrize("jobs", ["0", "-1", str(batch.usable_cores() + 1)])
def test_jobs_outside_one_to_the_cores_is_refused_before_anything_is_read(tmp_path, jobs):
    out = tmp_path / "run"
    result = runner.invoke(app, ["batch", str(tmp_path / "no-such-data"), "--out", str(out), "--jobs", jobs])
    assert result.exit_code == 2
    assert f"--jobs {jobs}: expected a number of parallel jobs from 1 to {batch.usable_cores()}" in result.output
    assert "Traceback" not in result.output and not out.exists()


def test_jobs_within_bounds_and_the_default_pass_the_check():
    assert batch.check_jobs(None) == batch.usable_cores()
    assert batch.check_jobs(1) == batch.check_jobs(batch.usable_cores()) == batch.usable_cores()


# --- messages reached through make name the make variables --------------------------------------

def test_as_invoked_rewrites_only_the_flags_make_set(monkeypatch):
    monkeypatch.setenv(ENV, "--la-code=LA --key-file=KEY")
    assert as_invoked("--la-code 'X': expected a GSS code; pass it with --la-code (e.g. --la-code E08000025)") == \
        "LA='X': expected a GSS code; pass it with LA= (e.g. LA=E08000025)"
    assert as_invoked("--key-file /k: no such file; --la-codes and --mapping stay") == \
        "KEY=/k: no such file; --la-codes and --mapping stay"
    monkeypatch.delenv(ENV)
    assert as_invoked("--la-code 'X'") == "--la-code 'X'"               # run by hand: the flags


def test_the_makefile_maps_every_flag_it_passes_to_its_variable():
    names = dict(pair.split("=") for pair in makefile_value("MAKE_NAMES").split('"')[1].split())
    recipe = (ROOT / "Makefile").read_text()
    for flag, variable in names.items():
        assert re.search(rf"\$\(if \$\({variable}\),{flag} \$\({variable}\),\)", recipe), (flag, variable)
    assert set(names) == {"--jobs", "--la-code", "--key-file", "--mapping"}


@pytest.mark.skipif(MAKE is None, reason="make is not installed")
def test_make_import_report_errors_name_the_make_variables(tmp_path):
    """The real recipe: a bad LA=, then a missing KEY=, then a missing MAPPING=; nothing is written."""
    name = "never-written-by-test-newcomer"
    source = ROOT / "tests" / "fixtures" / "import" / "ssda903" / "good"

    def make(*variables):
        env = {k: v for k, v in os.environ.items() if k != "RHI_PSEUDONYM_KEY"}
        done = subprocess.run([MAKE, "-s", "-C", str(ROOT), "import-report", f"NAME={name}", *variables],
                              env=env, capture_output=True, text=True, timeout=600)
        return done.returncode, done.stdout + done.stderr

    key = tmp_path / "rhi.key"
    key.write_text("9f591fcac152c058f016d7f2211af836ee066cb125b056fef3fc099e7a849b52\n")
    code, out = make("FORMAT=ssda903", f"SOURCE={source}", "LA=E0800002", f"KEY={key}")
    assert code != 0 and "rhi import: LA='E0800002': expected a GSS local authority code" in out, out
    code, out = make("FORMAT=ssda903", f"SOURCE={source}", "LA=E08000025", f"KEY={tmp_path / 'none.key'}")
    assert code != 0 and f"rhi import: KEY={tmp_path / 'none.key'}: no such file" in out, out
    code, out = make("FORMAT=provider", f"SOURCE={ROOT / 'examples' / 'provider_export_example.csv'}",
                     f"MAPPING={tmp_path / 'none.yaml'}", f"KEY={key}")
    assert code != 0 and f"rhi import: MAPPING={tmp_path / 'none.yaml'}: no such file" in out, out
    for message in (out,):
        assert "--la-code" not in message and "--key-file" not in message and "--mapping" not in message
    assert not (ROOT / "data" / "processed" / name).exists() and not (ROOT / "reports" / name).exists()


def test_jobs_through_make_is_named_jobs(monkeypatch, tmp_path):
    monkeypatch.setenv(ENV, makefile_value("MAKE_NAMES").split('"')[1])
    result = runner.invoke(app, ["batch", str(tmp_path), "--out", str(tmp_path / "run"), "--jobs", "0"])
    assert result.exit_code == 2 and "JOBS=0: expected a number of parallel jobs" in result.output


# --- the import summary does not contradict itself ---------------------------------------------

def test_a_903_return_without_episodes_of_care_says_plainly_what_is_not_derived(tmp_path, monkeypatch):
    """The summary listed "Derived: episodes.legal_status" beside "legal status ... not derived": the second
    is the 903 code (LS), the first the contract's looked_after, and the warning now says which."""
    from analysis.importers.pseudonymise import ENV_VAR

    monkeypatch.setenv(ENV_VAR, "9f591fcac152c058f016d7f2211af836ee066cb125b056fef3fc099e7a849b52")
    source = ROOT / "tests" / "fixtures" / "import" / "ssda903" / "good"
    assert not (source / "Episodes.csv").exists()
    result = runner.invoke(app, ["import", "ssda903", str(source), "--out", str(tmp_path / "o"),
                                 "--la-code", "E09000002"])
    assert result.exit_code == 0, result.output
    derived = next(line for line in result.output.splitlines() if line.startswith("Derived: "))
    assert "episodes.legal_status" in derived
    warning = next(line for line in result.output.splitlines() if "no Episodes.csv" in line)
    assert "903 legal status code (LS)" in warning and "episodes.legal_status is looked_after all the same" in warning
    assert "legal status, placement and setting are not derived" not in warning    # the old, contradicting words


# --- the README matches the tool ---------------------------------------------------------------

def readme_commands() -> list[str]:
    """Every command line in the README: code blocks, and the first column of the command table."""
    text = (ROOT / "README.md").read_text()
    lines = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        lines += [line.split("#")[0].strip() for line in block.splitlines() if line.strip() and not line.startswith("#")]
    lines += [m.replace("\\|", "|") for m in re.findall(r"^\| `([^`]+)` \|", text, re.M)]
    return lines


def test_every_rhi_command_and_flag_in_the_readme_exists():
    import typer.main

    group = typer.main.get_command(app)
    seen = 0
    for line in readme_commands():
        for part in line.split("&&"):
            words = part.split()
            if not words or not words[0].endswith("rhi"):
                continue
            name = words[1]
            assert name in group.commands, line
            options = {o for p in group.commands[name].params for o in getattr(p, "opts", [])}
            options |= {o for p in group.commands[name].params for o in getattr(p, "secondary_opts", [])}
            for flag in re.findall(r"(?<![\w-])--[a-z][a-z-]*", part):
                assert flag in options, (flag, line)
            seen += 1
    assert seen >= 14   # the four example lines and every rhi row of the command table


def test_the_readme_lists_every_import_format():
    from analysis.importers import FORMATS

    row = next(line for line in readme_commands() if line.startswith("rhi import "))
    assert set(row.split()[2].split("|")) == set(FORMATS)


def test_every_make_target_and_variable_in_the_readme_exists():
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][\w-]*):", makefile, re.M))
    for line in readme_commands():
        for part in line.split("&&"):
            words = part.split()
            if words[:1] != ["make"]:
                continue
            for word in words[1:]:
                if "=" in word:
                    assert f"$({word.split('=')[0]})" in makefile, (word, line)
                else:
                    assert word in targets, (word, line)


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(), reason="not a git checkout")
def test_files_the_readme_has_you_make_are_where_git_ignores_them():
    """A mapping or extract in the project's own folders would mark every report "with uncommitted changes"."""
    made = set()
    for line in readme_commands():
        made |= set(re.findall(r"(?:SOURCE|MAPPING)=(\S+)", line))
        made |= set(re.findall(r"rhi import \S+ (\S+)", line)) | set(re.findall(r"--mapping (\S+)", line))
    made = {m for m in made if not re.fullmatch(r"[A-Z.\]\[]+", m)}   # placeholders: SOURCE, FILE], ...
    assert made and all(m.startswith("data/raw/") for m in made), made
    ignored = subprocess.run(["git", "check-ignore", *sorted(made)], cwd=ROOT, capture_output=True, text=True)
    assert set(ignored.stdout.split()) == made
