"""Experiment of notebook 08, part 1: train a small DensePose head and measure it on held-out poses.

:func:`experiment_densepose` trains a tiny backbone + :class:`lessons.densepose.DensePoseHead` on
procedural bodies (:func:`lessons.data.make_bodies`) with sparse point annotations, the way
DensePose-COCO annotates people, and scores the predicted IUV images densely on bodies in poses
it has never seen.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor, nn

from lessons._checks import as_generator, check_int
from lessons.data.bodies import BODY_PARTS, Bodies, make_bodies
from lessons.densepose import DensePoseHead, DensePoseOutput, densepose_inference, densepose_loss
from lessons.roi import roi_align

__all__ = ["DensePoseNet", "PointAnnotations", "sample_point_annotations", "iuv_errors", "experiment_densepose"]

#: Texels per side of the chart in which UV errors are reported (the texture of the notebook).
CHART_TEXELS = 32


class PointAnnotations(NamedTuple):
    """Sparse DensePose-style annotations: points inside each box with their ``(I, U, V)``.

    Attributes:
        points (Tensor[N, M, 2]): box-relative ``(x, y)`` in ``[0, 1]``.
        parts (Tensor[N, M]): int64 ``I`` (0 background).
        u (Tensor[N, M]): ``U`` (0 on the background).
        v (Tensor[N, M]): ``V``.
    """

    points: Tensor
    parts: Tensor
    u: Tensor
    v: Tensor


def sample_point_annotations(
    bodies: Bodies, *, n_body: int = 64, n_background: int = 32, seed: int | torch.Generator = 0
) -> PointAnnotations:
    """Pick ``n_body`` pixels on each body and ``n_background`` in its box off the body (with replacement).

    Each point is a pixel centre, so its ``(I, U, V)`` is the rendered ground truth there.
    """
    check_int("n_body", n_body, minimum=1)
    check_int("n_background", n_background, minimum=0)
    g = as_generator("seed", seed)
    n, height, width = bodies.parts.shape
    ys = torch.arange(height, dtype=torch.float32)[:, None].expand(height, width) + 0.5  # (H, W)
    xs = torch.arange(width, dtype=torch.float32)[None, :].expand(height, width) + 0.5
    pts, parts, us, vs = [], [], [], []
    for k in range(n):
        x1, y1, x2, y2 = bodies.boxes[k].tolist()
        in_box = (xs > x1) & (xs < x2) & (ys > y1) & (ys < y2)
        fg = (bodies.parts[k] > 0).reshape(-1).nonzero()[:, 0]
        bg = (in_box & (bodies.parts[k] == 0)).reshape(-1).nonzero()[:, 0]
        pick = [fg[torch.randint(len(fg), (n_body,), generator=g)]]
        if n_background:
            pick.append(bg[torch.randint(len(bg), (n_background,), generator=g)])
        idx = torch.cat(pick)  # (M,) flat pixel indices
        px, py = xs.reshape(-1)[idx], ys.reshape(-1)[idx]
        pts.append(torch.stack([(px - x1) / (x2 - x1), (py - y1) / (y2 - y1)], dim=1))  # (M, 2)
        parts.append(bodies.parts[k].reshape(-1)[idx])
        us.append(bodies.uv[k, 0].reshape(-1)[idx])
        vs.append(bodies.uv[k, 1].reshape(-1)[idx])
    return PointAnnotations(torch.stack(pts), torch.stack(parts), torch.stack(us), torch.stack(vs))


class DensePoseNet(nn.Module):
    """A tiny DensePose R-CNN without the detector: backbone -> RoIAlign on the given boxes -> head.

    Backbone: three 3x3 convolutions (strides 1, 2, 1) to 32 channels at stride 2. RoIAlign:
    14 x 14, sampling ratio 2, ``aligned=True`` (detectron2's ROIAlignV2). Head:
    :class:`lessons.densepose.DensePoseHead` with 28 x 28 outputs.
    """

    def __init__(self, num_parts: int = len(BODY_PARTS), channels: int = 32) -> None:
        super().__init__()
        c = channels
        self.backbone = nn.Sequential(
            nn.Conv2d(3, c // 2, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(c // 2, c, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(c, c, 3, padding=1),
            nn.ReLU(),
        )
        self.head = DensePoseHead(c, num_parts=num_parts, hidden=c, num_convs=2)

    def forward(self, images: Tensor, boxes: Tensor) -> DensePoseOutput:
        features = self.backbone(images)  # (B, C, H/2, W/2)
        rois = roi_align(features, list(boxes[:, None]), 14, spatial_scale=0.5, sampling_ratio=2, aligned=True)
        return self.head(rois)  # (K, P+1, 28, 28) x 3


def iuv_errors(pred_iuv: Tensor, parts: Tensor, uv: Tensor) -> tuple[float, float]:
    """Part accuracy on the body's pixels, and the mean UV error (in chart texels) where the part is right."""
    fg = parts > 0  # (N, H, W)
    right = fg & (pred_iuv[:, 0].round().long() == parts)
    accuracy = right.sum().item() / max(fg.sum().item(), 1)
    err = torch.linalg.vector_norm(pred_iuv[:, 1:] - uv, dim=1)  # (N, H, W)
    return accuracy, (err[right].mean().item() * CHART_TEXELS) if right.any() else float("nan")


def experiment_densepose(
    *, seed: int = 0, n_train: int = 256, n_test: int = 48, steps: int = 150, batch: int = 12, size: int = 64
) -> dict:
    """Train briefly on point annotations; score the dense IUV prediction on held-out poses.

    Returns:
        dict: ``part_accuracy`` (fraction of body pixels with the right part), ``mask_iou`` (IoU of
        the predicted and the true body masks, ``I > 0``), ``uv_error`` (mean
        ``||(dU, dV)||`` in texels of a 32 x 32 chart, on pixels whose part is right),
        ``uv_error_centre`` (the same for a constant guess at the chart's centre), ``loss_first`` and
        ``loss_last`` (training loss, mean of the first and last 20 steps), and ``examples``: the
        first four test bodies as a :class:`lessons.data.bodies.Bodies` with the predicted IUV
        images ``(4, 3, H, W)`` under ``examples_iuv`` (for figures).
    """
    g = as_generator("seed", seed)
    train = make_bodies(n_train, size, seed=g)
    test = make_bodies(n_test, size, seed=g)
    notes = sample_point_annotations(train, seed=g)
    torch.manual_seed(seed)
    model = DensePoseNet()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(steps):
        idx = torch.randint(n_train, (batch,), generator=g)
        out = model(train.images[idx], train.boxes[idx])
        loss = densepose_loss(out, notes.points[idx], notes.parts[idx], notes.u[idx], notes.v[idx]).total
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    with torch.no_grad():
        out = model(test.images, test.boxes)
        iuv = densepose_inference(out, test.boxes, size)  # (N, 3, H, W)
    accuracy, uv_error = iuv_errors(iuv, test.parts, test.uv)
    body, pred_body = test.parts > 0, iuv[:, 0] > 0
    mask_iou = ((body & pred_body).sum() / (body | pred_body).sum()).item()
    centre = iuv.clone()
    centre[:, 1:] = 0.5
    _, uv_centre = iuv_errors(centre, test.parts, test.uv)
    return {
        "part_accuracy": accuracy,
        "mask_iou": mask_iou,
        "uv_error": uv_error,
        "uv_error_centre": uv_centre,
        "loss_first": sum(losses[:20]) / 20,
        "loss_last": sum(losses[-20:]) / 20,
        "examples": Bodies(*(t[:4] for t in test)),
        "examples_iuv": iuv[:4],
    }
