"""Record-level properties of the synthetic study data, and the ``rhi synth`` command.

The replication tests check totals; these check that the records behave like
real ones: heavy-tailed repeat missing, short episodes, RHIs addressing
several episodes, legal status changing between RHIs, co-occurring
disclosures, plausible ages and dates, and nothing set aside by validation.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from analysis.synth.calibration import Calibration, CalibrationError, admissible_counts
from analysis.cli import app
from analysis.reference.dfe import load_dfe
from analysis.dataset.io import write_dataset
from analysis.definitions.populations import Populations
from analysis.synth.command import generate, write_synthetic
from analysis.synth.plan import spread
from analysis.dataset.validate import load_dataset


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return write_synthetic(tmp_path_factory.mktemp("synth"), seed=2019)


@pytest.fixture(scope="module")
def ds(folder):
    return load_dataset(folder)


@pytest.fixture(scope="module")
def pop(ds):
    return Populations(ds)


def digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_same_seed_gives_byte_identical_files(folder, tmp_path):
    again = write_synthetic(tmp_path / "again", seed=2019)
    assert digest(again) == digest(folder)
    other = write_synthetic(tmp_path / "other", seed=2020)
    assert digest(other)["episodes.csv"] != digest(folder)["episodes.csv"]


def test_metadata_marks_the_data_synthetic(folder):
    meta = json.loads((folder / "metadata.json").read_text())
    assert meta["synthetic"] is True and meta["scale"] == "study" and meta["seed"] == 2019


def test_nothing_is_set_aside(ds):
    for name in ("episodes", "rhi_episodes", "disclosures"):
        assert getattr(ds, name)["set_aside"].isna().all(), name


def test_authority_codes_are_fictitious(ds):
    real = set(load_dfe()["la_code"].astype(str))
    assert len(ds.la_codes) == 3
    assert not set(ds.la_codes) & real


def test_repeat_missing_is_heavy_tailed(pop):
    per_child = pop.in_scope.groupby("child_id").size()
    assert (per_child == 1).mean() > 0.4                 # most children go missing once or twice
    assert (per_child <= 2).mean() > 0.6
    heavy = per_child[per_child >= 15]
    assert len(heavy) == 16 and heavy.max() == 45 and heavy.sum() == 337
    assert heavy.nunique() > 5                          # a tail, not a block of identical children


def test_most_episodes_end_within_two_days(ds):
    eps = ds.episodes.dropna(subset=["missing_end"])
    hours = (eps["missing_end"] - eps["missing_start"]).dt.total_seconds() / 3600
    assert (hours < 48).mean() > 0.75
    assert (hours > 0).all()
    assert ds.episodes["missing_end"].isna().sum() < 10   # a few still missing at the end of the extract


def test_a_child_is_never_missing_twice_at_once(ds):
    eps = ds.episodes.sort_values(["child_id", "missing_start"])
    previous_end = eps.groupby("child_id")["missing_end"].shift()
    assert not (eps["missing_start"] < previous_end).any()


def test_rhis_address_several_episodes_after_they_ended(ds, pop):
    sizes = pop.links.groupby("rhi_id").size()
    assert (sizes >= 2).sum() >= 50 and sizes.max() >= 4
    links = ds.rhi_episodes.merge(ds.rhis[["rhi_id", "status", "completed_at", "offered_at"]], on="rhi_id") \
        .merge(ds.episodes[["episode_id", "missing_end"]], on="episode_id")
    done = links[links["status"] == "completed"]
    assert (done["completed_at"] > done["missing_end"]).all()
    assert (done["offered_at"] <= done["completed_at"]).all()


def test_a_declined_offer_is_sometimes_followed_by_an_interview(ds):
    links = ds.rhi_episodes.merge(ds.rhis[["rhi_id", "status"]], on="rhi_id")
    both = links.groupby("episode_id")["status"].agg(set)
    assert sum({"declined", "completed"} <= s for s in both) >= 10
    assert ds.rhis.loc[ds.rhis["status"] == "declined", "decline_reason"].notna().all()


def test_legal_status_changes_between_rhis(pop):
    cohorts = pop.rhis.groupby("child_id")["cohort"].nunique()
    changed = cohorts[cohorts > 1].index
    assert len(changed) == 9
    for child in changed:
        rhis = pop.rhis[pop.rhis["child_id"] == child].sort_values("completed_at")
        assert rhis["cohort"].iloc[0] != rhis["cohort"].iloc[-1]


def test_disclosures_co_occur(pop):
    m = pop.child_indicators
    assert m.loc[m["cce_victim"], "cse_victim"].sum() == 8 and m["cce_victim"].sum() == 18
    assert m.loc[m["cse_victim"], "cse_red_flag_any"].mean() > 0.7
    assert m.loc[m["self_harm_risk"], "mental_health"].mean() > m["mental_health"].mean() * 1.5
    assert m.loc[m["alcohol_misuse"], "substance_misuse"].mean() > m["substance_misuse"].mean() * 1.3
    red = m[["rf_older_associates", "rf_friends_exploited", "rf_unexplained_gifts", "rf_gang_association",
             "rf_recruiting_others"]]
    assert (red.any(axis=1) == m["cse_red_flag_any"]).all()
    assert (red.sum(axis=1) >= 2).sum() > 10


def test_ages_are_plausible_and_fixed_within_the_period(ds):
    eps = ds.episodes
    assert eps["age"].between(8, 17).all()
    assert (eps.groupby("child_id")["age"].nunique() == 1).all()
    assert eps["missing_start"].min() >= pd.Timestamp("2017-07-01")
    assert eps["missing_start"].max() < pd.Timestamp("2018-04-01")


def test_settings_and_other_fields_for_the_delivery_indicators(ds):
    assert set(ds.episodes["missing_from"].dropna()) == {"home", "care_in_area", "care_out_of_area"}
    assert ds.episodes["found_location"].notna().mean() > 0.6
    assert set(ds.rhis["status"]) == {"completed", "declined", "no_contact", "accepted_not_completed", "not_offered"}
    assert ds.rhis.loc[ds.rhis["status"] == "not_offered", "offered_at"].isna().all()


@pytest.mark.parametrize("fmt", ["parquet", "xlsx"])
def test_other_formats_load_to_the_same_records(tmp_path, ds, fmt):
    written = write_synthetic(tmp_path / "out", seed=2019, fmt=fmt)
    other = load_dataset(written)
    assert len(other.episodes) == len(ds.episodes)
    assert other.episodes["episode_id"].tolist() == ds.episodes["episode_id"].tolist()


def tree(root) -> dict[str, bytes]:
    """Every file under root (relative path -> bytes)."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("fmt", ["csv", "parquet", "xlsx"])
def test_rhi_synth_twice_gives_the_same_bytes_in_every_format(tmp_path, fmt):
    runner = CliRunner()
    for run in ("one", "two"):
        result = runner.invoke(app, ["synth", "--out", str(tmp_path / run), "--seed", "7", "--format", fmt])
        assert result.exit_code == 0, result.output
    first, second = tree(tmp_path / "one"), tree(tmp_path / "two")
    expected = {"csv": {"children.csv", "episodes.csv", "rhis.csv", "rhi_episodes.csv", "disclosures.csv",
                        "metadata.json"},
                "parquet": {"children.parquet", "episodes.parquet", "rhis.parquet", "rhi_episodes.parquet",
                            "disclosures.parquet", "metadata.json"},
                "xlsx": {"synthetic.xlsx"}}[fmt]
    assert set(first) == expected
    assert first == second


def test_the_synthetic_flag_travels_with_the_data_in_every_format(tmp_path):
    from analysis.dataset.io import read_raw
    from analysis.dataset.metadata import dataset_metadata, is_synthetic

    tables = generate("study", seed=5)
    meta = {"synthetic": True, "seed": 5, "years": None, "note": "invented"}
    csv = write_dataset(tables, tmp_path / "csv", metadata=meta)
    parquet = write_dataset(tables, tmp_path / "parquet", fmt="parquet", metadata=meta)
    book = write_dataset(tables, tmp_path / "book" / "data.xlsx", fmt="xlsx", metadata=meta)
    for path in (csv, parquet, book):
        assert dataset_metadata(path) == meta and is_synthetic(path), path
    (parquet / "metadata.json").unlink()            # each Parquet file still carries it
    assert is_synthetic(parquet) and is_synthetic(parquet / "episodes.parquet")
    assert sorted(p.name for p in (tmp_path / "book").iterdir()) == ["data.xlsx"]   # nothing beside it
    assert "metadata" not in read_raw(book)         # the metadata sheet is not a data table
    assert len(load_dataset(book).episodes) == len(tables["episodes"])


def test_a_real_dataset_is_not_marked_synthetic_by_a_file_beside_it(tmp_path):
    from analysis.dataset.metadata import is_synthetic

    tables = generate("study", seed=5)
    real = write_dataset(tables, tmp_path / "real.xlsx", fmt="xlsx")
    (tmp_path / "metadata.json").write_text(json.dumps({"synthetic": True}))
    assert not is_synthetic(real)
    folder = write_dataset(tables, tmp_path / "folder")
    assert not is_synthetic(folder)
    (folder / "metadata.json").write_text("{not json")   # unreadable metadata: treated as real data
    assert not is_synthetic(folder)
    (folder / "metadata.json").write_text(json.dumps({"synthetic": "false"}))
    assert not is_synthetic(folder)


@pytest.mark.parametrize("out, written", [("X", "X/synthetic.xlsx"), ("X.xlsx", "X.xlsx"),
                                          ("deep/er/X.XLSX", "deep/er/X.XLSX")])
def test_synth_xlsx_writes_inside_out_only(tmp_path, out, written):
    base = tmp_path / "base"
    base.mkdir()
    result = CliRunner().invoke(app, ["synth", "--out", str(base / out), "--format", "xlsx"])
    assert result.exit_code == 0, result.output
    assert set(tree(base)) == {written}


def test_cli_synth_writes_and_rejects_bad_options(tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["synth", "--out", str(tmp_path / "d"), "--seed", "3"])
    assert result.exit_code == 0 and (tmp_path / "d" / "episodes.csv").exists()
    bad = runner.invoke(app, ["synth", "--out", str(tmp_path / "e"), "--scale", "county"])
    assert bad.exit_code == 2 and "--scale must be one of" in bad.output and "Traceback" not in bad.output
    bad = runner.invoke(app, ["synth", "--out", str(tmp_path / "e"), "--format", "json"])
    assert bad.exit_code == 2 and "--format" in bad.output


def test_other_seeds_are_calibrated_too(tmp_path):
    from analysis.reference.compare import compare_figures, load_reference
    from analysis.disclosure import Disclosure
    from analysis.definitions.figures import compute_figures

    write_dataset(generate("study", seed=11), tmp_path)
    table = compare_figures(compute_figures(load_dataset(tmp_path), control=Disclosure(suppress=False)),
                            load_reference())
    assert set(table.loc[table["status"] != "matches", "id"]) == {"high_share_of_coded"}


# --- calibration arithmetic, worked by hand --------------------------------------------------------

def test_admissible_counts_by_hand():
    assert admissible_counts(33, 7, 0) == []            # 2/7 = 28.6%, 3/7 = 42.9%
    assert admissible_counts(13, 80, 0) == [10]         # 10/80 = 12.5% rounds half up to 13
    assert admissible_counts(92.5, 1490, 1) == [1378]   # 1378/1490 = 92.48%; 1379 gives 92.55% -> 92.6
    assert admissible_counts(3.5, 1490, 1) == [52]      # so 51 (3.42%) cannot print as 3.5%


def test_calibration_prefers_the_printed_count_and_nearest_count():
    cal = Calibration()
    assert cal.count("cohort_looked_after") == 80
    assert cal.count("cse_victim") in (29, 30) and cal.count("cse_victim") == 30   # 14% of 214 = 29.96
    assert cal.count_allowing("cce_victim", 214, "cse_among_cce_victims") == 18   # 17 allows no 44%
    with pytest.raises(CalibrationError):
        cal.count("cse_among_cce_victims", 17)


def test_spread_allocates_exactly_within_bounds():
    rng = np.random.default_rng(0)
    counts = spread(rng, 100, 30, 2, 14)
    assert counts.sum() == 100 and counts.min() >= 2 and counts.max() <= 14
    with pytest.raises(CalibrationError):
        spread(rng, 10, 30, 2, 14)
