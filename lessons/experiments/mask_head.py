"""Notebook 02's experiments: the mask branch inside a real detector, and what its design choices buy.

* :func:`experiment_drop_in` — the course's RoIAlign, :class:`~lessons.mask_head.MaskHead` and
  paste swapped into torchvision's ``maskrcnn_resnet50_fpn`` (random weights): same detections.
* :func:`experiment_mask_losses` — one small mask model trained three ways on procedural scenes:
  per-class sigmoid (Mask R-CNN), per-pixel softmax over classes, and a class-agnostic mask
  (He et al., "Mask R-CNN", 2017, arXiv:1703.06870, Table 2b and Sec. 4.2).
* :func:`experiment_resolution` — how much of a shape a 14, 28 or 56 px mask can hold once it is
  pasted back, for small and large objects.
* :func:`experiment_pasting` — torchvision's expand-and-resize paste vs detectron2's grid-sample
  paste of the same masks, scored against the true shapes.

Each returns plain numbers (and, for the training experiment, the trained models for figures).
``claims/claims_02.py`` runs the same functions for several seeds and thread counts.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lessons._checks import as_generator, check_int
from lessons.data import SHAPE_KINDS, make_instance_scenes
from lessons.mask_head import (
    MaskHead,
    mask_loss,
    paste_masks_grid_sample,
    paste_masks_in_image,
    project_masks_on_boxes,
    select_class_masks,
    softmax_mask_loss,
)
from lessons.roi import MultiScaleRoIAlign, roi_align
from lessons.yolact import mask_iou

__all__ = [
    "course_mask_rcnn",
    "DropInResult",
    "experiment_drop_in",
    "TinyMaskModel",
    "MaskLossResult",
    "experiment_mask_losses",
    "experiment_resolution",
    "experiment_pasting",
    "VARIANTS",
]

#: The three ways :func:`experiment_mask_losses` trains the mask head.
VARIANTS = ("sigmoid", "softmax", "agnostic")


# --------------------------------------------------------------------------------------------------
# Our pieces inside torchvision's Mask R-CNN
# --------------------------------------------------------------------------------------------------


def course_mask_rcnn(model: nn.Module) -> nn.Module:
    """Swap the course's pieces into a torchvision ``MaskRCNN``, in place, keeping its weights.

    * ``roi_heads.box_roi_pool`` and ``roi_heads.mask_roi_pool`` -> :class:`lessons.roi.MultiScaleRoIAlign`
      (same feature names, output sizes 7 and 14, sampling ratio 2);
    * ``roi_heads.mask_head`` + ``mask_predictor`` -> one :class:`MaskHead` holding their weights;
    * the paste in ``transform.postprocess`` -> :func:`lessons.mask_head.paste_masks_in_image`.

    The choice of each detection's mask channel stays torchvision's ``maskrcnn_inference``, which
    equals :func:`lessons.mask_head.select_class_masks` (tested).
    """
    from torchvision.models.detection.transform import GeneralizedRCNNTransform, resize_boxes

    class _CoursePaste(GeneralizedRCNNTransform):
        def postprocess(self, result, image_shapes, original_image_sizes):
            if self.training:
                return result
            for pred, im_s, o_im_s in zip(result, image_shapes, original_image_sizes):
                pred["boxes"] = resize_boxes(pred["boxes"], im_s, o_im_s)
                if "masks" in pred:
                    pred["masks"] = paste_masks_in_image(pred["masks"], pred["boxes"], tuple(o_im_s))
            return result

    heads = model.roi_heads
    for name in ("box_roi_pool", "mask_roi_pool"):
        theirs = getattr(heads, name)
        setattr(heads, name, MultiScaleRoIAlign(theirs.featmap_names, theirs.output_size, theirs.sampling_ratio))
    heads.mask_head = MaskHead.from_torchvision(heads.mask_head, heads.mask_predictor)
    heads.mask_predictor = nn.Identity()
    model.transform.__class__ = _CoursePaste
    return model


class DropInResult(NamedTuple):
    """Torchvision's Mask R-CNN with its own ops vs with the course's (same weights, same images)."""

    detections: int  #: detections compared, over all images
    same_labels: bool  #: every label equal, in the same order
    box_error: float  #: max |difference| of box coordinates (pixels)
    score_error: float  #: max |difference| of scores
    mask_error: float  #: max |difference| of pasted mask probabilities
    mask_pixels_flipped: int  #: pixels whose ``>= 0.5`` decision differs
    parameters: int  #: parameters of the course's mask head


def _tiny_maskrcnn(num_classes: int, size: int, detections: int) -> nn.Module:
    from torchvision.models.detection import maskrcnn_resnet50_fpn

    return maskrcnn_resnet50_fpn(
        weights=None,
        weights_backbone=None,
        num_classes=num_classes,
        min_size=size,
        max_size=size,
        box_score_thresh=0.0,
        box_detections_per_img=detections,
        rpn_pre_nms_top_n_test=200,
        rpn_post_nms_top_n_test=50,
    ).eval()


def experiment_drop_in(
    *, seed: int = 0, n: int = 2, size: int = 128, num_classes: int = 5, detections: int = 8
) -> DropInResult:
    """Run torchvision's ``maskrcnn_resnet50_fpn`` (random weights, nothing downloaded) twice.

    The model is built with ``weights=None, weights_backbone=None``, images of ``size x size`` (no
    resizing), a score threshold of 0 and at most ``detections`` detections per image, in eval mode;
    then :func:`course_mask_rcnn` swaps in the course's pieces and the same images run again.

    Args:
        seed (int): seeds the weights (``torch.manual_seed``) and the images. Default: ``0``.
        n (int): number of random images. Default: ``2``.
        size (int): image side in pixels. Default: ``128``.
        num_classes (int): classes of the detector, background included. Default: ``5``.
        detections (int): detections kept per image. Default: ``8``.

    Returns:
        DropInResult: how far apart the two runs are.
    """
    check_int("n", n, minimum=1)
    check_int("size", size, minimum=32)
    g = as_generator("seed", seed)
    torch.manual_seed(int(torch.randint(2**31, (), generator=g)))
    model = _tiny_maskrcnn(num_classes, size, detections)
    images = [torch.rand(3, size, size, generator=g) for _ in range(n)]
    with torch.no_grad():
        theirs = model(images)
        ours = course_mask_rcnn(model)(images)
    same = all(torch.equal(a["labels"], b["labels"]) for a, b in zip(theirs, ours))
    if not same or any(a["masks"].shape != b["masks"].shape for a, b in zip(theirs, ours)):
        return DropInResult(
            sum(len(a["labels"]) for a in theirs), False, float("inf"), float("inf"), float("inf"), -1, 0
        )

    def worst(key: str) -> float:
        return max(float((a[key] - b[key]).abs().max()) if a[key].numel() else 0.0 for a, b in zip(theirs, ours))

    flipped = sum(int(((a["masks"] >= 0.5) != (b["masks"] >= 0.5)).sum()) for a, b in zip(theirs, ours))
    head = model.roi_heads.mask_head
    return DropInResult(
        detections=sum(len(a["labels"]) for a in theirs),
        same_labels=True,
        box_error=worst("boxes"),
        score_error=worst("scores"),
        mask_error=worst("masks"),
        mask_pixels_flipped=flipped,
        parameters=sum(p.numel() for p in head.parameters()),
    )


# --------------------------------------------------------------------------------------------------
# A miniature Mask R-CNN mask branch, trained on procedural scenes
# --------------------------------------------------------------------------------------------------


class TinyMaskModel(nn.Module):
    """A two-conv backbone (stride 1), RoIAlign 14 x 14 and a small :class:`MaskHead`.

    The box branch is left out: RoIs are given (ground-truth boxes, jittered during training).

    Args:
        num_classes (int): mask channels (``1 + len(SHAPE_KINDS)``, or 1 for class-agnostic).
        num_upsamples (int): passed to :class:`MaskHead` (1: 28 x 28 masks). Default: ``1``.
        width (int): channels of the backbone and of the head. Default: ``16``.
    """

    def __init__(self, num_classes: int, *, num_upsamples: int = 1, width: int = 16):
        super().__init__()
        self.backbone = nn.Sequential(
            nn.Conv2d(3, width // 2, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(width // 2, width, 3, padding=1),
            nn.ReLU(inplace=True),
        )
        self.head = MaskHead(width, num_classes, width, 2, num_upsamples=num_upsamples)

    def forward(self, images: Tensor, boxes: list[Tensor]) -> Tensor:
        features = self.backbone(images)  # (B, C, H, W), stride 1
        rois = roi_align(features, boxes, 14, 1.0, sampling_ratio=2)  # (R, C, 14, 14)
        return self.head(rois)  # (R, K, M, M)


class _Scenes(NamedTuple):
    images: Tensor  # (B, 3, H, W)
    masks: list[Tensor]  # B x (N_b, H, W) bool
    boxes: list[Tensor]  # B x (N_b, 4)
    classes: list[Tensor]  # B x (N_b,) in 1..len(SHAPE_KINDS)


def _scenes(count: int, size: int, seed: int) -> _Scenes:
    scenes = make_instance_scenes(count, size, (2, 4), seed=seed, min_visible=0.6)
    return _Scenes(
        torch.stack([s.image for s in scenes]),
        [s.masks for s in scenes],
        [s.boxes for s in scenes],
        [s.labels + 1 for s in scenes],
    )


def _jitter(boxes: Tensor, g: torch.Generator, amount: float) -> Tensor:
    """Proposals: each side moves by up to ``amount`` x the box size (uniform)."""
    wh = (boxes[:, 2:] - boxes[:, :2]).repeat(1, 2)  # (N, 4)
    return boxes + amount * wh * (2 * torch.rand(boxes.shape, generator=g) - 1)


def _train(model: TinyMaskModel, data: _Scenes, variant: str, *, steps: int, batch: int, g: torch.Generator) -> float:
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    side = 14 * 2 ** len([m for m in model.head.upsample if isinstance(m, nn.ConvTranspose2d)])
    loss = torch.zeros(())
    for _ in range(steps):
        pick = torch.randperm(len(data.images), generator=g)[:batch].tolist()
        boxes = [_jitter(data.boxes[i], g, 0.1) for i in pick]
        gt_masks = torch.cat([data.masks[i] for i in pick])  # (G, H, W), each RoI matched to its own mask
        targets = project_masks_on_boxes(gt_masks, torch.cat(boxes), torch.arange(len(gt_masks)), side)  # (R, M, M)
        labels = torch.cat([data.classes[i] for i in pick])  # (R,)
        logits = model(data.images[pick], boxes)  # (R, K, M, M)
        loss = (softmax_mask_loss if variant == "softmax" else mask_loss)(logits, labels, targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return float(loss.detach())


@torch.no_grad()
def _evaluate(model: TinyMaskModel, data: _Scenes, variant: str) -> Tensor:
    """Mask IoU of every held-out instance (GT box and class given), pasted and thresholded at 0.5."""
    logits = model(data.images, data.boxes)  # (R, K, M, M)
    labels = torch.cat(data.classes)
    if variant == "softmax":  # FCN decoding: a pixel belongs to the class with the largest probability
        probs = (logits.argmax(dim=1) == labels[:, None, None]).to(logits.dtype)  # (R, M, M)
    else:
        probs = select_class_masks(logits, labels)  # (R, M, M)
    boxes = torch.cat(data.boxes)
    pasted = paste_masks_in_image(probs, boxes, tuple(data.images.shape[-2:])) >= 0.5  # (R, H, W)
    return mask_iou(pasted, torch.cat(data.masks))  # (R,)


class MaskLossResult(NamedTuple):
    """What :func:`experiment_mask_losses` measured (mean mask IoU on held-out instances)."""

    iou: dict[str, float]  #: variant -> mean IoU over all held-out instances
    iou_by_class: dict[str, dict[str, float]]  #: variant -> shape kind -> mean IoU
    final_loss: dict[str, float]  #: variant -> last training loss
    instances: int  #: held-out instances scored
    models: dict[str, TinyMaskModel]  #: the trained models (for figures)


def experiment_mask_losses(
    *,
    seed: int = 0,
    steps: int = 100,
    n_train: int = 96,
    n_test: int = 32,
    size: int = 48,
    variants: tuple[str, ...] = VARIANTS,
) -> MaskLossResult:
    """Train the same small model with each mask loss and score its masks on held-out scenes.

    * ``"sigmoid"``: K = 5 channels (background + 4 shapes), :func:`mask_loss` (Mask R-CNN);
    * ``"softmax"``: K = 5, :func:`softmax_mask_loss`; a pixel is in the mask when the RoI's class
      has the largest logit (FCN decoding; ``softmax >= 0.5`` would keep even less);
    * ``"agnostic"``: K = 1, :func:`mask_loss` (one mask for every class).

    Every variant starts from the same initial backbone and head (``torch.manual_seed``) and sees
    the same batches and proposals.

    Args:
        seed (int): seeds the scenes, the initial weights and the batches. Default: ``0``.
        steps (int): Adam steps (lr 3e-3, 8 images per batch). Default: ``100``.
        n_train (int): training scenes. Default: ``96``.
        n_test (int): held-out scenes. Default: ``32``.
        size (int): image side (shapes have a radius of 5-10 px). Default: ``48``.
        variants (tuple[str, ...]): which of :data:`VARIANTS` to train. Default: all three.

    Returns:
        MaskLossResult: mean IoU per variant and per class, final losses, the models.
    """
    check_int("steps", steps, minimum=1)
    train = _scenes(n_train, size, 1000 + seed)
    test = _scenes(n_test, size, 2000 + seed)
    names = ["all", *SHAPE_KINDS]
    test_classes = torch.cat(test.classes)
    iou, by_class, final, models = {}, {}, {}, {}
    for variant in variants:
        torch.manual_seed(seed)
        model = TinyMaskModel(1 if variant == "agnostic" else 1 + len(SHAPE_KINDS))
        final[variant] = _train(model, train, variant, steps=steps, batch=8, g=torch.Generator().manual_seed(seed))
        scores = _evaluate(model.eval(), test, variant)
        iou[variant] = float(scores.mean())
        by_class[variant] = {name: float(scores[test_classes == k].mean()) for k, name in enumerate(names) if k}
        models[variant] = model
    return MaskLossResult(iou, by_class, final, int(test_classes.numel()), models)


# --------------------------------------------------------------------------------------------------
# Mask resolution and pasting: what the best possible M x M mask keeps
# --------------------------------------------------------------------------------------------------


def _objects(seed: int, count: int, size: int, radius: tuple[float, float]) -> tuple[Tensor, Tensor]:
    """Masks (N, H, W) and tight boxes (N, 4) of single shapes, one per scene."""
    scenes = make_instance_scenes(count, size, 1, seed=seed, radius=radius)
    return torch.cat([s.masks for s in scenes]), torch.cat([s.boxes for s in scenes])


def _ideal_masks(masks: Tensor, boxes: Tensor, side: int) -> Tensor:
    """The true shapes cut to their boxes as ``side x side`` masks (``aligned=True``, 2 x 2 samples per cell)."""
    rois = torch.cat([torch.arange(len(boxes), dtype=boxes.dtype)[:, None], boxes], dim=1)  # (N, 5)
    return roi_align(masks[:, None].to(boxes), rois, side, 1.0, 2, aligned=True)[:, 0]  # (N, M, M)


def _boundary(masks: Tensor, width: int = 1) -> Tensor:
    """Pixels within ``width`` px (chessboard distance) of a mask's border, on either side."""
    m = masks[:, None].float()  # (N, 1, H, W)
    grown = F.max_pool2d(m, 2 * width + 1, 1, width)
    shrunk = -F.max_pool2d(-m, 2 * width + 1, 1, width)
    return (grown - shrunk)[:, 0] > 0  # (N, H, W)


def _scores(pasted: Tensor, masks: Tensor, band: Tensor) -> dict[str, float]:
    """Mean mask IoU, and the fraction of the border band that the pasted masks get wrong."""
    wrong = (pasted != masks) & band
    return {"iou": float(mask_iou(pasted, masks).mean()), "boundary_error": float(wrong.sum() / band.sum())}


def experiment_resolution(
    *,
    seed: int = 0,
    n: int = 32,
    size: int = 128,
    resolutions: tuple[int, ...] = (14, 28, 56),
) -> dict[str, dict[int, dict[str, float]]]:
    """What an ``M x M`` mask can hold: the best possible mask of each size, pasted back.

    For each object the ideal ``M x M`` mask is the true shape cut to its box (``aligned=True``
    RoIAlign: what a perfect head would output). It is pasted back by sampling it at the pixel
    centres (:func:`paste_masks_grid_sample`, which by itself loses almost nothing, see
    :func:`experiment_pasting`), thresholded at 0.5 and compared with the true shape. What is lost
    is lost to the resolution, not to training.

    Args:
        seed (int): seeds the shapes. Default: ``0``.
        n (int): objects per size group. Default: ``32``.
        size (int): image side. Default: ``128``.
        resolutions (tuple[int, ...]): mask sides M. Default: ``(14, 28, 56)``.

    Returns:
        dict: ``{"small" | "large": {M: {"iou": .., "boundary_error": ..}}}``. Small objects have a
        radius of 4-7 px (boxes of about 8-14 px), large ones 35-55 px (boxes of 70-110 px).
    """
    check_int("n", n, minimum=1)
    groups = {"small": (4 / size, 7 / size), "large": (35 / size, 55 / size)}
    result: dict[str, dict[int, dict[str, float]]] = {}
    for k, (group, radius) in enumerate(groups.items()):
        masks, boxes = _objects(3000 + 10 * seed + k, n, size, radius)
        band = _boundary(masks)
        result[group] = {
            side: _scores(paste_masks_grid_sample(_ideal_masks(masks, boxes, side), boxes, (size, size)), masks, band)
            for side in resolutions
        }
    return result


def experiment_pasting(*, seed: int = 0, n: int = 48, size: int = 64, side: int = 28) -> dict[str, dict[str, float]]:
    """Pasting the same ideal ``28 x 28`` masks two ways, scored against the true shapes.

    * ``"grid_sample"``: detectron2's rule, :func:`paste_masks_grid_sample`;
    * ``"torchvision"``: torchvision's expand-truncate-resize rule, :func:`paste_masks_in_image`,
      then ``>= 0.5``;
    * ``"torchvision pipeline"``: torchvision's paste of torchvision's own training targets
      (:func:`project_masks_on_boxes`, ``aligned=False``) — what a torchvision head learns to output.

    The ideal masks are the true shapes cut to their boxes with ``aligned=True`` RoIAlign (the
    pixel-centre convention of the data). Scores: mean mask IoU, and the error rate in a band of
    1 px on either side of the true border.

    Args:
        seed (int): seeds the shapes. Default: ``0``.
        n (int): objects. Default: ``48``.
        size (int): image side; the shapes have a radius of 6-19 px. Default: ``64``.
        side (int): mask side M. Default: ``28``.

    Returns:
        dict[str, dict[str, float]]: ``{rule: {"iou": .., "boundary_error": ..}}``.
    """
    check_int("n", n, minimum=1)
    masks, boxes = _objects(4000 + seed, n, size, (0.1, 0.3))
    ideal = _ideal_masks(masks, boxes, side)
    own = project_masks_on_boxes(masks, boxes, torch.arange(n), side)
    band = _boundary(masks)
    pasted = {
        "grid_sample": paste_masks_grid_sample(ideal, boxes, (size, size)),
        "torchvision": paste_masks_in_image(ideal, boxes, (size, size)) >= 0.5,
        "torchvision pipeline": paste_masks_in_image(own, boxes, (size, size)) >= 0.5,
    }
    return {name: _scores(m, masks, band) for name, m in pasted.items()}
