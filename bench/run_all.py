"""``make bench``: every benchmark in one run, its output printed as it goes, and every figure
written to one JSON file (default ``bench/results/latest.json``) with the date, the machine
and the command of each: what a round trip to PostgreSQL costs on this machine (``round_trip.py``,
to read the rest beside), the event path (``pipeline.py``, 20k, 100k and 1M events), the billing
run (``billing_run.py``) and the HTTP load (``http_load.py``, with its bare baseline, then each
kind of request alone for what it costs in CPU).

Figures on a shared 2-core machine are noisy: the aims' own figures are measured more than once
— the event path at 20k and 100k in three rounds of raw and Shebao in turn (the median ratio and
its range), the billing run at a million in three rounds (each on fresh data, the median ratio and
its range), the HTTP aim's rate in three runs — and the rest once: compare side by side, and run
it again.
Usage: python bench/run_all.py [--json FILE] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
AIM_RUNS = 3
# benches that write their figures with --json FILE
WRITES_JSON = {"billing_run.py", "http_load.py", "pipeline.py", "round_trip.py"}


def benches(quick: bool) -> list[tuple[str, list[str]]]:
    runs = 1 if quick else AIM_RUNS
    rounds = str(runs)
    return [
        ("round trip", ["round_trip.py", "--count", "5000" if quick else "20000", "--repeat", rounds]),
        ("pipeline 20k", ["pipeline.py", "--events", "20000", "--repeat", rounds]),
        ("pipeline 100k", ["pipeline.py", "--events", "20000" if quick else "100000", "--repeat", rounds]),
        # a million per-event handler calls would take minutes more and say nothing new
        ("pipeline 1M", ["pipeline.py", "--events", "20000" if quick else "1000000", "--kinds", "raw,batch"]),
        ("billing run", ["billing_run.py", "--enrolments", "20000" if quick else "200000"]),
        ("billing run 1M", ["billing_run.py", "--enrolments", "20000" if quick else "1000000", "--repeat", rounds]),
        ("http load 100/s", ["http_load.py", "--rate", "100", "--duration", "5" if quick else "20"]),
        ("http load 200/s", ["http_load.py", "--rate", "200", "--duration", "5" if quick else "20"]),
        # issue 13's aim: 200 applications/s and as many payments (35 % each of all routes), three runs
        *((f"http load 571/s ({run} of {runs})",
           ["http_load.py", "--rate", "571", "--duration", "5" if quick else "20"]) for run in range(1, runs + 1)),
        # what each kind of request costs in CPU, one kind at a time
        *((f"http cost {kind}", ["http_load.py", "--only", kind, "--rate", "100", "--duration", "5" if quick else "12",
                                 "--no-baseline"]) for kind in ("applications", "payments", "bills", "statements")),
    ]


def run(name: str, args: list[str]) -> dict:
    """Run one bench; its entry in the JSON file: the command as a stranger would type it (the
    figures' own file aside), its output and, from the benches that write them, its figures."""
    command = [sys.executable, str(BENCH / args[0]), *args[1:]]
    shown = " ".join(["python", *[str(Path(c).relative_to(BENCH.parent)) if c.startswith(str(BENCH)) else c
                                  for c in command[1:]]])
    figures_file = None
    if args[0] in WRITES_JSON:
        figures_file = Path(tempfile.mkstemp(suffix=".json")[1])
        command += ["--json", str(figures_file)]
    print(f"\n=== {name}: {shown}", flush=True)
    started = datetime.now(UTC)
    done = subprocess.run(command, capture_output=True, text=True, timeout=3600)
    # the service processes' own log lines are not figures
    lines = [line for line in done.stdout.splitlines() if " | " not in line[:20]]
    print("\n".join(lines), flush=True)
    if done.returncode != 0:
        print(done.stderr[-3000:], file=sys.stderr)
    entry = {"command": shown, "started_at": started.isoformat(), "exit_code": done.returncode, "output": lines}
    if figures_file is not None:
        if figures_file.stat().st_size:
            entry["figures"] = json.loads(figures_file.read_text())
        figures_file.unlink()
    return entry


def cpu_model() -> str | None:
    """The processor's name as Linux gives it (``/proc/cpuinfo``), to tell machines of one kind apart."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return None
    return next((line.partition(":")[2].strip() for line in lines if line.startswith("model name")), None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, default=BENCH / "results" / "latest.json")
    parser.add_argument("--quick", action="store_true", help="small sizes, to check the benches run")
    args = parser.parse_args(argv)
    results = {"date": datetime.now(UTC).isoformat(),
               "machine": {"cpus": os.cpu_count(), "cpu": cpu_model(), "platform": platform.platform(),
                           "python": platform.python_version()},
               "benches": {name: run(name, bench_args) for name, bench_args in benches(args.quick)}}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2))
    print(f"\nwritten to {args.json}")
    return 0 if all(b["exit_code"] == 0 for b in results["benches"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
