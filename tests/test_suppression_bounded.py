"""The bounded check for large components (suppression._unprotected, ``large``) never leaves a cell unprotected.

On a national run, components of thousands of hidden cells get witnesses only:
a cell no witness reaches is hidden around as if unprotected, without a proof.
Here every component counts as large, so that path decides every cell of a
small publication; the independent attacker (analysis.attack, which shares no
code with the suppression) must find no leak, and the publication must say how
many decisions were made without a proof.
"""

from __future__ import annotations

import json

import pytest

from analysis.attack import audit_publication
from analysis.dataset.io import write_dataset
from analysis.dataset.validate import load_dataset
from analysis.definitions.populations import Params
from analysis.disclosure import Disclosure
from analysis.publish import suppression
from analysis.publish.build import build_publication
from analysis.publish.files import write_publication
from analysis.synth.command import generate_study


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return load_dataset(write_dataset(generate_study(seed=11), tmp_path_factory.mktemp("bounded") / "data"))


def test_every_component_bounded_still_protects_every_small_count(dataset, tmp_path, monkeypatch):
    scopes = ["all", *sorted(dataset.la_codes)[:1]]
    exact = build_publication(dataset, Params(), scopes, Disclosure())
    monkeypatch.setattr(suppression, "LARGE", 0)   # every component is "large"
    bounded = build_publication(dataset, Params(), scopes, Disclosure())
    assert bounded.protection.primary == exact.protection.primary
    assert bounded.protection.unproven > 0, "the bounded path was not exercised"
    assert bounded.summary()["hidden_without_exact_check"] == bounded.protection.unproven
    assert "hidden_without_exact_check" not in exact.summary()
    folder = write_publication(bounded, tmp_path / "publication", "201718")
    assert json.loads((folder / "publication.json").read_text())["hidden_without_exact_check"] > 0
    result = audit_publication(folder)
    assert result.ok, f"{len(result.leaks)} leak(s) after the bounded check"
    assert result.suppressed == len(bounded.protection.hidden)
