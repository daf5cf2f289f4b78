"""Speed of ``render_heatmaps`` (vectorized) against ``draw_labelmap`` in a Python loop.

    LESSONS_NUM_THREADS=1 python benchmarks/bench_heatmaps.py   (make bench: 1 and 2 threads, quiet and loaded)

Workload: 32 images x 17 keypoints (COCO's count) on 64 x 48 maps (HRNet's heatmap size for a
256 x 192 input), sigma 1 and 2, about 10 % of the points outside the map. Both sides produce the
same tensor (checked with torch.equal before timing). Median of repeats after a warm-up, at the
thread count ``import lessons`` chose (``LESSONS_NUM_THREADS``).
"""

from __future__ import annotations

import statistics
import time

import torch

from lessons.heatmaps import draw_labelmap, render_heatmaps

B, K, H, W = 32, 17, 64, 48


def loop_render(keypoints: torch.Tensor, sigma: float, kind: str) -> torch.Tensor:
    """The reference way: one draw_labelmap call per (image, keypoint)."""
    out = torch.zeros(B, K, H, W)
    for b in range(B):
        for k in range(K):
            x, y = keypoints[b, k].tolist()
            out[b, k] = draw_labelmap(out[b, k], (x, y), sigma, kind)[0]
    return out


def median_time(fn, repeats: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    g = torch.Generator().manual_seed(0)
    keypoints = torch.rand(B, K, 2, generator=g) * torch.tensor([W + 8.0, H + 8.0]) - 4.0  # (B, K, 2)

    print(f"{B} images x {K} keypoints, maps {H} x {W}, {torch.get_num_threads()} thread(s)")
    print(f"{'case':<22} {'loop (ms)':>10} {'vectorized (ms)':>16} {'speed-up':>9}")
    ratios = []
    for sigma, kind in ((2, "gaussian"), (1, "gaussian"), (2, "cauchy")):
        fast = render_heatmaps(keypoints, (H, W), sigma, kind=kind)
        assert torch.equal(fast, loop_render(keypoints, sigma, kind)), "vectorized != loop"
        t_loop = median_time(lambda: loop_render(keypoints, sigma, kind), repeats=5)
        t_fast = median_time(lambda: render_heatmaps(keypoints, (H, W), sigma, kind=kind), repeats=30)
        ratios.append(t_loop / t_fast)
        print(f"{kind + ', sigma=' + str(sigma):<22} {1e3 * t_loop:10.2f} {1e3 * t_fast:16.3f} {t_loop / t_fast:8.1f}x")
    t_sub = median_time(lambda: render_heatmaps(keypoints, (H, W), 2, subpixel=True), repeats=30)
    print(f"{'gaussian, subpixel':<22} {'-':>10} {1e3 * t_sub:16.3f} {'-':>9}")
    print(f"smallest speed-up: {min(ratios):.1f}x (target: >= 20x)")


if __name__ == "__main__":
    main()
