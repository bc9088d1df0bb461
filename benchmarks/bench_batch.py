"""The national batch, measured on the real notebooks (issue 16): what `make bench` runs after run.py.

    python benchmarks/bench_batch.py [--jobs 2] [--naive 5] [--work DIR] [--keep] [--sample] [--scale study]

1. Data: `rhi synth --scale national --out DATA` (153 authorities, about 200,000
   episodes), the command a user runs.
2. The batch: `rhi batch DATA --out RUN --jobs J`, the command a user runs, in a
   subprocess: every authority's report, the all-authorities report and the
   comparison, with the project's own notebooks. Wall time from outside; peak
   memory as the largest sum of resident set sizes over the batch's process
   tree (the batch, its workers and their kernels), sampled every 0.5 s.
3. Where the time goes: the run's stages (the manifest's ``stages_s``) and each
   report's stages (its ``status.json``), recorded by the batch itself
   (``analysis.timing``); the profile shown is that of the median warm authority
   report (one whose kernel was already running).
4. The naive loop, run in the same benchmark, one report at a time on --naive
   authorities spread over the range of sizes: for each notebook,
   ``papermill.execute_notebook`` (a new kernel, the dataset loaded, the
   authority's own tables and suppression computed in the notebook), then
   ``nbconvert``'s HTMLExporter to an HTML page. Its mean time per authority is
   **extrapolated** to all the batch's reports (the all-authorities report and
   the comparison counted as one authority each, which flatters the naive loop).

Writes benchmarks/results_batch.json and the section "National batch" of
benchmarks/results.md (between its markers), with the machine and the date.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = ROOT / "benchmarks"
RESULTS = HERE / "results.md"
RECORD = HERE / "results_batch.json"
BIN = Path(sys.executable).parent
START, END = "<!-- national batch: start (bench_batch.py) -->", "<!-- national batch: end -->"
TARGET_RUN_S, AIM_RUN_S, TARGET_RATIO = 300.0, 120.0, 20.0
TARGET_WARM_S, TARGET_LA_S = 1.5, 30.0   # issue 26: a warm authority report (median), and `rhi batch --la` end to end
TARGET_PROTECTION_S = 120.0   # issue 25: the run's suppression and its disclosure audit together
# issue 25: the headline figures every authority's report must show as numbers, as (unit, population, measure)
HEADLINE_BOX = (("episodes", "notified_episodes", "Total"), ("children", "notified_children", "Total"),
                ("episodes", "notified_episodes", "rhi_offered"), ("episodes", "notified_episodes", "with_completed_rhi"))
SEED = 2019


def machine() -> dict:
    cpu, ram = "unknown CPU", None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        kb = next(int(x.split()[1]) for x in Path("/proc/meminfo").read_text().splitlines() if x.startswith("MemTotal"))
        ram = round(kb / 1024 / 1024, 1)
    except (OSError, StopIteration):
        pass
    return {"cores": os.cpu_count(), "ram_gb": ram, "cpu": cpu, "python": platform.python_version(),
            "platform": platform.platform()}


class PeakMemory:
    """Largest total RSS of a process and all its descendants, sampled in a thread."""

    def __init__(self, pid: int, every: float = 0.5):
        import psutil

        self.root, self.every, self.peak, self._stop = psutil.Process(pid), every, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        import psutil

        while not self._stop.is_set():
            try:
                procs = [self.root] + self.root.children(recursive=True)
                total = 0
                for p in procs:
                    try:
                        total += p.memory_info().rss
                    except psutil.Error:
                        pass
                self.peak = max(self.peak, total)
            except psutil.Error:
                pass
            self._stop.wait(self.every)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak / 1024 ** 3


def run(cmd, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)


def make_data(folder: Path, scale: str = "national") -> float:
    t = time.perf_counter()
    proc = run([BIN / "rhi", "synth", "--scale", scale, "--seed", SEED, "--out", folder])
    if proc.returncode:
        sys.exit(f"rhi synth failed:\n{proc.stderr}")
    return time.perf_counter() - t


def time_batch(data: Path, out: Path, jobs: int) -> dict:
    """`rhi batch` as a user runs it; wall time, peak memory of the process tree, and the run's own record."""
    t = time.perf_counter()
    proc = subprocess.Popen([str(BIN / "rhi"), "batch", str(data), "--out", str(out), "--jobs", str(jobs)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    memory = PeakMemory(proc.pid)
    stdout, stderr = proc.communicate()
    wall = time.perf_counter() - t
    peak = memory.stop()
    if proc.returncode not in (0, 1):
        sys.exit(f"rhi batch failed ({proc.returncode}):\n{stderr[-3000:]}")
    manifest = json.loads((out / "manifest.json").read_text())
    reports = {}
    for key, rec in manifest["reports"].items():
        status = json.loads((out / key / "status.json").read_text())
        reports[key] = {"status": rec["status"], "duration_s": status.get("duration_s"),
                        "stages_s": status.get("stages_s", {})}
    return {"wall_s": wall, "peak_gb": peak, "exit": proc.returncode, "summary": manifest["summary"],
            "headline_box": headline_box(out, [k for k in manifest["reports"] if k not in ("all", "compare")]),
            "run_stages_s": manifest.get("stages_s", {}), "reports": reports,
            "publication": {k: manifest["publication"].get(k) for k in ("cells", "primary", "secondary")},
            "audit": {k: manifest["disclosure_audit"].get(k)
                      for k in ("ok", "leaks", "inconsistencies", "unresolved", "cells", "suppressed")},
            "stdout_tail": stdout.strip().splitlines()[-4:]}


def time_one_authority(data: Path, la: str, out: Path, jobs: int) -> dict:
    """`rhi batch DATA --la CODE` as a council analyst runs it on the national file: wall time from the command's
    start to its exit (it prints the disclosure audit's verdict last), the verdict, and the run's own stages."""
    t = time.perf_counter()
    proc = run([BIN / "rhi", "batch", data, "--la", la, "--out", out, "--jobs", jobs])
    wall = time.perf_counter() - t
    if proc.returncode not in (0, 1):
        sys.exit(f"rhi batch --la {la} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    manifest = json.loads((out / "manifest.json").read_text())
    status = json.loads((out / la / "status.json").read_text())
    return {"la": la, "wall_s": wall, "exit": proc.returncode, "verdict": manifest["verdict"]["text"],
            "publishable": bool(manifest["disclosure_audit"]["ok"]), "run_stages_s": manifest.get("stages_s", {}),
            "report_s": status.get("duration_s"), "report_stages_s": status.get("stages_s", {})}


def bytecode_compiled() -> bool:
    """Whether the environment's libraries are compiled (``make env`` compiles them): without it every worker and
    kernel compiles pandas, scipy and matplotlib as it starts, where PYTHONDONTWRITEBYTECODE is set."""
    import importlib.util

    origin = Path(importlib.util.find_spec("pandas").origin)
    return any((origin.parent / "__pycache__").glob("__init__.*.pyc"))


def headline_box(out: Path, authorities: list[str]) -> dict:
    """How each authority's headline figures were published: its notified episodes and children, and the episodes
    offered and completed an RHI, read from the run's own cells.csv (every number a report shows is one of its
    cells); counted as shown, 'c' (suppressed) or absent."""
    import csv

    from analysis.publish.cells import BREAKDOWNS

    wanted = {(a, *h) for a in authorities for h in HEADLINE_BOX}
    found = {}
    with open(out / "publication" / "cells.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            k = (row["scope"], row["unit"], row["population"], row["measure"])
            if k in wanted and all(row[d] == "Total" for d in BREAKDOWNS):
                found[k] = row["value"]
    hidden = sorted(f"{k[0]} {k[2]} {k[3]}" for k, value in found.items() if value == "c")
    return {"authorities": len(authorities), "figures": len(wanted), "shown": sum(v != "c" for v in found.values()),
            "suppressed": hidden, "absent": len(wanted) - len(found)}


def sample_authorities(data: Path, n: int) -> list[tuple[str, int]]:
    """n authorities spread over the range of sizes (episodes): at the 10th to 90th percentiles."""
    import pandas as pd

    sizes = pd.read_csv(data / "episodes.csv", usecols=["la_code"])["la_code"].value_counts().sort_values()
    picks = [int(round(q * (len(sizes) - 1))) for q in [0.1 + 0.8 * i / max(n - 1, 1) for i in range(n)]]
    return [(str(sizes.index[i]), int(sizes.iloc[i])) for i in dict.fromkeys(picks)]


def write_sample(data: Path, las: list[str], out: Path) -> Path:
    """The rows of ``las`` only (their episodes, children, RHIs, links and disclosures), as written by synth."""
    import pandas as pd

    read = {name: pd.read_csv(data / f"{name}.csv", dtype=str, keep_default_na=False)
            for name in ("children", "episodes", "rhis", "rhi_episodes", "disclosures")}
    eps = read["episodes"][read["episodes"]["la_code"].isin(las)]
    kids = set(eps["child_id"])
    rhis = read["rhis"][read["rhis"]["child_id"].isin(kids)]
    sample = {"children": read["children"][read["children"]["child_id"].isin(kids)], "episodes": eps, "rhis": rhis,
              "rhi_episodes": read["rhi_episodes"][read["rhi_episodes"]["rhi_id"].isin(rhis["rhi_id"])],
              "disclosures": read["disclosures"][read["disclosures"]["rhi_id"].isin(rhis["rhi_id"])]}
    out.mkdir(parents=True)
    for name, frame in sample.items():
        frame.to_csv(out / f"{name}.csv", index=False)
    shutil.copy(data / "metadata.json", out / "metadata.json")
    return out


def naive_report(data: Path, la: str, out: Path) -> dict:
    """One authority the naive way: papermill each notebook (new kernel), then nbconvert it to HTML."""
    import logging

    import papermill as pm
    from nbconvert import HTMLExporter

    logging.getLogger("papermill").setLevel(logging.ERROR)   # it cannot parse the comments of a parameters cell

    from analysis.run.batch import discover_notebooks

    per_la, _ = discover_notebooks()
    per_la = [p for p in per_la if not p.name.startswith("05_")]   # Annex A: only for Annex A imports
    out.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    execute = convert = 0.0
    for nb in per_la:
        t1 = time.perf_counter()
        pm.execute_notebook(str(nb), str(out / nb.name), parameters={"data_path": str(data), "la_code": la,
                                                                      "output_dir": str(out)},
                            kernel_name="python3", progress_bar=False, cwd=str(nb.parent))
        t2 = time.perf_counter()
        body, _ = HTMLExporter(exclude_input=True).from_filename(str(out / nb.name))
        (out / f"{nb.stem}.html").write_text(body)
        execute += t2 - t1
        convert += time.perf_counter() - t2
    return {"la": la, "total_s": time.perf_counter() - t, "papermill_s": execute, "nbconvert_s": convert,
            "notebooks": [p.name for p in per_la]}


def profile_of(reports: dict) -> tuple[str | None, dict]:
    """The median warm authority report (no kernel start in it) and its stages."""
    warm = [(r["duration_s"], k) for k, r in reports.items()
            if k not in ("all", "compare") and r["status"] == "ok" and "kernel start" not in r["stages_s"]]
    if not warm:
        return None, {}
    warm.sort()
    duration, key = warm[len(warm) // 2]
    return key, reports[key]["stages_s"]


def warm_median(reports: dict) -> float | None:
    """The median duration of the authority reports whose worker's kernel was already running (issue 26)."""
    warm = [r["duration_s"] for k, r in reports.items()
            if k not in ("all", "compare") and r["status"] == "ok" and "kernel start" not in r["stages_s"]]
    return statistics.median(warm) if warm else None


def mean_stages(reports: dict) -> dict:
    keys = [k for k, r in reports.items() if k not in ("all", "compare") and r["status"] == "ok"]
    names = sorted({s for k in keys for s in reports[k]["stages_s"]})
    return {s: sum(reports[k]["stages_s"].get(s, 0.0) for k in keys) / max(len(keys), 1) for s in names}


def _also(audit: dict) -> str:
    """The audit's other findings, when it recorded them: what else keeps a run from being published."""
    parts = [f"{audit[k]} {k}" for k in ("inconsistencies", "unresolved") if audit.get(k)]
    if audit.get("unresolved"):
        parts[-1] += " (cells the audit could not bound in its time limit: the batch treats that as a failure)"
    return "".join(f", {p}" for p in parts)


def _target(ok: bool, text: str) -> str:
    """One line of a targets list: met or **MISSED**, then what and the measured value."""
    return f"- {'met' if ok else '**MISSED**'}: {text}"


def section(rec: dict) -> list[str]:
    m, b, nv = rec["machine"], rec["batch"], rec["naive"]
    n_reports = len(b["reports"])
    per_naive = statistics.mean(r["total_s"] for r in nv["reports"])
    naive_total = per_naive * n_reports
    ratio = naive_total / b["wall_s"]
    key, prof = profile_of(b["reports"])
    means = mean_stages(b["reports"])
    las = [k for k in b["reports"] if k not in ("all", "compare")]
    sampled = rec.get("sample")
    title = (f"## {len(sampled)} authorities of the national data, real notebooks (bench_batch.py --sample)"
             if sampled else "## National batch, real notebooks (bench_batch.py)")
    lines = [START, title, "",
             f"- date: {rec['date']}; machine: {m['cores']} cores, {m['ram_gb']} GB RAM, {m['cpu']}; "
             f"Python {m['python']}; git {rec['git']}",
             f"- data: `rhi synth --scale {rec.get('scale', 'national')} --seed {SEED}` ({rec['episodes']:,} episodes, {len(las)} "
             f"authorities; {rec['synth_s']:.1f} s to make)"
             + (f"; the batch and the naive loop both ran on the rows of {', '.join(sampled)} only, "
                "written as a dataset of their own" if sampled else ""),
             f"- command: `rhi batch DATA --out RUN --jobs {rec['jobs']}` in a subprocess, the project's notebooks "
             f"({', '.join(rec['notebooks'])} per report; 03 for the comparison)",
             f"- **whole {'sample' if sampled else 'national'} run: {b['wall_s']:.0f} s** ({b['wall_s'] / 60:.1f} min) "
             f"for {n_reports} reports "
             f"({len(las)} authorities, all authorities, the comparison); {b['summary']['ok']} ok, failed: "
             f"{', '.join(b['summary']['failed']) or 'none'}",
             f"- publication: {b['publication']['cells']:,} cells, {b['publication']['primary']:,} primary and "
             f"{b['publication']['secondary']:,} secondary suppressions; disclosure audit: "
             f"{'no leak' if b['audit']['ok'] else 'FAILED'} ({b['audit']['leaks']} leaks"
             f"{_also(b['audit'])})",
             f"- peak memory: {b['peak_gb']:.2f} GB (sum of resident set sizes of the batch, its workers and kernels,"
             " sampled every 0.5 s)",
             f"- environment: libraries' bytecode {'compiled (as `make env` does)' if rec.get('bytecode') else 'NOT compiled: every process compiles what it imports'}"
             f"; PYTHONDONTWRITEBYTECODE {'set' if rec.get('dont_write_bytecode') else 'not set'}", "",
             "### Where the run's time goes (the manifest's stages_s; wall clock in the batch process)", "",
             "| stage | seconds | share of the run |", "|---|---|---|"]
    for name, s in sorted(b["run_stages_s"].items(), key=lambda kv: -kv[1]):
        share = "" if "summed" in name else f"{100 * s / b['wall_s']:.0f}%"
        lines.append(f"| {name} | {s:.1f} | {share} |")
    lines += ["", "Stages marked \"summed over workers\" add the time of several processes working at once, so "
              "they can exceed the wall clock; \"publication: models\" is part of \"publication: tables\"; the "
              "disclosure audit runs while the first reports do, so it is part of \"reports\" too.", "",
              f"### One warm authority report ({key}, the median of the reports whose kernel was already running)", "",
              "| stage | this report (s) | mean over all authority reports (s) |", "|---|---|---|"]
    for name in sorted(set(prof) | set(means), key=lambda s: -means.get(s, 0.0)):
        lines.append(f"| {name} | {prof.get(name, 0.0):.2f} | {means.get(name, 0.0):.2f} |")
    durations = sorted(b["reports"][k]["duration_s"] or 0 for k in las)
    warm = warm_median(b["reports"])
    lines += ["", f"Authority reports: median {statistics.median(durations):.2f} s (warm: "
              f"{'n/a' if warm is None else f'{warm:.2f} s'}), slowest {durations[-1]:.1f} s; "
              f"all authorities {b['reports'].get('all', {}).get('duration_s')} s, comparison "
              f"{b['reports'].get('compare', {}).get('duration_s')} s (each in one worker).", "",
              "### The naive loop (measured in this run, then extrapolated)", "",
              "papermill runs each notebook in a new kernel (the notebook loads the dataset and computes and "
              "suppresses its authority's tables itself), then nbconvert's HTMLExporter writes the page; one "
              "authority at a time.", "",
              "| authority | episodes | papermill (s) | nbconvert (s) | total (s) |", "|---|---|---|---|---|"]
    for r in nv["reports"]:
        lines.append(f"| {r['la']} | {r['episodes']:,} | {r['papermill_s']:.1f} | {r['nbconvert_s']:.1f} | "
                     f"{r['total_s']:.1f} |")
    lines += ["", f"Mean {per_naive:.1f} s per authority; **extrapolated** to the batch's {n_reports} reports: "
              f"{naive_total:.0f} s ({naive_total / 3600:.1f} h). The batch is **{ratio:.1f} times faster**.", "",
              "### Targets (issue 16)", ""]
    run_ok = b["wall_s"] <= TARGET_RUN_S
    if sampled:
        lines.append("- whole national run in at most 5 min on 2 cores: not measured by this run (a sample); see the "
                     "note above this section")
    else:
        lines.append(_target(run_ok, f"whole national run in at most {TARGET_RUN_S / 60:.0f} "
                     f"min on 2 cores ({b['wall_s']:.0f} s; the aim of {AIM_RUN_S / 60:.0f} min "
                     f"{'met' if b['wall_s'] <= AIM_RUN_S else 'missed'})"))
    lines.append(_target(ratio >= TARGET_RATIO, f"at least {TARGET_RATIO:.0f} times faster "
                 f"than the naive loop ({ratio:.1f}x)"))
    lines.append("- all figures for all authorities of one year in 10 s, peak memory under 4 GB at 16 years, load "
                 "growing linearly: measured by run.py, in the sections above.")
    lines += ["", "### Targets (issue 26: the whole national run, publishable, in five minutes)", ""]
    if not sampled:
        lines.append(_target(run_ok, f"the whole national run (153 authorities, all "
                     f"authorities, the comparison, real notebooks) from the command a user types to a publishable "
                     f"verdict in at most {TARGET_RUN_S:.0f} s ({b['wall_s']:.0f} s; audit "
                     f"{'publishable' if b['audit']['ok'] else 'NOT publishable'})"))
    lines.append(_target(ratio >= TARGET_RATIO, f"at least {TARGET_RATIO:.0f} times the naive "
                 f"loop measured in the same run ({ratio:.1f}x)"))
    lines.append(_target(warm is not None and warm <= TARGET_WARM_S, f"one warm authority "
                 f"report in at most {TARGET_WARM_S} s, median over the run "
                 f"({'n/a' if warm is None else f'{warm:.2f} s'}; where the time goes: the table above)"))
    one = rec.get("one_authority")
    if one:
        ok = one["wall_s"] <= TARGET_LA_S and one["publishable"]
        st = one["run_stages_s"]
        lines.append(_target(ok, f"`rhi batch DATA --la {one['la']}` on the national data from "
                     f"start to a publishable verdict in at most {TARGET_LA_S:.0f} s ({one['wall_s']:.1f} s for the "
                     f"whole command, its one report included: load and validate "
                     f"{st.get('load and validate', 0):.1f} s, tables {st.get('publication: tables', 0):.1f} s, "
                     f"suppression {st.get('publication: suppression', 0):.1f} s, audit "
                     f"{st.get('disclosure audit', 0):.1f} s, the report {one['report_s']} s; verdict: "
                     f"{one['verdict'].split(':')[0]})"))
    stages = b["run_stages_s"]
    protection = stages.get("publication: suppression", 0.0) + stages.get("disclosure audit", 0.0)
    audit, pub, box = b["audit"], b["publication"], b.get("headline_box")
    lines += ["", "### Targets (issue 25: protection that keeps the headline)", ""]
    if not sampled:
        lines.append(_target(protection <= TARGET_PROTECTION_S, f"suppression and disclosure "
                     f"audit together in under {TARGET_PROTECTION_S:.0f} s on 2 cores ({protection:.0f} s: "
                     f"suppression {stages.get('publication: suppression', 0.0):.0f} s, audit "
                     f"{stages.get('disclosure audit', 0.0):.0f} s, from the run's own stages)"))
    publishable = audit["ok"] and not audit.get("leaks") and not audit.get("unresolved")
    lines.append(_target(publishable, f"the audit says publishable ({audit['leaks']} leaks, "
                 f"{audit.get('unresolved', 0)} unresolved)"))
    lines.append(_target(pub['secondary'] <= pub['primary'], f"secondary suppressions at most "
                 f"the primary ones ({pub['secondary']:,} against {pub['primary']:,})"))
    if box:
        ok = not box["suppressed"] and not box["absent"]
        lines.append(_target(ok, f"every authority shows its notified episodes and children and "
                     f"the episodes offered and completed an RHI as numbers ({box['shown']:,} of {box['figures']:,} "
                     f"shown over {box['authorities']} authorities; suppressed: "
                     f"{', '.join(box['suppressed'][:10]) or 'none'}; absent: {box['absent']})"))
    lines += ["", END]
    return lines


def write_section(lines: list[str]) -> None:
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    block = "\n".join(lines) + "\n"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        tail = rest.split(END, 1)[1].lstrip("\n")
        text = head + block + ("\n" + tail if tail else "")
    else:
        text = text.rstrip("\n") + "\n\n" + block
    RESULTS.write_text(text)


def git_state() -> str:
    proc = run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"])
    dirty = run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"]).stdout.strip()
    return (proc.stdout.strip() or "unknown") + (" (uncommitted changes)" if dirty else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--naive", type=int, default=5, help="authorities in the naive loop (at least 5)")
    parser.add_argument("--work", type=Path, default=None, help="folder for the data and runs (default: temporary)")
    parser.add_argument("--keep", action="store_true", help="keep --work afterwards")
    parser.add_argument("--sample", action="store_true",
                        help="run the batch and the naive loop on the --naive authorities only (their rows of the "
                             "national data), not the whole national run")
    parser.add_argument("--scale", default="national", choices=("national", "study"),
                        help="study: a quick check of the benchmark itself (3 authorities); nothing is written")
    parser.add_argument("--section-only", action="store_true",
                        help="rewrite the results.md section from results_batch.json without measuring")
    args = parser.parse_args()
    if args.section_only:
        write_section(section(json.loads(RECORD.read_text())))
        return
    if args.naive < 5:
        parser.error("--naive must be at least 5")
    write = args.scale == "national"
    work = args.work or Path(tempfile.mkdtemp(prefix="rhi-bench-batch-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        data = work / "national"
        if any((work / name).exists() for name in ("run", "run-la", "naive")):
            sys.exit(f"{work} holds an earlier benchmark's runs: give an empty --work folder")
        print("making the national dataset ...", flush=True)
        synth_s = make_data(data, args.scale)
        sample = sample_authorities(data, args.naive)
        if args.sample:
            data = write_sample(data, [la for la, _ in sample], work / "sample")
        print(f"rhi batch --jobs {args.jobs} (several minutes) ...", flush=True)
        batch = time_batch(data, work / "run", args.jobs)
        print(f"  {batch['wall_s']:.0f} s", flush=True)
        middle = sample[len(sample) // 2][0]   # an authority of middling size, as a council analyst would ask for
        print(f"rhi batch --la {middle} ...", flush=True)
        one = time_one_authority(data, middle, work / "run-la", args.jobs)
        print(f"  {one['wall_s']:.1f} s", flush=True)
        naive = []
        for la, episodes in sample:
            print(f"naive loop: {la} ({episodes:,} episodes) ...", flush=True)
            r = naive_report(data, la, work / "naive" / la)
            r["episodes"] = episodes
            naive.append(r)
            print(f"  {r['total_s']:.0f} s", flush=True)
        from analysis.run.batch import discover_notebooks

        rec = {"date": datetime.now().strftime("%Y-%m-%d %H:%M"), "machine": machine(), "git": git_state(),
               "scale": args.scale, "sample": [la for la, _ in sample] if args.sample else None,
               "jobs": args.jobs, "synth_s": synth_s, "episodes": sum(1 for _ in open(data / "episodes.csv")) - 1,
               "notebooks": [p.name[:2] for p in discover_notebooks()[0] if not p.name.startswith("05_")],
               "batch": batch, "naive": {"reports": naive}, "one_authority": one,
               "bytecode": bytecode_compiled(), "dont_write_bytecode": bool(os.environ.get("PYTHONDONTWRITEBYTECODE"))}
        lines = section(rec)
        if write:
            RECORD.write_text(json.dumps(rec, indent=1) + "\n")
            write_section(lines)
        print("\n".join(lines))
    finally:
        if not args.keep and args.work is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
