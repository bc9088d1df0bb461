"""Benchmark: `rhi batch` (warm kernels) against a naive papermill loop, on a national-size dataset.

    python benchmarks/bench_batch.py [--las 152] [--episodes-per-la 300] [--naive-las 10] [--notebooks DIR]

The dataset is `rhi synth --scale national --years 1` when that generator is
available, else a simple multi-authority synthetic dataset made here. The
naive loop calls papermill.execute_notebook once per authority per notebook
(a new kernel each time) on --naive-las authorities and is extrapolated to
all of them, which the output says. Results are appended to
benchmarks/results_batch.md with the machine's cores, RAM and CPU model.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / "work"
sys.path.insert(0, str(ROOT / "tests"))


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        kb = next(int(l.split()[1]) for l in Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal"))
        ram = f"{kb / 1024 / 1024:.0f} GB RAM"
    except (OSError, StopIteration):
        ram = "RAM unknown"
    return f"{os.cpu_count()} cores, {ram}, {cpu}, Python {platform.python_version()}"


def make_dataset(folder: Path, las: int, per_la: int, seed: int = 6) -> tuple[Path, str]:
    try:
        from analysis.synth.national import generate_national  # written by another issue
        from analysis.dataset.io import write_dataset

        write_dataset(generate_national(seed=seed, years=1), folder)
        return folder, "rhi synth --scale national --years 1"
    except ImportError:
        pass
    from builders import child, disc, episode, link, rhi, write

    rnd = random.Random(seed)
    codes = [f"{('E06', 'E08', 'E09', 'E10')[i % 4]}{i:06d}" for i in range(las)]
    kids, eps, rhis, links, discs = [], [], [], [], []
    n = 0
    for la in codes:
        for _ in range(per_la // 2):
            n += 1
            cid = f"B{n:07d}"
            kids.append(child(cid, sex=rnd.choice(["female", "male"]), dob=f"200{rnd.randint(1, 8)}-0{rnd.randint(1, 9)}-15"))
            for k in range(2):
                eid, rid = f"E{n:07d}{k}", f"R{n:07d}{k}"
                day = f"2023-{rnd.randint(1, 12):02d}-{10 + k}"
                eps.append(episode(eid, cid, f"{day} 08:00", f"{day} 20:00", risk=rnd.choice(
                    ["medium", "low", "low", "high", "no_apparent_risk", ""]), la=la,
                    legal=rnd.choice(["looked_after", "child_in_need", "not_known"])))
                if rnd.random() < 0.6:
                    rhis.append(rhi(rid, cid, completed_at="2024-01-20 10:00"))
                    links.append(link(rid, eid))
                    for ind in ("cse_victim", "mental_health", "cce_victim", "rf_older_associates", "self_harm_risk"):
                        if rnd.random() < 0.2:
                            discs.append(disc(rid, ind))
    write(folder, children=kids, episodes=eps, rhis=rhis, links=links, disclosures=discs)
    return folder, f"simple synthetic dataset made by the benchmark ({las} authorities, {len(eps):,} episodes)"


def naive(data: Path, notebooks: list[Path], las: list[str], out: Path) -> float:
    import papermill

    start = time.perf_counter()
    for la in las:
        for nb in notebooks:
            target = out / la
            target.mkdir(parents=True, exist_ok=True)
            try:
                papermill.execute_notebook(str(nb), str(target / nb.name), parameters={
                    "data_path": str(data), "la_code": la, "output_dir": str(target)}, progress_bar=False,
                    log_output=False, kernel_name="python3")
            except papermill.PapermillExecutionError:
                pass  # counted like the batch counts failures: the time is spent either way
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--las", type=int, default=152)
    parser.add_argument("--episodes-per-la", type=int, default=300)
    parser.add_argument("--naive-las", type=int, default=10)
    parser.add_argument("--jobs", type=int, default=0)
    parser.add_argument("--notebooks", type=Path, default=None,
                        help="Per-authority notebooks to run (default: the project's notebooks/).")
    args = parser.parse_args()

    from analysis.run.batch import discover_notebooks, run_batch
    from analysis.dataset.validate import load_dataset

    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    t = time.perf_counter()
    data, source = make_dataset(WORK / "data", args.las, args.episodes_per_la)
    ds = load_dataset(data)
    print(f"dataset: {source}; {len(ds.episodes):,} episodes, {len(ds.la_codes)} authorities "
          f"({time.perf_counter() - t:.0f}s to make)")
    notebooks_dir = args.notebooks or ROOT / "notebooks"
    per_la, _ = discover_notebooks(notebooks_dir)

    t = time.perf_counter()
    record = run_batch(data, WORK / "batch", jobs=args.jobs, notebooks_dir=notebooks_dir, progress=True)
    batch_s = time.perf_counter() - t
    failed = len(record["summary"]["failed"])
    reports = record["summary"]["reports"]
    print(f"batch: {reports} reports in {batch_s:.1f}s ({failed} failed)")

    sample = ds.la_codes[: args.naive_las]
    naive_s = naive(data, per_la, sample, WORK / "naive")
    per_report = naive_s / len(sample)
    naive_all = per_report * (reports - (1 if "compare" in record["reports"] else 0))
    ratio = naive_all / batch_s
    print(f"naive: {len(sample)} authorities in {naive_s:.1f}s; extrapolated to {reports} reports: {naive_all:.0f}s")
    print(f"speed-up: {ratio:.1f}x")

    lines = [
        f"\n## {datetime.now():%Y-%m-%d %H:%M}: batch vs naive papermill loop\n",
        f"- machine: {machine()}",
        f"- dataset: {source}; {len(ds.episodes):,} episodes, {len(ds.la_codes)} authorities",
        f"- notebooks per authority: {', '.join(p.name for p in per_la)} (from {notebooks_dir})",
        f"- `rhi batch` ({record['parameters']['jobs']} jobs, warm kernels): {reports} reports (all + authorities"
        f"{' + comparison' if 'compare' in record['reports'] else ''}) in **{batch_s:.1f} s**; {failed} failed",
        f"- naive loop (papermill.execute_notebook per authority per notebook, one job): {len(sample)} authorities in "
        f"{naive_s:.1f} s = {per_report:.1f} s per authority, **extrapolated** to {reports} reports: {naive_all:.0f} s",
        f"- speed-up: **{ratio:.1f}x**",
    ]
    results = ROOT / "benchmarks" / "results_batch.md"
    if not results.exists():
        results.write_text("# Batch benchmark results\n\nAppended by `python benchmarks/bench_batch.py`.\n")
    with results.open("a") as handle:
        handle.write("\n".join(lines) + "\n")
    print(f"appended to {results}")


if __name__ == "__main__":
    main()
