"""Benchmarks at national scale (what `make bench` runs); writes benchmarks/results.md.

    python benchmarks/run.py [--sizes 1,4,16] [--jobs 2] [--naive-las 6] [--work DIR]

For each size (1x = one national year of `generate_national`, about 200,000
episodes; 4x and 16x = 4 and 16 years) it measures, each in its own
subprocess so that the peak memory is that of the measurement alone:

(a) load and validate: `analysis.dataset.validate.load_dataset` on the CSV folder;
(b) all figures for every authority: for each LA, `compute_figures` on
    `ds.subset_la(la)` with `Params(la_code=la)` (same results as on the whole
    dataset, checked on a sample), spread over --jobs forked workers.

Peak memory is `resource.getrusage(RUSAGE_SELF).ru_maxrss` read inside each
measurement process (and each worker), i.e. peak resident set size, which
includes the interpreter and imported libraries.

Naive baselines (benchmarks/naive.py) run in the same run: row-by-row
validation on a 10% subset of the 1x data (children and all their rows),
with the library timed on the same subset, extrapolated linearly to each
size; and an iterrows figure loop on --naive-las authorities, extrapolated
by episode share. The national batch on the real notebooks is
bench_batch.py's (make bench runs it next); its section of results.md is kept.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = ROOT / "benchmarks"
RESULTS = HERE / "results.md"
SEED = 2019
TARGET_S, TARGET_GB = 10.0, 4.0


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


# --- measurements, each run as `python run.py _<step> ...` in a fresh process -------------------

def step_generate(years: int, out: str) -> dict:
    from analysis.dataset.io import write_dataset
    from analysis.synth.national import generate_national

    t = time.perf_counter()
    tables = generate_national(SEED, years)
    gen_s = time.perf_counter() - t
    write_dataset(tables, out)
    result = {"generate_s": gen_s, "write_s": time.perf_counter() - t - gen_s, "peak_mb": peak_mb(),
              "rows": {k: len(v) for k, v in tables.items()}}
    if years == 1:  # a 10% subset (children and all their rows) for the naive validator
        kids = set(tables["children"]["child_id"].iloc[::10])
        sub = {"children": tables["children"][tables["children"]["child_id"].isin(kids)],
               "episodes": tables["episodes"][tables["episodes"]["child_id"].isin(kids)],
               "rhis": tables["rhis"][tables["rhis"]["child_id"].isin(kids)]}
        sub["rhi_episodes"] = tables["rhi_episodes"][tables["rhi_episodes"]["rhi_id"].isin(sub["rhis"]["rhi_id"])]
        sub["disclosures"] = tables["disclosures"][tables["disclosures"]["rhi_id"].isin(sub["rhis"]["rhi_id"])]
        write_dataset(sub, out + "-subset")
        result["subset_rows"] = {k: len(v) for k, v in sub.items()}
    return result


_DS = None


def _figures_of(la: str):
    from analysis.definitions.figures import compute_figures
    from analysis.definitions.populations import Params

    compute_figures(_DS.subset_la(la), Params(la_code=la))
    return peak_mb()


def step_measure(path: str, jobs: int, check_las: int) -> dict:
    """(a) load and validate, then (b) every figure for every authority, in one process."""
    global _DS
    import multiprocessing as mp

    from analysis.dataset.validate import load_dataset

    base = peak_mb()
    t = time.perf_counter()
    ds = load_dataset(path)
    load_s = time.perf_counter() - t
    load_mb = peak_mb()
    _DS = ds
    las = ds.la_codes
    t = time.perf_counter()
    if jobs > 1:
        with mp.get_context("fork").Pool(jobs) as pool:
            worker_mb = max(pool.map(_figures_of, las, chunksize=4))
    else:
        worker_mb = max(_figures_of(la) for la in las)
    figures_s = time.perf_counter() - t
    out = {"import_mb": base, "load_s": load_s, "load_mb": load_mb, "figures_s": figures_s,
           "figures_worker_mb": worker_mb, "peak_mb": max(peak_mb(), worker_mb), "las": len(las),
           "episodes": len(ds.episodes)}
    if check_las:
        out.update(_as_is(ds, las[:: max(1, len(las) // check_las)][:check_las]))
    return out


def _as_is(ds, sample) -> dict:
    """The library as documented: compute_figures(ds, Params(la_code=la)) on the whole dataset; same answers?"""
    from analysis.definitions.figures import compute_figures
    from analysis.definitions.populations import Params

    t, same = time.perf_counter(), 0
    results = {la: compute_figures(ds, Params(la_code=la)) for la in sample}
    as_is_s = time.perf_counter() - t
    for la in sample:
        sub = compute_figures(ds.subset_la(la), Params(la_code=la))
        same += json.dumps(sub, sort_keys=True, default=str) == json.dumps(results[la], sort_keys=True, default=str)
    return {"as_is_las": len(sample), "as_is_s": as_is_s, "as_is_same": same}


def step_naive(full: str, subset: str, naive_las: int) -> dict:
    sys.path.insert(0, str(HERE))
    from naive import naive_figures, naive_validate

    from analysis.disclosure import Disclosure
    from analysis.definitions.figures import compute_figures
    from analysis.definitions.populations import Params
    from analysis.dataset.validate import load_dataset

    t = time.perf_counter()
    problems = naive_validate(subset)
    naive_validate_s = time.perf_counter() - t
    t = time.perf_counter()
    load_dataset(subset)
    lib_subset_s = time.perf_counter() - t
    ds = load_dataset(full)
    las = ds.la_codes
    sample = las[:: max(1, len(las) // naive_las)][:naive_las]
    t, naive_s, lib_s, agree, compared = 0, 0.0, 0.0, 0, 0
    for la in sample:
        t = time.perf_counter()
        naive = naive_figures(ds, la)
        naive_s += time.perf_counter() - t
        t = time.perf_counter()
        lib = compute_figures(ds.subset_la(la), Params(la_code=la), control=Disclosure(suppress=False))["figures"]
        lib_s += time.perf_counter() - t
        for fid, (count, den) in naive.items():
            compared += 1
            agree += (lib[fid]["count"], lib[fid]["denominator"]) == (count, den)
    share = ds.episodes["la_code"].isin(sample).mean()
    return {"naive_validate_s": naive_validate_s, "naive_problems": len(problems), "lib_subset_load_s": lib_subset_s,
            "naive_fig_las": len(sample), "naive_fig_s": naive_s, "lib_fig_sample_s": lib_s,
            "sample_episode_share": float(share), "agree": agree, "compared": compared,
            "peak_mb": peak_mb()}


def step_profile(path: str) -> dict:
    import cProfile
    import io
    import pstats

    from analysis.definitions.figures import compute_figures
    from analysis.definitions.populations import Params
    from analysis.dataset.validate import load_dataset

    out = {}
    for name, code in (("load", "ds = load_dataset(path)"),
                       ("figures", "compute_figures(ds.subset_la(la), Params(la_code=la))")):
        env = {"load_dataset": load_dataset, "compute_figures": compute_figures, "Params": Params, "path": path}
        if name == "figures":
            env["ds"] = ds
            env["la"] = max(ds.la_codes, key=lambda la: (ds.episodes["la_code"] == la).sum())
        prof = cProfile.Profile()
        prof.runctx(code, env, env)
        if name == "load":
            ds = env["ds"]
        buf = io.StringIO()
        stats = pstats.Stats(prof, stream=buf).sort_stats("tottime")
        stats.print_stats(12)
        out[name] = "\n".join(line for line in buf.getvalue().splitlines()
                              if line.strip() and not line.startswith(("   Ordered", "   List")))
    return out


def child(step: str, *args, timeout: float = 1800) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), step, *map(str, args)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise SystemExit(f"{step} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --- the report -----------------------------------------------------------------------------------

def machine() -> dict:
    import pandas

    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    kb = next(int(l.split()[1]) for l in Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal"))
    return {"cpu": cpu, "cores": os.cpu_count(), "ram_gb": round(kb / 1024 / 1024, 1),
            "python": platform.python_version(), "pandas": pandas.__version__,
            "numpy": __import__("numpy").__version__, "os": platform.platform(),
            "date": datetime.now().strftime("%Y-%m-%d %H:%M")}


def exponent(x1, y1, x2, y2) -> float:
    return math.log(y2 / y1) / math.log(x2 / x1) if y1 > 0 and y2 > 0 else float("nan")


def batch_section(out: Path) -> list[str]:
    """The national batch section bench_batch.py wrote into results.md (kept as it was: this script does not
    measure the batch), or a line saying how to measure it."""
    from bench_batch import END, START

    old = out.read_text() if out.exists() else ""
    if START in old and END in old:
        return [START + old.split(START, 1)[1].split(END, 1)[0] + END]
    return ["The national batch on the real notebooks is measured by `python benchmarks/bench_batch.py` "
            "(`make bench` runs it after this script); it writes its section here."]


def write_results(m: dict, sizes, gen, meas, naive, prof, batch_lines, total_s) -> str:
    gb = lambda mb: mb / 1024  # noqa: E731
    one = meas[sizes[0]]
    episodes1 = one["episodes"]
    sub_eps = gen[sizes[0]]["subset_rows"]["episodes"]
    lines = [
        "# Benchmark results",
        "",
        "Written by `python benchmarks/run.py` (`make bench`); how and why: benchmarks/README.md and docs/performance.md.",
        "",
        f"- date: {m['date']}",
        f"- machine: {m['cores']} cores, {m['ram_gb']} GB RAM, {m['cpu']}; {m['os']}",
        f"- Python {m['python']}, pandas {m['pandas']}, numpy {m['numpy']}",
        f"- dataset: `generate_national(seed={SEED}, years=k)`, k = {', '.join(map(str, sizes))} "
        f"(1x = one national year, {episodes1:,} episodes, {one['las']} authorities)",
        f"- peak memory: peak RSS (`ru_maxrss`) of the measuring process, interpreter and imports included "
        f"({one['import_mb']:.0f} MB before loading); for figures, the larger of that process and its forked workers",
        f"- figures: {args_jobs} forked worker(s), each LA as `compute_figures(ds.subset_la(la), Params(la_code=la))`",
        f"- whole run: {total_s:.0f} s",
        "",
        "## Results",
        "",
        "| size | episodes | load + validate | peak RSS after load | all figures, all LAs | peak RSS | "
        "naive validate (extrapolated) | ratio | naive figures (extrapolated) | ratio |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    naive_val_per_ep = naive["naive_validate_s"] / sub_eps
    naive_fig_per_ep = naive["naive_fig_s"] / (naive["sample_episode_share"] * episodes1)
    for k in sizes:
        r = meas[k]
        nv = naive_val_per_ep * r["episodes"]
        nf = naive_fig_per_ep * r["episodes"]
        lines.append(
            f"| {k}x | {r['episodes']:,} | {r['load_s']:.1f} s | {gb(r['load_mb']):.2f} GB | {r['figures_s']:.1f} s "
            f"({r['las']} LAs) | {gb(r['peak_mb']):.2f} GB | {nv:.0f} s | {nv / r['load_s']:.1f}x | {nf:.0f} s | "
            f"{nf / r['figures_s']:.1f}x |")
    lines += ["", "Generation (not a target): " + "; ".join(
        f"{k}x {gen[k]['generate_s']:.1f} s to generate, {gen[k]['write_s']:.1f} s to write CSV, "
        f"peak {gb(gen[k]['peak_mb']):.2f} GB" for k in sizes) + "."]

    lines += ["", "## Growth", ""]
    pairs = list(zip(sizes, sizes[1:]))
    for label, key in (("load + validate", "load_s"), ("all figures", "figures_s"), ("peak RSS", "peak_mb")):
        parts = [f"{a}x->{b}x: {exponent(a, meas[a][key], b, meas[b][key]):.2f}" for a, b in pairs]
        if len(sizes) > 2:
            parts.append(f"{sizes[0]}x->{sizes[-1]}x: "
                         f"{exponent(sizes[0], meas[sizes[0]][key], sizes[-1], meas[sizes[-1]][key]):.2f}")
        lines.append(f"- {label}: exponent b in cost ~ size^b: " + ", ".join(parts))

    lines += ["", "## Targets", ""]
    first, last = meas[sizes[0]], meas[sizes[-1]]
    checks = [
        (f"one national year loads and validates in < {TARGET_S:.0f} s", first["load_s"] < TARGET_S,
         f"{first['load_s']:.1f} s"),
        (f"all figures for all authorities (one year) in < {TARGET_S:.0f} s", first["figures_s"] < TARGET_S,
         f"{first['figures_s']:.1f} s"),
        (f"peak memory < {TARGET_GB:.0f} GB at {sizes[-1]}x", gb(last["peak_mb"]) < TARGET_GB,
         f"{gb(last['peak_mb']):.2f} GB"),
    ]
    for key, label in (("load_s", "load"), ("figures_s", "figures")):
        b = exponent(sizes[0], first[key], sizes[-1], last[key])
        checks.append((f"{label} cost grows no worse than linearly (b <= 1.1)", b <= 1.1, f"b = {b:.2f}"))
    for label, ok, value in checks:
        lines.append(f"- {'met' if ok else '**MISSED**'}: {label} ({value})")

    lines += ["", "## Naive baselines", "",
              f"- validation: benchmarks/naive.py `naive_validate` (pandas read, then `iterrows` and `strptime` per "
              f"row) ran on a 10% subset of the 1x data ({sub_eps:,} episodes, every row of the children kept) in "
              f"{naive['naive_validate_s']:.1f} s and found {naive['naive_problems']} problems; `load_dataset` on the "
              f"same subset took {naive['lib_subset_load_s']:.1f} s "
              f"({naive['naive_validate_s'] / naive['lib_subset_load_s']:.1f}x). **Extrapolated** linearly in "
              "episodes to each size in the table.",
              f"- figures: `naive_figures` (`iterrows` and Python sets per authority, {naive['compared'] // max(1, naive['naive_fig_las'])} "
              f"of the {len(__import__('analysis.definitions.figures', fromlist=['FIGURES']).FIGURES)} figures: the populations, "
              f"cohorts and every prevalence figure) on {naive['naive_fig_las']} authorities "
              f"({naive['sample_episode_share']:.1%} of episodes) took {naive['naive_fig_s']:.1f} s against "
              f"{naive['lib_fig_sample_s']:.1f} s for every figure of `compute_figures` on the same authorities; "
              f"**extrapolated** by episode share to each size. The two agree on {naive['agree']} of "
              f"{naive['compared']} (count, denominator) pairs.",
              ]
    if "as_is_s" in first:
        per = first["as_is_s"] / first["as_is_las"]
        lines.append(
            f"- the library as documented, `compute_figures(ds, Params(la_code=la))` on the whole 1x dataset: "
            f"{per:.2f} s per authority on {first['as_is_las']} authorities (about {per * first['las']:.0f} s for all, "
            f"one process); the per-authority subset gives the same JSON for {first['as_is_same']} of "
            f"{first['as_is_las']}.")

    lines += ["", "## Profiles (1x, cProfile, top functions by own time)", "",
              "load_dataset:", "", "```", prof["load"], "```", "",
              "compute_figures for the largest authority (subset):", "", "```", prof["figures"], "```", ""] + batch_lines
    return "\n".join(lines) + "\n"


args_jobs = 2


def main() -> None:
    global args_jobs
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,4,16", help="multiples of one national year (years generated)")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--naive-las", type=int, default=6)
    parser.add_argument("--check-las", type=int, default=3, help="authorities for the as-is library path (1x)")
    parser.add_argument("--work", type=Path, default=None, help="folder for generated data (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the generated data")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    args_jobs = args.jobs
    sizes = sorted({int(s) for s in args.sizes.split(",")})
    start = time.perf_counter()
    work = args.work or Path(tempfile.mkdtemp(prefix="rhi-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        gen, meas = {}, {}
        for k in sizes:
            path = work / f"national-{k}x"
            gen[k] = child("_generate", k, path)
            print(f"{k}x: generated {gen[k]['rows']['episodes']:,} episodes in {gen[k]['generate_s']:.1f} s", flush=True)
        for k in sizes:
            meas[k] = child("_measure", work / f"national-{k}x", args.jobs, args.check_las if k == sizes[0] else 0)
            print(f"{k}x: load {meas[k]['load_s']:.1f} s, figures {meas[k]['figures_s']:.1f} s, "
                  f"peak {meas[k]['peak_mb'] / 1024:.2f} GB", flush=True)
        first = work / f"national-{sizes[0]}x"
        naive = child("_naive", first, str(first) + "-subset", args.naive_las)
        print(f"naive: validate subset {naive['naive_validate_s']:.1f} s, figures {naive['naive_fig_s']:.1f} s", flush=True)
        prof = child("_profile", first)
    finally:
        if not args.keep and args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    batch_lines = batch_section(args.out)
    text = write_results(machine(), sizes, gen, meas, naive, prof, batch_lines, time.perf_counter() - start)
    args.out.write_text(text)
    print(f"wrote {args.out} ({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1].startswith("_"):
        sys.path.insert(0, str(ROOT / "src"))
        step, rest = sys.argv[1], sys.argv[2:]
        if step == "_generate":
            result = step_generate(int(rest[0]), rest[1])
        elif step == "_measure":
            result = step_measure(rest[0], int(rest[1]), int(rest[2]))
        elif step == "_naive":
            result = step_naive(rest[0], rest[1], int(rest[2]))
        elif step == "_profile":
            result = step_profile(rest[0])
        else:
            raise SystemExit(f"unknown step {step}")
        print(json.dumps(result, default=str))
    else:
        main()
