"""The pinned environment: environment.yml (conda) lists the same versions as requirements.lock (pip/uv)."""

from __future__ import annotations

import importlib.metadata as md
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from sync_environment import direct_requirements, lock_versions  # noqa: E402


def conda_pins() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pins = {}
    deps = []
    for dep in env["dependencies"]:
        deps += dep["pip"] if isinstance(dep, dict) else [dep]    # pip-only packages, pinned the same way
    for dep in deps:
        if isinstance(dep, str) and "=" in dep and not dep.startswith("python="):
            name, version = re.split(r"=+", dep, maxsplit=1)
            pins[name.lower()] = version
    return pins


def test_environment_yml_matches_lock():
    lock, conda = lock_versions(), conda_pins()
    assert conda, "environment.yml pins nothing"
    mismatched = {name: (version, lock.get(name)) for name, version in conda.items() if lock.get(name) != version}
    assert not mismatched, f"environment.yml and requirements.lock disagree (yml, lock): {mismatched}"


def test_every_direct_requirement_is_pinned_in_both():
    lock, conda = lock_versions(), conda_pins()
    for name in direct_requirements():
        assert name in lock, f"{name} is not pinned in requirements.lock"
        assert name in conda, f"{name} is missing from environment.yml"


def test_lock_pins_every_line_with_a_hash():
    text = (ROOT / "requirements.lock").read_text()
    assert "--hash=sha256:" in text
    pinned = [line for line in text.splitlines() if re.match(r"^[A-Za-z0-9]", line)]
    assert all("==" in line for line in pinned)


def test_installed_versions_are_the_locked_ones():
    lock = lock_versions()
    for name in ("pandas", "numpy", "scipy", "statsmodels", "papermill"):
        assert md.version(name) == lock[name], f"{name}: installed {md.version(name)}, locked {lock[name]}"
