"""Property-based tests (hypothesis) on random valid datasets and random corruptions of a valid one.

Random valid datasets are built as text tables in memory and validated with
``validate_tables`` (no files), with soft problems included on purpose
(children aged 18+, RHIs completed before the episode ended, disclosures
recorded twice), and random parameters (period, authority, risk levels).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from analysis import vocab
from analysis.definitions.accounting import check_flow, record_flow
from analysis.cli import app
from analysis.disclosure import SUPPRESSED, Disclosure
from analysis.definitions.figures import compute_figures
from analysis.dataset.rawtable import RawTable
from analysis.definitions.populations import Params, Populations
from analysis.dataset.validate import validate_tables
from builders import LA, LA2, child, disc, episode, frames, link, rhi, write

FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
BASE = pd.Timestamp("2018-01-01")


def stamp(ts: pd.Timestamp) -> str:
    return ts.strftime("%Y-%m-%d %H:%M")


@st.composite
def datasets(draw):
    n_children = draw(st.integers(1, 6))
    kids = [child(f"c{i}", sex=draw(st.sampled_from(["female", "male", "unknown", "F", "1"])),
                  dob=f"{draw(st.integers(1998, 2010))}-{draw(st.integers(1, 12)):02d}-15")
            for i in range(n_children)]
    eps, ends = [], {}
    for j in range(draw(st.integers(0, 12))):
        cid = f"c{draw(st.integers(0, n_children - 1))}"
        start = BASE + pd.Timedelta(hours=draw(st.integers(0, 24 * 500)))
        hours = draw(st.one_of(st.none(), st.integers(1, 200)))
        end = "" if hours is None else stamp(start + pd.Timedelta(hours=hours))
        ends[f"e{j}"] = (cid, start + pd.Timedelta(hours=hours or 0))
        eps.append(episode(f"e{j}", cid, stamp(start), end=end,
                           risk=draw(st.sampled_from(["", "high", "medium", "low", "no_apparent_risk", "absent"])),
                           la=draw(st.sampled_from([LA, LA2])),
                           legal=draw(st.sampled_from(list(vocab.LEGAL_STATUS) + [""]))))
    rhis, links, discs, done_eps = [], [], [], set()
    for k in range(draw(st.integers(0, 8))):
        cid = f"c{draw(st.integers(0, n_children - 1))}"
        status = draw(st.sampled_from(list(vocab.RHI_STATUS)))
        own = [e for e, (c, _) in ends.items() if c == cid]
        chosen = draw(st.lists(st.sampled_from(own), unique=True, max_size=3)) if own else []
        if status == "completed":
            chosen = [e for e in chosen if e not in done_eps]
            done_eps.update(chosen)
        when = BASE + pd.Timedelta(hours=draw(st.integers(0, 24 * 520)))
        extra = {"legal_status": draw(st.sampled_from(list(vocab.LEGAL_STATUS) + [""]))}
        if status == "completed":
            extra.update(consent_to_share=draw(st.sampled_from(["all", "partial", "none", ""])),
                         confidentiality_overridden=draw(st.sampled_from(["true", "false", ""])),
                         shared_wider=draw(st.sampled_from(["yes", "no", ""])),
                         follow_up=draw(st.sampled_from(list(vocab.FOLLOW_UP) + [""])),
                         helpline_signposted=draw(st.sampled_from(["y", "n", ""])))
            for ind in draw(st.lists(st.sampled_from(vocab.INDICATORS), max_size=5)):  # repeats: soft problem
                discs.append(disc(f"r{k}", ind))
        rhis.append(rhi(f"r{k}", cid, status=status, completed_at=stamp(when), **extra))
        links += [link(f"r{k}", e) for e in chosen]
    return frames(children=kids, episodes=eps, rhis=rhis, links=links, disclosures=discs)


@st.composite
def params(draw):
    start = draw(st.one_of(st.none(), st.integers(0, 400)))
    length = draw(st.integers(0, 500))
    return Params(
        period_start=None if start is None else BASE + pd.Timedelta(days=start),
        period_end=None if start is None else BASE + pd.Timedelta(days=start + length),
        risk_levels=tuple(draw(st.lists(st.sampled_from(vocab.RISK_ORDER), min_size=1, max_size=4, unique=True))),
        la_code=draw(st.sampled_from([None, LA, LA2])),
    )


def to_dataset(tables: dict[str, pd.DataFrame]):
    raw = {name: RawTable(name, f"{name}.csv", Path(f"{name}.csv"), frame.astype(str).reset_index(drop=True), 2)
           for name, frame in tables.items()}
    return validate_tables(raw, "memory")


@FAST
@given(datasets(), params())
def test_counts_never_exceed_denominators_and_cohorts_cover_rhi_children(tables, p):
    ds = to_dataset(tables)
    result = compute_figures(ds, p, control=Disclosure(suppress=False))
    for fid, fig in result["figures"].items():
        assert 0 <= fig["count"] <= fig["denominator"], fid
        if fig["pct"] is not None:
            assert 0 <= fig["pct"] <= 100, fid
    pop = Populations(ds, p)
    rhi_children = len(pop.children)
    sizes = [pop.cohort_size(c) for c in vocab.COHORTS]
    assert all(s <= rhi_children for s in sizes)
    assert sum(sizes) >= rhi_children
    assert result["populations"]["rhi_children"]["n"] == rhi_children


def fate(ds, p: Params) -> Counter:
    """Each episode row's end in the flow, decided row by row from the definitions."""
    done = set(ds.rhis.loc[ds.rhis["status"] == "completed", "rhi_id"])
    out = Counter()
    for e in ds.episodes.itertuples():
        start = e.missing_start
        links = ds.rhi_episodes[ds.rhi_episodes["episode_id"] == e.episode_id]
        if isinstance(e.set_aside, str):
            out["set aside"] += 1
        elif (p.period_start is not None and start < p.period_start) or (
                p.period_end is not None and start >= p.period_end + pd.Timedelta(days=1)):
            out["outside the period"] += 1
        elif p.la_code and e.la_code != p.la_code:
            out["another local authority"] += 1
        elif not isinstance(e.police_risk, str):
            out["no risk code"] += 1
        elif e.police_risk not in p.risk_levels:
            out[f"graded {e.police_risk}"] += 1
        elif any(links["rhi_id"].isin(done) & links["set_aside"].isna()):
            out["RHI episodes"] += 1
        elif len(links) == 0:
            out["no RHI"] += 1
        elif links["set_aside"].notna().any():
            out["RHI before return"] += 1
        else:
            out["RHI not completed"] += 1
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(datasets(), params())
def test_row_accounting_adds_up_and_every_episode_ends_once(tables, p):
    ds = to_dataset(tables)
    flow = record_flow(Populations(ds, p))
    assert check_flow(flow) == []
    eps = flow[flow["unit"] == "episodes"]
    read = int(eps.loc[eps["stage"] == "episode rows read", "count"].iloc[0])
    assert read == len(tables["episodes"])
    ends = Counter()
    for row in eps[eps["kind"] == "excluded"].itertuples():
        ends[row.stage] += row.count
    ends["RHI episodes"] = int(eps.loc[eps["stage"] == "RHI episodes", "count"].iloc[0])
    assert sum(ends.values()) == read
    assert +ends == +fate(ds, p)
    for unit in ("RHIs", "disclosures", "links", "children"):
        rows = flow[flow["unit"] == unit]
        assert (rows["count"] >= 0).all()


def shown_ok(value, min_cell) -> bool:
    return value is None or value == SUPPRESSED or value == 0 or (isinstance(value, (int, float)) and value >= min_cell)


@FAST
@given(datasets(), params(), st.integers(2, 6))
def test_disclosure_control_never_lets_a_small_count_through(tables, p, min_cell):
    ds = to_dataset(tables)
    result = compute_figures(ds, p, control=Disclosure(suppress=True, min_cell=min_cell))
    assert result["disclosure_control"]["suppressed"] is True
    for fid, fig in result["figures"].items():
        assert shown_ok(fig["count"], min_cell), (fid, fig)
        assert shown_ok(fig["denominator"], min_cell), (fid, fig)
        if fig["pct"] is not None and fig["pct"] != SUPPRESSED:
            # a percentage is shown only on shown counts, and its complement is not small either
            assert fig["count"] != SUPPRESSED and fig["denominator"] != SUPPRESSED, fid
            assert shown_ok(fig["denominator"] - fig["count"], min_cell), (fid, fig)
        if fig["count"] == SUPPRESSED:
            assert fig["pct"] in (SUPPRESSED, None) and fig["ci_low"] in (SUPPRESSED, None), fid
    for name, pop in result["populations"].items():
        for key in ("n", "children"):
            assert shown_ok(pop.get(key), min_cell), (name, pop)


# --- corrupted files: `rhi validate` names the file and row (or header), never a traceback ----------

def valid_folder(folder: Path) -> Path:
    kids = [child("c1"), child("c2", sex="male", dob="2004-02-01")]
    eps = [episode("e1", "c1", "2018-02-01 10:00"), episode("e2", "c1", "2018-03-01 10:00", risk="high"),
           episode("e3", "c2", "2018-02-11 09:00", risk="low", la=LA2, legal="looked_after")]
    rhis = [rhi("r1", "c1", completed_at="2018-03-05 10:00", consent_to_share="all"),
            rhi("r2", "c2", status="declined", decline_reason="child_declined")]
    return write(folder, children=kids, episodes=eps, rhis=rhis,
                 links=[link("r1", "e1"), link("r1", "e2"), link("r2", "e3")],
                 disclosures=[disc("r1", "cse_victim"), disc("r1", "mental_health")])


CORRUPTIONS = ("cell", "drop_column", "truncate_row", "random_bytes", "non_utf8", "empty", "extra_field")


@st.composite
def corruption(draw):
    return (draw(st.sampled_from(vocab.TABLES)), draw(st.sampled_from(CORRUPTIONS)), draw(st.integers(0, 10 ** 6)),
            draw(st.text(min_size=1, max_size=12)), draw(st.binary(min_size=1, max_size=30)))


def corrupt(path: Path, kind: str, n: int, text: str, blob: bytes) -> None:
    data = path.read_bytes()
    lines = data.decode("utf-8").split("\n")
    body = [i for i, line in enumerate(lines) if line and i > 0]
    if kind == "cell" and body:
        i = body[n % len(body)]
        cells = lines[i].split(",")
        cells[n % len(cells)] = text.replace("\n", " ")
        lines[i] = ",".join(cells)
    elif kind == "drop_column":
        cells = [line.split(",") for line in lines]
        k = n % len(cells[0])
        lines = [",".join(c[:k] + c[k + 1:]) if len(c) > k else ",".join(c) for c in cells]
    elif kind == "truncate_row" and body:
        i = body[n % len(body)]
        lines[i] = lines[i][: n % max(1, len(lines[i]))]
    elif kind == "extra_field" and body:
        lines[body[n % len(body)]] += ",surplus"
    if kind == "random_bytes":
        cut = n % (len(data) + 1)
        path.write_bytes(data[:cut] + blob + data[cut:])
    elif kind == "non_utf8":
        cut = n % (len(data) + 1)
        path.write_bytes(data[:cut] + b"\xff\xfe\xc3" + data[cut:])
    elif kind == "empty":
        path.write_bytes(b"")
    else:
        path.write_text("\n".join(lines), encoding="utf-8")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                HealthCheck.function_scoped_fixture])
@given(corruption())
def test_rhi_validate_on_corrupted_files_never_shows_a_traceback(tmp_path_factory, case):
    table, kind, n, text, blob = case
    folder = valid_folder(tmp_path_factory.mktemp("corrupt"))
    corrupt(folder / f"{table}.csv", kind, n, text, blob)
    result = CliRunner().invoke(app, ["validate", str(folder)])
    output = result.output + (result.stderr if result.stderr_bytes is not None else "")
    assert "Traceback" not in output
    assert result.exit_code in (0, 1), (result.exit_code, output, repr(result.exception))
    if result.exit_code == 1:
        assert isinstance(result.exception, SystemExit), repr(result.exception)
        assert f"{table}.csv" in output, output
        assert any(f"{name}.csv, row " in output or f"{name}.csv, header" in output for name in vocab.TABLES), output
    else:
        assert "valid." in output
