"""Benchmark: lessons.roi (plain PyTorch) against torchvision's compiled CPU kernels.

    python benchmarks/bench_roi.py            # LESSONS_NUM_THREADS threads (default 1), 5 repeats
    python benchmarks/bench_roi.py --repeat 3 --threads 1

Setup (issue #3): features 2 x 256 x 100 x 100 (a stride-16 map of two 1600 x 1600 images,
spatial_scale = 1/16), 512 RoIs, 7 x 7 output, float32, CPU. Boxes: log-uniform sides from 32 to
800 pixels (2 to 50 cells), uniform positions inside the image, random batch index.

Every number is a median over interleaved repeats (torchvision and ours alternate, so a noisy
neighbour slows both), and every ratio is ``ours / torchvision`` from the same run: < 1 is faster.
Peak memory is the growth of the resident set (Linux ``VmHWM`` after ``clear_refs``, with the
allocator's free memory trimmed first), including the output.

The adaptive-grid section also times the alternative design the issue suggests, padding every RoI
to the batch's largest grid and masking the unused samples, against the flat variable-length bags
that ``lessons.roi.roi_align`` uses.
"""

from __future__ import annotations

import argparse
import ctypes
import pathlib
import statistics
import sys
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
import torchvision
import torchvision.ops as tvo

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from lessons.roi import roi_align, roi_align_grid, roi_align_sample_coordinate, roi_pool  # noqa: E402
from lessons.roi_fast import bilinear_corners, channels_last_table  # noqa: E402

BATCH, CHANNELS, SIZE, NUM_ROIS, OUT, STRIDE = 2, 256, 100, 512, 7, 16


def make_inputs(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    image = SIZE * STRIDE
    x = torch.randn(BATCH, CHANNELS, SIZE, SIZE, generator=gen)
    log_side = torch.empty(NUM_ROIS, 2).uniform_(
        float(torch.log(torch.tensor(32.0))), float(torch.log(torch.tensor(800.0))), generator=gen
    )
    side = torch.exp(log_side)  # (K, 2) w, h in pixels
    corner = torch.rand(NUM_ROIS, 2, generator=gen) * (image - side)
    index = torch.randint(0, BATCH, (NUM_ROIS, 1), generator=gen).float()
    return x, torch.cat([index, corner, corner + side], dim=1)  # (K, 5)


def roi_align_padded_grid(input, rois, output_size, spatial_scale, aligned=False):
    """The alternative adaptive design: every RoI sampled on the batch's largest grid, extra samples
    masked out (weight 0). Same result as roi_align(sampling_ratio=-1); bags of fixed size."""
    _, channels, height, width = input.shape
    num_rois, dtype = rois.shape[0], input.dtype
    g = roi_align_grid(rois[:, 1:], output_size, spatial_scale, -1, aligned)  # the library's geometry
    top_h, top_w = int(g.grid_h.max()), int(g.grid_w.max())
    p = torch.arange(output_size, dtype=dtype)

    def axis(start, step, grid, top, size):  # (K, P, G) sample coordinates along one axis
        i = torch.arange(top, dtype=dtype)
        c = roi_align_sample_coordinate(
            start[:, None, None], step[:, None, None], p[None, :, None], i, grid.clamp(min=1).to(dtype)[:, None, None]
        )
        used = (torch.arange(top) < grid[:, None])[:, None, :]  # (K, 1, G)
        valid = (c >= -1) & (c <= size)
        low, high, w_low, w_high = bilinear_corners(c, size, valid)
        return low, high, w_low * (valid & used), w_high * (valid & used)

    yl, yh, wyl, wyh = axis(g.y1, g.bin_h, g.grid_h, top_h, height)  # (K, PH, GH)
    xl, xh, wxl, wxh = axis(g.x1, g.bin_w, g.grid_w, top_w, width)  # (K, PW, GW)
    row = rois[:, 0].long()[:, None, None, None, None] * height
    ys = torch.stack([yl, yh], -1)[:, :, None, :, None, :, None]  # (K, PH, 1, GH, 1, 2, 1)
    xs = torch.stack([xl, xh], -1)[:, None, :, None, :, None, :]  # (K, 1, PW, 1, GW, 1, 2)
    wy = torch.stack([wyl, wyh], -1)[:, :, None, :, None, :, None]
    wx = torch.stack([wxl, wxh], -1)[:, None, :, None, :, None, :]
    index = ((row[..., None, None] + ys) * width + xs).reshape(num_rois * output_size**2, -1)
    weight = (wy * wx).reshape(num_rois * output_size**2, -1)
    pooled = F.embedding_bag(index, channels_last_table(input), mode="sum", per_sample_weights=weight)
    count = (g.grid_h * g.grid_w).clamp(min=1).repeat_interleave(output_size**2).to(dtype)
    pooled = pooled / count[:, None]
    return pooled.reshape(num_rois, output_size, output_size, channels).permute(0, 3, 1, 2).contiguous()


def time_pairs(pairs: dict[str, Callable[[], object]], repeat: int) -> dict[str, float]:
    """Median wall time (ms) of each callable, repeats interleaved, after one warm-up call each."""
    for fn in pairs.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in pairs}
    for _ in range(repeat):
        for name, fn in pairs.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: 1000 * statistics.median(t) for name, t in times.items()}


def forward_backward(op: Callable[..., torch.Tensor], x: torch.Tensor, *args) -> Callable[[], None]:
    def run() -> None:
        leaf = x.detach().requires_grad_()
        out = op(leaf, *args)
        out.backward(torch.ones_like(out))

    return run


_LIBC = None


def peak_mb(fn: Callable[[], object]) -> float | None:
    """Growth of the resident set (MiB) while ``fn`` runs; None where Linux's counters are missing."""
    global _LIBC
    try:
        _LIBC = _LIBC or ctypes.CDLL("libc.so.6")
        _LIBC.malloc_trim(0)
        pathlib.Path("/proc/self/clear_refs").write_text("5")  # reset the high-water mark
        base = _status_mb("VmRSS")
        result = fn()
        del result
        return _status_mb("VmHWM") - base
    except (OSError, AttributeError, ValueError):
        return None


def _status_mb(field: str) -> float:
    for line in pathlib.Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1]) / 1024
    raise ValueError(field)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed repeats per case (default 5)")
    parser.add_argument(
        "--threads",
        type=int,
        nargs="+",
        default=[torch.get_num_threads()],
        help="intra-op threads (default: the count `import lessons` chose)",
    )
    args = parser.parse_args()

    x, rois = make_inputs()
    scale = 1.0 / STRIDE
    cells = (rois[:, 3:] - rois[:, 1:3]) * scale
    grid = torch.ceil(cells / OUT).clamp(min=1)
    print(
        f"features {tuple(x.shape)} float32, {NUM_ROIS} RoIs (sides {cells.min():.1f}-{cells.max():.1f} "
        f"cells), output {OUT}x{OUT}, spatial_scale 1/{STRIDE}; torch {torch.__version__}, "
        f"torchvision {torchvision.__version__}"
    )
    print(f"adaptive grid per bin side: {int(grid.min())} to {int(grid.max())} (mean {grid.mean():.1f})")

    # correctness first: a benchmark of a wrong answer is worthless
    for ratio in (2, -1):
        err = (roi_align(x, rois, OUT, scale, ratio) - tvo.roi_align(x, rois, OUT, scale, ratio)).abs().max()
        assert err < 1e-4, f"roi_align sampling_ratio={ratio} differs from torchvision by {err}"
    assert torch.equal(roi_pool(x, rois, OUT, scale), tvo.roi_pool(x, rois, OUT, scale))
    padded = roi_align_padded_grid(x, rois, OUT, scale)
    assert (padded - roi_align(x, rois, OUT, scale, -1)).abs().max() < 1e-4

    cases = {
        "roi_align sr=2  forward": (
            lambda: tvo.roi_align(x, rois, OUT, scale, 2),
            lambda: roi_align(x, rois, OUT, scale, 2),
        ),
        "roi_align sr=-1 forward (adaptive)": (
            lambda: tvo.roi_align(x, rois, OUT, scale, -1),
            lambda: roi_align(x, rois, OUT, scale, -1),
        ),
        "roi_pool        forward": (lambda: tvo.roi_pool(x, rois, OUT, scale), lambda: roi_pool(x, rois, OUT, scale)),
        "roi_align sr=2  forward+backward": (
            forward_backward(tvo.roi_align, x, rois, OUT, scale, 2),
            forward_backward(roi_align, x, rois, OUT, scale, 2),
        ),
        "roi_align sr=-1 forward+backward": (
            forward_backward(tvo.roi_align, x, rois, OUT, scale, -1),
            forward_backward(roi_align, x, rois, OUT, scale, -1),
        ),
        "roi_pool        forward+backward": (
            forward_backward(tvo.roi_pool, x, rois, OUT, scale),
            forward_backward(roi_pool, x, rois, OUT, scale),
        ),
    }
    for threads in args.threads:
        torch.set_num_threads(threads)
        print(f"\n--- {threads} thread(s): median of {args.repeat}, ms; ratio = lessons / torchvision ---")
        print(f"{'case':38s} {'torchvision':>12s} {'lessons':>10s} {'ratio':>7s}")
        for name, (reference, ours) in cases.items():
            t = time_pairs({"tv": reference, "ours": ours}, args.repeat)
            print(f"{name:38s} {t['tv']:12.1f} {t['ours']:10.1f} {t['ours'] / t['tv']:7.2f}")
        t = time_pairs(
            {
                "flat": lambda: roi_align(x, rois, OUT, scale, -1),
                "padded": lambda: roi_align_padded_grid(x, rois, OUT, scale),
            },
            args.repeat,
        )
        print(
            f"adaptive grid design: flat variable-length bags {t['flat']:.1f} ms, padded to the max grid "
            f"and masked {t['padded']:.1f} ms (ratio padded / flat {t['padded'] / t['flat']:.2f})"
        )

    torch.set_num_threads(1)
    print("\n--- peak memory growth, MiB (output included; the input itself is 19.5 MiB) ---")
    print(f"{'case':38s} {'torchvision':>12s} {'lessons':>10s}")
    for name, (reference, ours) in cases.items():
        tv_mb, our_mb = peak_mb(reference), peak_mb(ours)
        if tv_mb is None or our_mb is None:
            print(f"{name:38s} {'n/a':>12s} {'n/a':>10s}")
        else:
            print(f"{name:38s} {tv_mb:12.1f} {our_mb:10.1f}")
    print(
        f"{'roi_align sr=-1 padded-grid design':38s} {'':12s} "
        f"{peak_mb(lambda: roi_align_padded_grid(x, rois, OUT, scale)) or float('nan'):10.1f}"
    )


if __name__ == "__main__":
    main()
