"""Run every notebook claim across seeds and thread counts, and print how much margin each keeps.

    python tools/claims.py                 # every claim, seeds 0 1 2, threads 1 2 4
    python tools/claims.py 02 11           # only the claims of notebooks 02 and 11
    python tools/claims.py --seeds 0 --threads 1 --jobs 1

A notebook asserts what its prose says with its own seed. A student's kernel has another seed
nowhere, but it has another thread count (2-16, not CI's 1), so the floating-point path of a
training run differs; a claim that holds for one seed at one thread count is not a finding.

Each file ``claims/claims_NN.py`` holds the claims of notebook ``NN``: functions named
``claim_*`` that take ``seed`` (an int), run the same library experiment the notebook runs, and
return the **margin**: a float that is positive when the claim holds (for "A beats B by 0.05",
``a - b - 0.05``), or a pair ``(margin, detail)`` where ``detail`` is a short string of the
measured numbers. The first line of the docstring is the claim as the notebook states it.

Each (file, thread count) runs in a fresh process that sets ``torch.set_num_threads`` (and
``OMP_NUM_THREADS``) before any work, so every case takes the floating-point path a student's
kernel with that many threads takes. The table lists, per claim, the worst margin and the case
that produced it; the exit status is 1 if any case has a margin <= 0 or raised.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLAIMS = ROOT / "claims"


def claim_files(only: list[str] | None = None) -> list[Path]:
    files = sorted(CLAIMS.glob("claims_*.py"))
    if only:
        files = [f for f in files if any(f.stem.removeprefix("claims_").startswith(o) for o in only)]
    return files


def load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def claims_of(module) -> list[tuple[str, object]]:
    return [(name, fn) for name, fn in vars(module).items() if name.startswith("claim_") and callable(fn)]


def run_one_file(path: Path, threads: int, seeds: list[int]) -> list[dict]:
    """In this process: set the thread count, run every claim of ``path`` for every seed."""
    import torch

    torch.set_num_threads(threads)
    rows = []
    module = load(path)
    for name, fn in claims_of(module):
        text = (fn.__doc__ or name).strip().splitlines()[0]
        for seed in seeds:
            start = time.perf_counter()
            try:
                result = fn(seed)
                margin, detail = result if isinstance(result, tuple) else (result, "")
                margin, error = float(margin), ""
            except Exception:  # a claim that crashes is a failed claim, with its traceback
                margin, detail, error = float("nan"), "", traceback.format_exc(limit=3)
            rows.append(
                {
                    "file": path.stem,
                    "claim": name,
                    "text": text,
                    "seed": seed,
                    "threads": threads,
                    "margin": margin,
                    "detail": str(detail),
                    "error": error,
                    "seconds": time.perf_counter() - start,
                }
            )
    return rows


def _worker(args: argparse.Namespace) -> int:
    rows = run_one_file(Path(args.worker), args.threads, args.seeds)
    print("CLAIMS-JSON " + json.dumps(rows))
    return 0


def _spawn(path: Path, threads: int, seeds: list[int]) -> list[dict]:
    env = dict(
        os.environ,
        OMP_NUM_THREADS=str(threads),
        MKL_NUM_THREADS=str(threads),
        LESSONS_NUM_THREADS=str(threads),
        MPLBACKEND="Agg",
        PYTHONHASHSEED="0",
        # idle OpenMP threads sleep instead of spinning: several workers share the cores, and
        # spinning threads would starve each other (it changes the waiting, not the arithmetic)
        OMP_WAIT_POLICY="PASSIVE",
    )
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        str(path),
        "--threads",
        str(threads),
        "--seeds",
        *map(str, seeds),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    for line in proc.stdout.splitlines():
        if line.startswith("CLAIMS-JSON "):
            return json.loads(line[len("CLAIMS-JSON ") :])
    return [
        {
            "file": path.stem,
            "claim": "(import)",
            "text": f"{path.name} did not run",
            "seed": -1,
            "threads": threads,
            "margin": float("nan"),
            "detail": "",
            "error": (proc.stderr or proc.stdout)[-2000:],
            "seconds": 0.0,
        }
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("notebooks", nargs="*", help="notebook numbers (prefixes), e.g. 02 11")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument(
        "--jobs",
        type=int,
        default=2,
        help="one-thread processes at once (default 2); several-thread cases run one at a time",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        args.threads = args.threads[0]
        return _worker(args)

    files = claim_files(args.notebooks)
    if not files:
        print("no claim files found under claims/")
        return 1
    # One-thread cases run `jobs` at a time; a case with several threads runs alone, so that
    # workers never hold more threads than there are cores (oversubscribed OpenMP threads spend
    # their time waiting for each other, several times slower than the work itself).
    single = [(f, t) for f in files for t in args.threads if t == 1]
    multi = [(f, t) for f in files for t in args.threads if t > 1]
    start = time.perf_counter()
    rows: list[dict] = []
    for cases, jobs in ((single, args.jobs), (multi, 1)):
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            for result in pool.map(lambda case: _spawn(case[0], case[1], args.seeds), cases):
                rows += result
    wall = time.perf_counter() - start

    by_claim: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        by_claim.setdefault((row["file"], row["claim"]), []).append(row)
    failed = 0
    print(f"{'claim':<72} {'worst margin':>12}  {'worst case':<16} {'cases':>5}  detail of worst")
    for (file, claim), group in sorted(by_claim.items()):
        bad = [r for r in group if not r["margin"] > 0]
        worst = min(group, key=lambda r: (r["margin"] == r["margin"], r["margin"]))
        failed += bool(bad)
        label = f"[{file.removeprefix('claims_')}] {worst['text']}"
        case = f"seed {worst['seed']}, {worst['threads']} thr"
        status = "" if not bad else f"  FAILED in {len(bad)}/{len(group)}"
        print(f"{label[:72]:<72} {worst['margin']:>12.4f}  {case:<16} {len(group):>5}  {worst['detail'][:60]}{status}")
        for r in bad:
            if r["error"]:
                print("    " + r["error"].strip().replace("\n", "\n    "))
    total = sum(r["seconds"] for r in rows)
    print(
        f"\n{len(by_claim)} claims, {len(rows)} cases, {failed} failed; "
        f"{total:.0f} s of claim time, {wall:.0f} s wall with {args.jobs} job(s)"
    )
    print(f"claims: {len(by_claim) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
