"""Notebook 03's measurements: a tiny YOLACT trained with the mask loss, and FastNMS vs greedy NMS.

* :func:`train_tiny_yolact` trains :class:`lessons.yolact.TinyYolact` (32 prototypes) with the YOLACT mask
  loss on procedural instance scenes, ground-truth boxes given.
* :func:`held_out_iou` scores it on held-out scenes against two references: a *perfect* foreground
  (the union of all ground-truth masks) cropped by the same boxes — what the crop alone can do — and
  the resolution limit of a 32 x 32 prototype grid; instances are split into isolated ones and those
  whose box holds part of another shape (where a crop cannot separate instances).
* :func:`nms_comparison` runs FastNMS and greedy NMS on boxes clustered around known objects and
  counts what each keeps: objects found and duplicates left.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torchvision.ops import box_iou, nms

from lessons._checks import as_generator, check_int
from lessons.data import make_instance_scenes
from lessons.yolact import (
    TinyYolact,
    assemble_masks,
    downsample_masks,
    fast_nms,
    mask_iou,
    postprocess_masks,
    select_coefficients,
    yolact_mask_loss,
)

__all__ = ["SIZE", "PROTO", "TrainedYolact", "train_tiny_yolact", "held_out_iou", "nms_comparison"]

SIZE = 64
PROTO = SIZE // 2  # prototypes at stride 2: 32 x 32


class TrainedYolact(NamedTuple):
    model: TinyYolact
    losses: list
    train_scenes: list
    test_scenes: list


def train_tiny_yolact(
    *, seed: int = 0, steps: int = 500, batch: int = 8, n_train: int = 256, n_test: int = 64
) -> TrainedYolact:
    """500 Adam steps (one-cycle learning rate, max 2e-2) of 8 scenes with the YOLACT mask loss.

    For each instance the mask logits are assembled from its image's prototypes and its coefficients
    (read bilinearly at the box centre), cropped with the ground-truth box, and compared with the
    ground-truth mask downsampled to the prototype grid. ``seed`` draws the scenes, the initial
    weights and the batches.
    """
    check_int("seed", seed, minimum=0)
    check_int("steps", steps, minimum=1)
    train_scenes = make_instance_scenes(n_train, SIZE, seed=2 * seed + 1)
    test_scenes = make_instance_scenes(n_test, SIZE, seed=2 * seed + 2)
    images = torch.stack([s.image for s in train_scenes])
    targets = [(downsample_masks(s.masks, PROTO), s.boxes * PROTO / SIZE) for s in train_scenes]
    torch.manual_seed(seed)
    model = TinyYolact(num_prototypes=32)
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-2)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=2e-2, total_steps=steps, pct_start=0.15)
    order = torch.Generator().manual_seed(seed)
    losses = []
    for _ in range(steps):
        index = torch.randint(len(train_scenes), (batch,), generator=order).tolist()
        prototypes, coefficient_map = model(images[index])  # (B, P, 32, 32), (B, P, 8, 8)
        logits, gt_masks, gt_boxes = [], [], []
        for b, i in enumerate(index):
            coefs = select_coefficients(coefficient_map[b], train_scenes[i].boxes, SIZE, mode="bilinear")  # (N, P)
            logits.append(assemble_masks(prototypes[b], coefs, return_logits=True))  # (N, 32, 32)
            gt_masks.append(targets[i][0])
            gt_boxes.append(targets[i][1])
        loss = yolact_mask_loss(torch.cat(logits), torch.cat(gt_masks), torch.cat(gt_boxes))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        losses.append(loss.item())
    return TrainedYolact(model.eval(), losses, train_scenes, test_scenes)


def held_out_iou(model: TinyYolact, scenes: list) -> dict:
    """Mean mask IoU ``{row: {"all", "isolated", "overlapping"}}`` plus ``"counts"`` of each group.

    Rows: ``"model"``, ``"foreground + crop"`` (a perfect foreground cropped by the boxes) and
    ``"resolution limit"`` (each ground-truth mask downsampled to 32 x 32 and pasted back).
    """
    rows = {"model": [], "foreground + crop": [], "resolution limit": []}
    overlapping = []
    with torch.no_grad():
        all_protos, all_coef_maps = model(torch.stack([s.image for s in scenes]))
    for s, protos, coef_map in zip(scenes, all_protos, all_coef_maps):
        n = len(s.labels)
        coefs = select_coefficients(coef_map, s.boxes, SIZE, mode="bilinear")
        rows["model"].append(mask_iou(postprocess_masks(protos, coefs, s.boxes, SIZE), s.masks))
        union = downsample_masks(s.masks.any(0, keepdim=True), PROTO).float() * 20 - 10  # (1, 32, 32) logits
        rows["foreground + crop"].append(mask_iou(postprocess_masks(union, torch.ones(n, 1), s.boxes, SIZE), s.masks))
        own = downsample_masks(s.masks, PROTO).float() * 20 - 10  # (N, 32, 32): one "prototype" per instance
        rows["resolution limit"].append(mask_iou(postprocess_masks(own, torch.eye(n), s.boxes, SIZE), s.masks))
        for k in range(n):
            x1, y1, x2, y2 = s.boxes[k].long().tolist()
            others = torch.cat([s.masks[:k], s.masks[k + 1 :]]).any(0)[y1:y2, x1:x2]
            overlapping.append(bool(others.float().mean() > 0.05))
    overlapping = torch.tensor(overlapping)
    out = {}
    for name, values in rows.items():
        v = torch.cat(values)
        out[name] = {
            "all": v.mean().item(),
            "isolated": v[~overlapping].mean().item(),
            "overlapping": v[overlapping].mean().item(),
        }
    out["counts"] = {"isolated": int((~overlapping).sum()), "overlapping": int(overlapping.sum())}
    return out


def nms_comparison(
    *, seed: int | torch.Generator = 3, n_objects: int = 26, n: int = 200, iou_threshold: float = 0.5
) -> dict:
    """FastNMS vs greedy NMS on ``n`` boxes jittered around ``n_objects`` objects (random scores).

    Returns the boxes, scores and kept indices, and per method ``found`` (objects with a kept box of
    IoU >= 0.5 with the object) and ``duplicates`` (kept boxes beyond one per found object).
    """
    g = as_generator("seed", seed)
    check_int("n", n, minimum=1)
    centres = torch.rand(n_objects, 2, generator=g) * 500 + 25
    sizes = torch.rand(n_objects, 2, generator=g) * 80 + 20
    pick = torch.randint(n_objects, (n,), generator=g)
    c = centres[pick] + torch.randn(n, 2, generator=g) * 0.15 * sizes[pick]
    boxes = torch.cat([c - sizes[pick] / 2, c + sizes[pick] / 2], dim=1)  # (n, 4)
    scores = torch.rand(n, generator=g)
    objects = torch.cat([centres - sizes / 2, centres + sizes / 2], dim=1)  # (n_objects, 4)
    out = {"boxes": boxes, "scores": scores}
    for name, keep in (
        ("FastNMS", fast_nms(boxes, scores, iou_threshold)),
        ("greedy", nms(boxes, scores, iou_threshold)),
    ):
        found = int((box_iou(objects, boxes[keep]) >= 0.5).any(1).sum()) if len(keep) else 0
        out[name] = {"keep": keep, "kept": len(keep), "found": found, "duplicates": len(keep) - found}
    return out
