"""Wall time of every notebook at several OMP_NUM_THREADS settings, quiet or beside a busy process.

    python benchmarks/notebook_threads.py                      # masters and students, 1 2 4 threads, loaded
    python benchmarks/notebook_threads.py --threads 2 --quiet solutions/03_yolact_prototypes.ipynb

Each notebook runs top to bottom in a plain kernel (``nbclient``, no test harness), with only
``OMP_NUM_THREADS`` (and ``MKL_NUM_THREADS``) set, the way a student's JupyterLab starts it. With
``--loaded`` (the default) one busy Python process runs beside it the whole time, standing in for a
browser or a second kernel. The table gives seconds per notebook and setting, and the ratio to the
notebook's budget (``metadata.lessons.budget_seconds``), and the CPU seconds (user + system) of the
notebook's process tree at each setting: on a loaded machine, where wall time says more about the
other processes than about the notebook, CPU time is what the notebook itself costs (with one
intra-op thread it is close to its wall time on a free core).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_once(path: Path, threads: int) -> tuple[float, float, str]:
    code = (
        "import sys, nbformat; from nbclient import NotebookClient; "
        "nb = nbformat.read(sys.argv[1], as_version=4); "
        "NotebookClient(nb, timeout=600, kernel_name='python3', "
        "resources={'metadata': {'path': sys.argv[2]}}).execute()"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("LESSONS_NUM_THREADS", "LESSONS_WIDGETS")}
    env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads), MPLBACKEND="Agg")
    start, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(
        [sys.executable, "-c", code, str(path), str(path.parent)], env=env, capture_output=True, text=True
    )
    status = "ok" if proc.returncode == 0 else "FAILED: " + proc.stderr.strip().splitlines()[-1][:80]
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the kernel is reaped by its nbclient process
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return time.perf_counter() - start, cpu, status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("paths", nargs="*", help="notebooks (default: every master and student version)")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--quiet", action="store_true", help="no competing busy process")
    args = parser.parse_args(argv)
    paths = [Path(p).resolve() for p in args.paths] or sorted((ROOT / "solutions").glob("*.ipynb")) + sorted(
        (ROOT / "notebooks").glob("*.ipynb")
    )
    busy = None if args.quiet else subprocess.Popen([sys.executable, "-c", "while True: pass"])
    failed = 0
    try:
        print(
            f"{'notebook':<46} "
            + " ".join(f"{f'{t} thr':>8}" for t in args.threads)
            + "  budget  worst ratio  cpu s per setting"
            + ("" if args.quiet else "   (with one busy process)")
        )
        for path in paths:
            budget = (
                json.loads(path.read_text(encoding="utf-8"))["metadata"].get("lessons", {}).get("budget_seconds", 60)
            )
            times, cpus, notes = [], [], []
            for threads in args.threads:
                seconds, cpu, status = run_once(path, threads)
                times.append(seconds)
                cpus.append(cpu)
                if status != "ok":
                    notes.append(f"{threads} thr {status}")
            failed += bool(notes) or max(times) > budget
            name = f"{path.parent.name}/{path.name}"
            print(
                f"{name[:46]:<46} "
                + " ".join(f"{t:8.1f}" for t in times)
                + f"  {budget:6.0f}  {max(times) / budget:11.2f}  cpu "
                + " ".join(f"{c:5.1f}" for c in cpus)
                + f"  {'; '.join(notes)}",
                flush=True,
            )
    finally:
        if busy is not None:
            busy.kill()
    print(f"{len(paths) - failed} of {len(paths)} notebooks ran within budget at every setting")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
