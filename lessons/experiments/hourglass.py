"""Notebook 07's experiments: add vs concat, stacks and intermediate supervision, the skip branch.

All three train small :class:`lessons.hourglass.StackedHourglass` networks on procedural stick
figures (:func:`lessons.data.make_stick_figures`) with MSE on sub-pixel Gaussian heatmaps
(:func:`lessons.heatmaps.render_heatmaps`), decode with :func:`lessons.heatmaps.decode_heatmaps`
and score with :func:`lessons.heatmaps.pck`. Every function takes ``seed`` (data, initial weights
and batch order) and returns plain numbers.

The scale is tiny so that a notebook trains six networks in seconds on one CPU thread: 48 x 48
images, 12 x 12 heatmaps, 16 channels, hourglasses of depth 2, 80 Adam steps of 16 images with a
linearly decaying learning rate, the per-pixel softmax cross-entropy of notebook 06. The numbers
describe this regime — networks that have seen about 1 300 images — not converged pose
estimators.
"""

from __future__ import annotations

import time
from typing import NamedTuple

import torch
from torch import Tensor

from lessons.data.figures import FIGURE_JOINTS, make_stick_figures
from lessons.heatmaps import decode_heatmaps, pck, render_heatmaps
from lessons.hourglass import StackedHourglass, count_parameters, heatmap_cross_entropy, intermediate_loss

__all__ = [
    "SIZE",
    "STRIDE",
    "SIGMA",
    "PCK_THRESHOLD",
    "FigureData",
    "figure_data",
    "to_heatmap",
    "to_image",
    "train",
    "evaluate",
    "experiment_merges",
    "experiment_stacks",
]

#: Image side, heatmap stride (the stem's), label spread in heatmap pixels, and PCK threshold.
SIZE, STRIDE, SIGMA = 48, 4, 1.0
#: PCK@0.1 of the image side: a joint is correct within 4.8 px.
PCK_THRESHOLD = 0.1

CHANNELS, DEPTH, STEPS, BATCH, LR = 16, 2, 80, 16, 4e-3


class FigureData(NamedTuple):
    """Training and test figures, with the training targets rendered once."""

    train_images: Tensor
    train_targets: Tensor
    test_images: Tensor
    test_keypoints: Tensor
    test_occluded: Tensor


def to_heatmap(xy: Tensor) -> Tensor:
    """Image ``(x, y)`` -> heatmap ``(u, v)``: heatmap pixel ``u`` covers image pixels ``4u .. 4u+3``."""
    return (xy + 0.5) / STRIDE - 0.5


def to_image(uv: Tensor) -> Tensor:
    """Heatmap ``(u, v)`` -> image ``(x, y)``, the inverse of :func:`to_heatmap`."""
    return (uv + 0.5) * STRIDE - 0.5


def figure_data(*, seed: int = 0, n_train: int = 512, n_test: int = 256) -> FigureData:
    """Stick figures for training (half of them with an occluder) and testing (every one occluded)."""
    gen = torch.Generator().manual_seed(1000 + seed)
    train = make_stick_figures(n_train, SIZE, occlusion=0.5, seed=gen)
    test = make_stick_figures(n_test, SIZE, occlusion=1.0, seed=gen)
    targets = render_heatmaps(to_heatmap(train.keypoints), SIZE // STRIDE, SIGMA, subpixel=True)  # (N, K, h, w)
    return FigureData(train.images, targets, test.images, test.keypoints, test.occluded)


def build(*, seed: int, num_stacks: int = 1, num_blocks: int = 1, merge: str = "add") -> StackedHourglass:
    """A small stacked hourglass; its initial weights come from ``torch.manual_seed(seed)``."""
    torch.manual_seed(seed)
    return StackedHourglass(
        num_stacks, len(FIGURE_JOINTS), CHANNELS, DEPTH, in_channels=1, num_blocks=num_blocks, merge=merge
    )


def train(
    model: StackedHourglass,
    data: FigureData,
    *,
    seed: int,
    supervise: str = "all",
    steps: int = STEPS,
    batch: int = BATCH,
    lr: float = LR,
) -> float:
    """Adam on the heatmap MSE; ``supervise="all"`` sums every stack's loss, ``"last"`` only the last.

    Returns the CPU seconds spent.
    """
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    # a linear decay to zero: short runs end much closer to a minimum than at a constant rate
    schedule = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 1 - step / steps)
    order = torch.Generator().manual_seed(2000 + seed)
    model.train()
    start = time.process_time()
    for _ in range(steps):
        idx = torch.randint(0, len(data.train_images), (batch,), generator=order)
        outputs = model(data.train_images[idx])
        target = data.train_targets[idx]
        if supervise == "all":
            loss = intermediate_loss(outputs, target, loss="cross-entropy")
        else:
            loss = heatmap_cross_entropy(outputs[-1], target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        schedule.step()
    return time.process_time() - start


@torch.no_grad()
def predict(model: StackedHourglass, images: Tensor) -> list[Tensor]:
    """Decoded image coordinates ``(N, K, 2)`` for every stack's output (DARK decoding)."""
    model.eval()
    maps = [torch.softmax(out.flatten(2), dim=-1).view_as(out) for out in model(images)]  # (N, K, h, w)
    return [to_image(decode_heatmaps(m, "dark")[0]) for m in maps]


def evaluate(model: StackedHourglass, data: FigureData) -> dict[str, object]:
    """PCK@0.1 (all joints, occluded joints, visible joints) and mean error, per stack output."""
    rows = []
    kp, occ = data.test_keypoints, data.test_occluded
    for pred in predict(model, data.test_images):
        err = torch.linalg.vector_norm(pred - kp, dim=-1)  # (N, K)
        rows.append(
            {
                "pck": pck(pred, kp, threshold=PCK_THRESHOLD, normalize=float(SIZE)).item(),
                "pck_occluded": pck(pred, kp, threshold=PCK_THRESHOLD, normalize=float(SIZE), visible=occ).item(),
                "pck_seen": pck(pred, kp, threshold=PCK_THRESHOLD, normalize=float(SIZE), visible=~occ).item(),
                "error": err.mean().item(),
                "error_seen": err[~occ].mean().item(),
            }
        )
    return {"stacks": rows, "parameters": count_parameters(model)}


def _ms_per_image(model: StackedHourglass, images: Tensor) -> float:
    model.eval()
    with torch.no_grad():
        start = time.process_time()
        model(images)
        return 1e3 * (time.process_time() - start) / len(images)


def experiment_merges(
    *, seed: int = 0, data: FigureData | None = None, models: dict | None = None
) -> dict[str, dict[str, float]]:
    """Experiments 1 and 3: one stack with ``merge="add"`` (the hourglass), ``"concat"`` (U-Net
    style) and ``"none"`` (no skip branches), same depth, data, initial seed and training.

    Returns ``{merge: {"pck", "pck_occluded", "pck_seen", "error", "error_seen", "parameters",
    "train_s", "ms_per_image"}}``; pass a dict as ``models`` to get the trained networks in it.
    """
    data = figure_data(seed=seed) if data is None else data
    result = {}
    for merge in ("add", "concat", "none"):
        model = build(seed=seed, merge=merge)
        seconds = train(model, data, seed=seed)
        scores = evaluate(model, data)
        result[merge] = {
            **scores["stacks"][-1],
            "parameters": scores["parameters"],
            "train_s": seconds,
            "ms_per_image": _ms_per_image(model, data.test_images),
        }
        if models is not None:
            models[merge] = model
    return result


def experiment_stacks(
    *, seed: int = 0, data: FigureData | None = None, models: dict | None = None
) -> dict[str, dict[str, object]]:
    """Experiment 2: one stack with two residual modules per block vs two stacks with one (about
    the same compute), the two stacks trained with and without intermediate supervision.

    Returns ``{name: {"stacks": [scores per stack output], "parameters", "train_s"}}``.
    """
    data = figure_data(seed=seed) if data is None else data
    result = {}
    for name, stacks, blocks, supervise in (
        ("1 stack", 1, 2, "all"),
        ("2 stacks, intermediate", 2, 1, "all"),
        ("2 stacks, last only", 2, 1, "last"),
    ):
        model = build(seed=seed, num_stacks=stacks, num_blocks=blocks)
        seconds = train(model, data, seed=seed, supervise=supervise)
        scores = evaluate(model, data)
        result[name] = {"stacks": scores["stacks"], "parameters": scores["parameters"], "train_s": seconds}
        if models is not None:
            models[name] = model
    return result
