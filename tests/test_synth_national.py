"""The national synthetic data: sized from the real DfE figures, valid, plausible, fast enough."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.dataset.io import write_dataset
from analysis.synth.national import authority_sizes, dfe_csv, generate_national
from analysis.dataset.validate import load_dataset

SEED = 11


@pytest.fixture(scope="module")
def tables():
    return generate_national(SEED, 1)


@pytest.fixture(scope="module")
def ds(tables, tmp_path_factory):
    return load_dataset(write_dataset(tables, tmp_path_factory.mktemp("national")))


@pytest.fixture(scope="module")
def dfe_latest():
    frame = pd.read_csv(dfe_csv(), dtype=str, keep_default_na=False)
    return frame[(frame["geographic_level"] == "Local authority") & (frame["year"] == "2024")]


def test_every_authority_of_the_latest_dfe_year_is_present(tables, dfe_latest):
    assert len(dfe_latest) == 153
    assert set(tables["episodes"]["la_code"]) == set(dfe_latest["la_code_latest"])


def test_looked_after_part_matches_the_published_dfe_figures(tables, dfe_latest):
    eps = tables["episodes"]
    lac = eps[eps["missing_from"] != "home"]
    per_la_eps = lac.groupby("la_code").size()
    per_la_children = lac.groupby("la_code")["child_id"].nunique()
    numeric = dfe_latest[dfe_latest["missing_incidents"].str.fullmatch(r"\d+")
                         & dfe_latest["children_who_went_missing"].str.fullmatch(r"\d+")]
    assert len(numeric) == 149  # 4 authorities show c or z in 2024
    for row in numeric.itertuples():
        assert per_la_eps.get(row.la_code_latest, 0) == int(row.missing_incidents), row.la_name
        assert per_la_children.get(row.la_code_latest, 0) == int(row.children_who_went_missing), row.la_name


def test_suppressed_dfe_values_become_small_documented_numbers():
    sizes = authority_sizes()
    sup = sizes[sizes["dfe_suppressed"]]
    assert len(sup) == 4
    assert (sup["lac_children"] == 3).all()
    assert (sup["lac_episodes"] >= sup["lac_children"]).all() and (sup["lac_episodes"] <= 30).all()
    assert (sizes["other_children"] >= 5).all() and (sizes["other_episodes"] >= sizes["other_children"]).all()


def test_about_two_hundred_thousand_episodes_a_year(tables):
    assert 180_000 <= len(tables["episodes"]) <= 230_000
    assert 55_000 <= len(tables["children"]) <= 75_000


def test_tables_are_text_as_a_csv_holds_them(tables):
    for name, frame in tables.items():
        assert not frame.isna().any().any(), name
        for column in frame.columns:
            assert frame[column].map(type).eq(str).all(), (name, column)


def test_valid_under_the_contract_with_nothing_set_aside(ds, tables):
    assert len(ds.episodes) == len(tables["episodes"])
    assert ds.episodes["set_aside"].isna().all()
    assert ds.rhi_episodes["set_aside"].isna().all()
    assert ds.disclosures["set_aside"].isna().all()


def test_children_aged_10_to_17_and_dates_within_the_year(ds):
    assert ds.episodes["age"].min() >= 10 and ds.episodes["age"].max() <= 17
    start = ds.episodes["missing_start"]
    assert start.min() >= pd.Timestamp("2023-04-01") and start.max() < pd.Timestamp("2024-04-01")
    ended = ds.episodes["missing_end"].dropna()
    assert (ended >= start.loc[ended.index]).all()


def test_plausible_rates(ds):
    eps, rhis = ds.episodes, ds.rhis
    risk = eps["police_risk"].value_counts(dropna=False, normalize=True)
    assert risk.idxmax() == "medium" and 0.45 < risk["medium"] < 0.65
    assert 0.10 < eps["police_risk"].isna().mean() < 0.20
    completed_eps = ds.rhi_episodes[ds.rhi_episodes["rhi_id"].isin(rhis.loc[rhis["status"] == "completed", "rhi_id"])]
    share = completed_eps["episode_id"].nunique() / len(eps)
    assert 0.45 < share < 0.62
    per_rhi = ds.disclosures.groupby("rhi_id").size().reindex(
        rhis.loc[rhis["status"] == "completed", "rhi_id"], fill_value=0)
    assert 0.8 < per_rhi.mean() < 3
    assert set(ds.disclosures["rhi_id"]) <= set(rhis.loc[rhis["status"] == "completed", "rhi_id"])


def test_heavy_tailed_episodes_per_child(ds):
    per_child = ds.episodes.groupby("child_id").size()
    assert per_child.median() <= 2
    assert per_child.quantile(0.99) >= 15
    assert per_child.max() >= 50 * per_child.median()


def test_some_rhis_address_more_than_one_episode(ds):
    per_rhi = ds.rhi_episodes.groupby("rhi_id").size()
    assert (per_rhi == 2).sum() > 1000


def test_several_years_are_consecutive_with_unique_ids():
    two = generate_national(SEED, 2)
    eps = two["episodes"]
    assert eps["episode_id"].is_unique and two["children"]["child_id"].is_unique
    assert two["rhis"]["rhi_id"].is_unique
    years = pd.to_datetime(eps["missing_start"]).dt.to_period("Q-MAR").dt.qyear
    assert sorted(years.unique()) == [2023, 2024]
    counts = years.value_counts()
    assert abs(counts[2023] - counts[2024]) < 0.05 * counts.mean()


def test_years_must_be_positive():
    with pytest.raises(ValueError):
        generate_national(1, 0)


def test_seed_changes_the_data_not_the_sizes():
    a, b = generate_national(1, 1), generate_national(2, 1)
    assert not a["episodes"]["missing_start"].equals(b["episodes"]["missing_start"])
    lac = lambda t: (t["episodes"]["missing_from"] != "home").sum()  # noqa: E731
    assert lac(a) == lac(b)
    assert np.isclose(len(a["episodes"]), len(b["episodes"]), rtol=0.01)
