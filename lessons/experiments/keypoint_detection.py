"""Notebook 09's experiments: corner pooling, corner grouping and the centre check, decoding speed.

Each function takes ``seed`` and returns plain numbers; the notebook prints and asserts them and
``claims/claims_09.py`` reruns them for several seeds and thread counts.

* :func:`experiment_corner_pooling` trains the same tiny corner detector with and without corner
  pooling on disks and triangles (whose box corners lie on background) and measures corner error
  and AP-lite.
* :func:`experiment_grouping` decodes **simulated** head outputs on crowded scenes — heatmaps drawn
  at the true corners and centres, embeddings one unit apart per object plus noise — with naive
  nearest-corner pairing, with embedding pairing, and with embedding pairing + CenterNet's triplet
  check, and counts the false pairs. It measures the decoding rules, not a training run.
* :func:`experiment_speed` times the decoding of a CornerNet head against an anchor head
  (RetinaNet-style: per-anchor scores and box deltas, then NMS) on outputs of the same size, and
  counts each head's parameters and outputs.
"""

from __future__ import annotations

import time
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.ops import batched_nms

from lessons._checks import as_generator
from lessons.boxes import box_iou
from lessons.data.box_scenes import make_box_scenes
from lessons.keypoint_detection import (
    CornerPooling,
    Detections,
    average_precision,
    decode_centers,
    decode_corners,
    draw_gaussian,
    focal_loss,
    gaussian_radius,
    triplet_check,
)

__all__ = [
    "CornerDetector",
    "corner_targets",
    "experiment_corner_pooling",
    "simulate_outputs",
    "peaks",
    "pair_nearest",
    "experiment_grouping",
    "experiment_speed",
]


# ----------------------------------------------------------------------------- experiment 1


class _PlainBlock(CornerPooling):
    """:class:`CornerPooling` with the two pools removed: same layers, same parameters."""

    def forward(self, x: Tensor) -> Tensor:
        return self.out(F.relu(self.merge(self.branch_a(x) + self.branch_b(x)) + self.skip(x)))


class CornerDetector(nn.Module):
    """A tiny single-class corner detector: a 2-conv stem, then one block per corner type.

    The block is CornerNet's pooling module (``pool=True``) or the same layers without the pools;
    a 1x1 conv gives the corner logits. Output ``(B, 2, H, W)``: top-left and bottom-right logits.
    """

    def __init__(self, pool: bool, channels: int = 8) -> None:
        super().__init__()
        block = CornerPooling if pool else _PlainBlock
        self.stem = nn.Sequential(
            nn.Conv2d(3, channels, 3, padding=1), nn.ReLU(), nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU()
        )
        self.tl = nn.Sequential(block(channels, channels, corner="top_left"), nn.Conv2d(channels, 1, 1))
        self.br = nn.Sequential(block(channels, channels, corner="bottom_right"), nn.Conv2d(channels, 1, 1))
        for head in (self.tl, self.br):  # start with a low corner probability, as CornerNet does (-2.19)
            nn.init.constant_(head[1].bias, -2.19)

    def forward(self, x: Tensor) -> Tensor:
        f = self.stem(x)  # (B, C, H, W)
        return torch.cat([self.tl(f), self.br(f)], dim=1)  # (B, 2, H, W)


def corner_targets(boxes: list[Tensor], size: tuple[int, int]) -> Tensor:
    """Corner heatmaps ``(B, 2, H, W)``: a bump of CornerNet's radius at each box's two corners."""
    out = torch.zeros(len(boxes), 2, *size)
    for b, bx in enumerate(boxes):
        for x1, y1, x2, y2 in bx.tolist():
            r = max(0, int(gaussian_radius(y2 - y1, x2 - x1)))
            out[b, 0] = draw_gaussian(out[b, 0], (x1, y1), r)
            out[b, 1] = draw_gaussian(out[b, 1], (x2, y2), r)
    return out


class PoolingResult(NamedTuple):
    """Per model (``"plain"``, ``"pooling"``): mean corner error in pixels, AP@0.5, AP@0.75, seconds."""

    corner_error: dict[str, float]
    ap50: dict[str, float]
    ap75: dict[str, float]
    seconds: dict[str, float]


def experiment_corner_pooling(
    *,
    seed: int = 0,
    n_train: int = 192,
    n_test: int = 96,
    steps: int = 120,
    batch: int = 8,
    size: int = 32,
    lr: float = 6e-3,
) -> PoolingResult:
    """Train :class:`CornerDetector` with and without corner pooling on the same data and seed.

    One disk or triangle per image; the box is the top-left argmax paired with the bottom-right
    argmax, scored by their mean probability. Adam (lr 3e-3), focal loss, ``steps`` steps.
    """
    data = make_box_scenes(n_train + n_test, size, 1, seed=seed)
    x_train, x_test = data.images[:n_train], data.images[n_train:]
    y_train = corner_targets(data.boxes[:n_train], (size, size))
    gt_test = data.boxes[n_train:]
    result = PoolingResult({}, {}, {}, {})
    for name in ("plain", "pooling"):
        torch.manual_seed(seed)
        model = CornerDetector(pool=name == "pooling")
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        g = as_generator("seed", seed)
        start = time.process_time()
        model.train()
        for _ in range(steps):
            idx = torch.randint(n_train, (batch,), generator=g)
            loss = focal_loss(model(x_train[idx]), y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            prob = torch.sigmoid(model(x_test)).flatten(2)  # (N, 2, H*W)
        score, idx = prob.max(dim=2)  # (N, 2)
        corners = torch.stack([idx % size, idx // size], dim=2).float()  # (N, 2, 2): (x, y) of tl, br
        truth = torch.stack(gt_test).reshape(n_test, 2, 2)  # (N, 2, 2)
        result.corner_error[name] = torch.linalg.vector_norm(corners - truth, dim=2).mean().item()
        boxes = [c.reshape(1, 4) for c in corners]
        scores = [s.mean().reshape(1) for s in score]
        result.ap50[name] = average_precision(boxes, scores, gt_test, iou_threshold=0.5)
        result.ap75[name] = average_precision(boxes, scores, gt_test, iou_threshold=0.75)
        result.seconds[name] = time.process_time() - start
    return result


# ----------------------------------------------------------------------------- experiment 2


class SimulatedOutputs(NamedTuple):
    """Simulated head outputs for a batch: probabilities and embeddings, as CornerNet's heads give them."""

    tl_heat: Tensor  # (B, C, H, W)
    br_heat: Tensor  # (B, C, H, W)
    tl_emb: Tensor  # (B, 1, H, W)
    br_emb: Tensor  # (B, 1, H, W)
    ct_heat: Tensor  # (B, C, H, W)


def simulate_outputs(
    boxes: list[Tensor],
    labels: list[Tensor],
    size: tuple[int, int],
    num_classes: int,
    *,
    emb_noise: float = 0.25,
    seed: int | torch.Generator = 0,
) -> SimulatedOutputs:
    """A near-perfect detector's outputs: a bump (peak 0.6-1) at every true corner and centre, and
    embeddings ``e_k + noise`` with the objects' ``e_k`` one unit apart (what the push loss aims for)."""
    g = as_generator("seed", seed)
    b = len(boxes)
    heats = torch.zeros(3, b, num_classes, *size)
    embs = torch.zeros(2, b, 1, *size)
    for i, (bx, lb) in enumerate(zip(boxes, labels)):
        order = torch.randperm(len(bx), generator=g).to(torch.float32)  # embedding of each object
        for k, ((x1, y1, x2, y2), c) in enumerate(zip(bx.tolist(), lb.tolist())):
            r = max(0, int(gaussian_radius(y2 - y1, x2 - x1)))
            points = ((x1, y1), (x2, y2), ((x1 + x2) / 2, (y1 + y2) / 2))
            for t, (px, py) in enumerate(points):
                peak = 0.6 + 0.4 * float(torch.rand((), generator=g))
                heats[t, i, c] = torch.maximum(heats[t, i, c], peak * draw_gaussian(torch.zeros(size), (px, py), r))
                if t < 2:
                    embs[t, i, 0, int(py), int(px)] = order[k] + emb_noise * float(torch.randn((), generator=g))
    return SimulatedOutputs(heats[0], heats[1], embs[0], embs[1], heats[2])


def peaks(heat: Tensor, *, k: int = 20) -> tuple[Tensor, Tensor, Tensor]:
    """The top ``k`` peaks after 3x3 NMS (:func:`decode_centers` with zero size): ``(x, y)``, scores, classes."""
    dets = decode_centers(heat, torch.zeros_like(heat[:, :1]).expand(-1, 2, -1, -1), k=k)
    return dets.boxes[..., :2], dets.scores, dets.labels  # (B, K, 2), (B, K), (B, K)


def pair_nearest(tl_heat: Tensor, br_heat: Tensor, *, k: int = 20, min_score: float = 0.5) -> Detections:
    """The naive grouping: each top-left corner takes the nearest valid bottom-right corner of its class.

    Corners are the :func:`peaks` scoring at least ``min_score``; "valid" = below and to the right
    (``br_x >= tl_x``, ``br_y >= tl_y``); the box scores the mean of its two corners. Lists per image.
    """
    out: tuple[list[Tensor], list[Tensor], list[Tensor]] = ([], [], [])
    for (tp, ts, tc), (bp, bs, bc) in zip(zip(*peaks(tl_heat, k=k)), zip(*peaks(br_heat, k=k))):
        tp, ts, tc = tp[ts >= min_score], ts[ts >= min_score], tc[ts >= min_score]
        bp, bs, bc = bp[bs >= min_score], bs[bs >= min_score], bc[bs >= min_score]
        valid = (bp[None, :, 0] >= tp[:, None, 0]) & (bp[None, :, 1] >= tp[:, None, 1]) & (bc[None] == tc[:, None])
        dist = torch.cdist(tp, bp).masked_fill(~valid, float("inf"))  # (T, B)
        has = valid.any(dim=1)
        j = dist.argmin(dim=1)[has] if len(bp) else torch.zeros(0, dtype=torch.long)
        out[0].append(torch.cat([tp[has], bp[j]], dim=1))
        out[1].append((ts[has] + bs[j]) / 2)
        out[2].append(tc[has])
    return Detections(*out)


class GroupingResult(NamedTuple):
    """Per decoder (``"nearest"``, ``"embedding"``, ``"embedding + centre"``): boxes kept, false pairs, precision."""

    detections: dict[str, int]
    false_pairs: dict[str, int]
    precision: dict[str, float]
    recall: dict[str, float]


def _count(boxes: list[Tensor], labels: list[Tensor], gt_boxes: list[Tensor], gt_labels: list[Tensor]):
    """True positives (IoU >= 0.5 with an unmatched same-class box, greedy) and detections."""
    tp = total = 0
    for bx, lb, gb, gl in zip(boxes, labels, gt_boxes, gt_labels):
        taken = torch.zeros(len(gb), dtype=torch.bool)
        for box, c in zip(bx, lb):
            iou = box_iou(box[None].float(), gb)[0].masked_fill(taken | (gl != c), -1.0)
            if len(iou) and iou.max() >= 0.5:
                taken[iou.argmax()] = True
                tp += 1
        total += len(bx)
    return tp, total


def experiment_grouping(
    *,
    seed: int = 0,
    n: int = 48,
    size: int = 64,
    objects: tuple[int, int] = (5, 7),
    emb_noise: float = 0.25,
    threshold: float = 0.55,
) -> GroupingResult:
    """Decode simulated outputs of crowded scenes three ways; count kept boxes and false pairs.

    A kept box (score > ``threshold``) is a false pair unless it matches an unmatched ground-truth
    box of its class at IoU >= 0.5. Simulated peaks score 0.6-1, so ``threshold = 0.55`` keeps
    pairs of two real corners and drops those with an empty corner (score <= 0.5).
    """
    scenes = make_box_scenes(n, size, objects, radius=(0.08, 0.16), min_visible=0.3, seed=seed)
    out = simulate_outputs(scenes.boxes, scenes.labels, (size, size), 2, emb_noise=emb_noise, seed=seed + 1000)
    naive = pair_nearest(out.tl_heat, out.br_heat)
    emb = decode_corners(out.tl_heat, out.br_heat, out.tl_emb, out.br_emb, k=20, num_dets=400)
    # the centre check looks at the pairs kept by the embeddings (rescoring must not revive a dropped pair)
    kept = Detections(emb.boxes, emb.scores.masked_fill(emb.scores <= threshold, -1.0), emb.labels)
    trip = triplet_check(kept, *peaks(out.ct_heat, k=20))
    result = GroupingResult({}, {}, {}, {})
    total_gt = sum(len(b) for b in scenes.boxes)
    for name, d in (("nearest", naive), ("embedding", emb), ("embedding + centre", trip)):
        keep = [s > (-1 if d is trip else threshold) for s in d.scores]
        boxes = [b[m] for b, m in zip(d.boxes, keep)]
        labels = [lb[m] for lb, m in zip(d.labels, keep)]
        tp, total = _count(boxes, labels, scenes.boxes, scenes.labels)
        result.detections[name] = total
        result.false_pairs[name] = total - tp
        result.precision[name] = tp / max(total, 1)
        result.recall[name] = tp / total_gt
    return result


# ----------------------------------------------------------------------------- experiment 3


def _anchor_head(channels: int, anchors: int, classes: int) -> nn.ModuleDict:
    """RetinaNet's head, shrunk: 4 conv3x3 + ReLU towers for scores and box deltas."""

    def tower(out: int) -> nn.Sequential:
        layers: list[nn.Module] = []
        for _ in range(4):
            layers += [nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU()]
        return nn.Sequential(*layers, nn.Conv2d(channels, out, 3, padding=1))

    return nn.ModuleDict({"cls": tower(anchors * classes), "box": tower(anchors * 4)})


def _corner_head(channels: int, classes: int) -> nn.ModuleDict:
    """CornerNet's head: per corner type a pooling module and heatmap / embedding / offset branches."""

    def branch(out: int) -> nn.Sequential:
        return nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(), nn.Conv2d(channels, out, 1))

    heads = {}
    for corner in ("top_left", "bottom_right"):
        heads[corner] = nn.ModuleList(
            [CornerPooling(channels, channels, corner=corner), branch(classes), branch(1), branch(2)]
        )
    return nn.ModuleDict(heads)


def _decode_anchors(cls: Tensor, box: Tensor, anchors: Tensor, *, pre_nms: int = 1000, keep: int = 100):
    """RetinaNet-style: sigmoid, top ``pre_nms`` anchor-class scores above 0.05, deltas, class-wise NMS."""
    b = cls.shape[0]
    classes = cls.shape[1] * cls.shape[2] * cls.shape[3] // anchors.shape[0]
    scores = torch.sigmoid(cls).permute(0, 2, 3, 1).reshape(b, -1)  # (B, H*W*A*C)
    deltas = box.permute(0, 2, 3, 1).reshape(b, -1, 4)  # (B, H*W*A, 4)
    out = []
    for i in range(b):
        s, idx = scores[i].topk(pre_nms)
        keep_mask = s > 0.05
        s, idx = s[keep_mask], idx[keep_mask]
        a, c = idx // classes, idx % classes
        anc, d = anchors[a], deltas[i, a]
        wh = anc[:, 2:] - anc[:, :2]
        ctr = (anc[:, :2] + anc[:, 2:]) / 2 + d[:, :2] * wh
        size = wh * torch.exp(d[:, 2:].clamp(max=4.0))
        boxes = torch.cat([ctr - size / 2, ctr + size / 2], dim=1)
        kept = batched_nms(boxes, s, c, 0.5)[:keep]
        out.append((boxes[kept], s[kept], c[kept]))
    return out


class SpeedResult(NamedTuple):
    """Parameter and output counts of both heads, their decoding times (ms) and the time ratio."""

    params: dict[str, int]
    outputs: dict[str, int]
    decode_ms: dict[str, float]
    ratio: float


def experiment_speed(
    *, seed: int = 0, channels: int = 32, size: int = 64, classes: int = 2, anchors: int = 9, repeats: int = 15
) -> SpeedResult:
    """Both heads on the same random feature map ``(1, channels, size, size)``; decoding timed as the
    minimum over ``repeats`` runs (the least disturbed one), on the same machine in the same run."""
    torch.manual_seed(seed)
    feat = torch.randn(1, channels, size, size, generator=as_generator("seed", seed))
    anchor_head, corner_head = _anchor_head(channels, anchors, classes), _corner_head(channels, classes)
    with torch.no_grad():
        cls, box = anchor_head["cls"](feat), anchor_head["box"](feat)
        tl = [m(corner_head["top_left"][0](feat)) for m in corner_head["top_left"][1:]]
        br = [m(corner_head["bottom_right"][0](feat)) for m in corner_head["bottom_right"][1:]]
    ys, xs = torch.meshgrid(torch.arange(size) + 0.5, torch.arange(size) + 0.5, indexing="ij")
    ctr = torch.stack([xs, ys], dim=-1).reshape(-1, 1, 2)  # (H*W, 1, 2)
    half = torch.tensor([[s * a**0.5, s / a**0.5] for s in (2.0, 4.0, 8.0) for a in (0.5, 1.0, 2.0)]) / 2  # (A, 2)
    anchor_boxes = torch.cat([ctr - half, ctr + half], dim=2).reshape(-1, 4)  # (H*W*A, 4), order y, x, a

    def corner_decode() -> None:
        decode_corners(torch.sigmoid(tl[0]), torch.sigmoid(br[0]), tl[1], br[1], tl[2], br[2], k=100, num_dets=100)

    def anchor_decode() -> None:
        _decode_anchors(cls, box, anchor_boxes)

    times = {}
    for name, fn in (("anchor", anchor_decode), ("corner", corner_decode)):
        fn()  # warm-up
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - start)
        times[name] = 1e3 * best
    params = {
        "anchor": sum(p.numel() for p in anchor_head.parameters()),
        "corner": sum(p.numel() for p in corner_head.parameters()),
    }
    outputs = {"anchor": cls[0].numel() + box[0].numel(), "corner": sum(t[0].numel() for t in tl + br)}
    return SpeedResult(params, outputs, times, times["anchor"] / times["corner"])
