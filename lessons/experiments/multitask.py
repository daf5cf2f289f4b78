"""Experiment of notebook 08, part 2: does a landmark task help a face detector's boxes?

:func:`experiment_multitask` trains :class:`lessons.multitask.TinyRetinaFace` on procedural faces
(:func:`lessons.data.make_face_boxes`, with a blank face as a distractor in every image) twice per
training-set size, from the same initial weights and on the same batches: once with the box and
classification terms only (``lambda_2 = 0``), once with RetinaFace's landmark term added
(``lambda_2 = 0.1``, the paper's weight). It reports the test boxes and landmarks of both.
"""

from __future__ import annotations

import torch
from torch import Tensor

from lessons._checks import as_generator
from lessons.boxes import box_iou
from lessons.data.faces import FaceBoxes, make_face_boxes
from lessons.multitask import (
    PAPER_WEIGHTS,
    TinyRetinaFace,
    best_detection,
    encode_boxes,
    encode_landmarks,
    landmark_nme,
    make_anchors,
    match_anchors,
    retinaface_loss,
)

__all__ = ["ANCHOR_SIZES", "FACE_SCALE", "detector_targets", "train_detector", "experiment_multitask"]

#: Anchor sides (pixels) on the stride-4 map of a 32 x 32 image.
ANCHOR_SIZES = (10.0, 16.0)
#: Face half-widths as a fraction of the image side (boxes of about 9 to 17 pixels).
FACE_SCALE = (0.13, 0.2)


def detector_targets(anchors: Tensor, faces: FaceBoxes) -> tuple[Tensor, Tensor, Tensor]:
    """Labels ``(N, A)``, box targets ``(N, A, 4)`` and landmark targets ``(N, A, 10)`` for one face per image."""
    labels = torch.stack([match_anchors(anchors, box[None])[0] for box in faces.boxes])  # (N, A)
    num = anchors.shape[0]
    box_t = encode_boxes(faces.boxes[:, None].expand(-1, num, 4), anchors)  # (N, A, 4)
    lm_t = encode_landmarks(faces.landmarks[:, None].expand(-1, num, 5, 2), anchors)  # (N, A, 10)
    return labels, box_t, lm_t


def train_detector(
    train: FaceBoxes,
    weights: tuple[float, float],
    *,
    seed: int = 0,
    steps: int = 200,
    batch: int = 16,
    channels: int = 24,
) -> TinyRetinaFace:
    """Adam (lr 3e-3) on random batches; the initial weights and the batches depend on ``seed`` only."""
    anchors = make_anchors(8, TinyRetinaFace.stride, list(ANCHOR_SIZES))
    labels, box_t, lm_t = detector_targets(anchors, train)
    torch.manual_seed(seed)
    model = TinyRetinaFace(num_anchors=len(ANCHOR_SIZES), channels=channels)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    order = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        idx = torch.randint(len(train.images), (batch,), generator=order)
        cls, box, lm = model(train.images[idx])
        loss = retinaface_loss(cls, box, lm, labels[idx], box_t[idx], lm_t[idx], weights=weights).total
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model


@torch.no_grad()
def evaluate_detector(model: TinyRetinaFace, test: FaceBoxes) -> dict:
    """Top-1 detection per image: mean box IoU, AP-lite (share with IoU >= 0.5 and >= 0.75), landmark NME."""
    anchors = make_anchors(8, TinyRetinaFace.stride, list(ANCHOR_SIZES))
    box, _, landmarks = best_detection(*model(test.images), anchors)
    iou = box_iou(box, test.boxes).diagonal()  # (N,)
    return {
        "iou": iou.mean().item(),
        "ap50": (iou >= 0.5).float().mean().item(),
        "ap75": (iou >= 0.75).float().mean().item(),
        "nme": landmark_nme(landmarks, test.landmarks, test.boxes).item(),
    }


def experiment_multitask(
    *, seed: int = 0, sizes: tuple[int, ...] = (16, 64, 256), n_test: int = 128, steps: int = 200
) -> dict:
    """Box-only vs box + landmarks at each training-set size.

    Returns:
        dict: ``{size: {"box only": metrics, "box + landmarks": metrics}}`` with the metrics of
        :func:`evaluate_detector` (``iou``, ``ap50``, ``ap75``, ``nme``).
    """
    g = as_generator("seed", seed)
    test = make_face_boxes(n_test, scale=FACE_SCALE, blank=True, seed=g)
    pool = make_face_boxes(max(sizes), scale=FACE_SCALE, blank=True, seed=g)
    results = {}
    for n in sizes:
        train = FaceBoxes(*(t[:n] for t in pool))
        results[n] = {
            name: evaluate_detector(train_detector(train, (PAPER_WEIGHTS[0], lam2), seed=seed, steps=steps), test)
            for name, lam2 in (("box only", 0.0), ("box + landmarks", PAPER_WEIGHTS[1]))
        }
    return results
