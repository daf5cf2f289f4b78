"""FastNMS vs greedy NMS: time per call and the speed ratio, on one CPU thread (and CUDA if present).

    python benchmarks/bench_yolact.py

Greedy NMS is :func:`torchvision.ops.nms` (compiled C++/CUDA) and, for small N, the readable Python
loop :func:`lessons.nms.greedy_nms`. FastNMS (:func:`lessons.nms.fast_nms`) is a handful of
tensor ops: one N x N IoU matrix, ``triu``, a column max. The ratio ``greedy / fast`` > 1 means
FastNMS is faster. The boxes are clustered like detector outputs (several boxes per object), with
distinct random scores; ``kept`` shows how many boxes each keeps (FastNMS keeps a subset).
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from torch.utils import benchmark
from torchvision.ops import nms

try:
    from lessons.nms import fast_nms, greedy_nms
except ImportError:  # run from a checkout without installing the package
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from lessons.nms import fast_nms, greedy_nms


def clustered_boxes(n: int, device: torch.device, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` boxes jittered around ``n // 8 + 1`` objects in a 550x550 image, and distinct scores."""
    g = torch.Generator().manual_seed(seed)
    objects = n // 8 + 1
    centre = torch.rand(objects, 2, generator=g) * 500 + 25
    size = torch.rand(objects, 2, generator=g) * 80 + 20
    pick = torch.randint(objects, (n,), generator=g)
    c = centre[pick] + torch.randn(n, 2, generator=g) * 0.15 * size[pick]
    s = size[pick] * (1 + 0.2 * torch.randn(n, 2, generator=g)).clamp(min=0.5)
    boxes = torch.cat([c - s / 2, c + s / 2], dim=1)
    scores = torch.randperm(n, generator=g).float() / n
    return boxes.to(device), scores.to(device)


def median_seconds(fn, *args, min_run_time: float = 0.3) -> float:
    timer = benchmark.Timer(stmt="fn(*args)", globals={"fn": fn, "args": args}, num_threads=1)
    return timer.blocked_autorange(min_run_time=min_run_time).median


def run(device: torch.device) -> None:
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

    def timed(fn):
        def call(*args):
            out = fn(*args)
            sync()
            return out

        return call

    name = (
        f" ({torch.cuda.get_device_name(device)})"
        if device.type == "cuda"
        else f", {torch.get_num_threads()} thread(s)"
    )
    print(f"\ndevice: {device}{name}")
    header = (
        f"{'N':>6} {'fast_nms ms':>12} {'tv.nms ms':>10} {'tv/fast':>8} "
        f"{'loop ms':>9} {'loop/fast':>10} {'kept fast/greedy':>17}"
    )
    print(header)
    print("-" * len(header))
    for n in (50, 200, 1000, 4000):
        boxes, scores = clustered_boxes(n, device)
        for _ in range(3):  # warm-up
            fast_nms(boxes, scores, 0.5)
            nms(boxes, scores, 0.5)
        sync()
        t_fast = median_seconds(timed(fast_nms), boxes, scores, 0.5)
        t_tv = median_seconds(timed(nms), boxes, scores, 0.5)
        kept = f"{len(fast_nms(boxes, scores, 0.5))}/{len(nms(boxes, scores, 0.5))}"
        if n <= 200:
            t_loop = median_seconds(timed(greedy_nms), boxes, scores, 0.5, min_run_time=0.2)
            loop = f"{t_loop * 1e3:9.3f} {t_loop / t_fast:10.1f}"
        else:
            loop = f"{'-':>9} {'-':>10}"
        print(f"{n:6d} {t_fast * 1e3:12.3f} {t_tv * 1e3:10.3f} {t_tv / t_fast:8.2f} {loop} {kept:>17}")


def main() -> None:
    run(torch.device("cpu"))
    if torch.cuda.is_available():
        run(torch.device("cuda"))


if __name__ == "__main__":
    main()
