"""Bad input never passes silently: a walk of the public API of the segmentation, video, CycleGAN and
data modules through wrong input.

Every public callable below gets a valid call (which must succeed) and then, one argument at a time,
the categories of bad input its role admits:

- tensors: one dimension too many / too few, integer / bool / complex dtype, a string, a Python
  list, a mismatched batch (for arguments that must match another one);
- boxes, coordinates, flows, sizes, scores, indices and labels: NaN and inf as well;
- ints and sizes: negative, a float, a string, a bool; thresholds and weights: negative, NaN, a string.

Each bad call must raise ``ValueError`` or ``TypeError`` whose message starts with the argument's
name (``"boxes: expected ..."``). The one documented exception is :data:`ALLOWED`: feature tensors,
logits and images may carry NaN through (scanning every activation would cost more than the
operation; each function's docstring says so). Run ``python tests/test_bad_input_b.py`` for the
counts per outcome.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import torch

# ---------------------------------------------------------------------------------------------
# roles and the bad values each role gets
# ---------------------------------------------------------------------------------------------

FEATURE = "feature"  # floating tensor whose values are not scanned: NaN may pass (allow-listed)
FINITE = "finite"  # floating tensor of boxes / coordinates / flows / scores: NaN and inf rejected
INT_T = "int_tensor"  # integer tensor: labels, indices, segment ids
MASK = "mask"  # bool or real masks
SIZE = "size"  # an int or a pair of ints >= 1
COUNT = "count"  # an int >= 0 (or >= 1)
NUMBER = "number"  # a non-negative real number


def _ndim_up(x):
    return x[None]


def _ndim_down(x):
    return x[0] if x.shape[0] > 0 else x.reshape(-1)


def _with_nan(x):
    y = x.clone()
    y.view(-1)[0] = float("nan")
    return y


def _with_inf(x):
    y = x.clone()
    y.view(-1)[-1] = float("inf")
    return y


def _batch_off(x):
    return (
        torch.cat([x, x[:1]])
        if x.shape[0] > 0
        else torch.cat([x, torch.zeros_like(x[:0]).new_zeros((1, *x.shape[1:]))])
    )


TENSOR_BAD: dict[str, Callable[[torch.Tensor], Any]] = {
    "ndim+1": _ndim_up,
    "ndim-1": _ndim_down,
    "string": lambda x: "abc",
    "list": lambda x: x.tolist(),
}
FLOAT_DTYPES = {
    "dtype int": lambda x: x.round().long() if x.is_floating_point() else x.long(),
    "dtype bool": lambda x: x > 0,
    "dtype complex": lambda x: x.to(torch.complex64),
}
INT_DTYPES = {
    "dtype float": lambda x: x.float(),
    "dtype bool": lambda x: x > 0,
    "dtype complex": lambda x: x.to(torch.complex64),
}
NAN_INF = {"NaN": _with_nan, "inf": _with_inf}
SIZE_BAD = {"negative": -3, "float": 2.5, "string": "8", "bool": True, "NaN": float("nan")}
COUNT_BAD = {"negative": -1, "float": 2.5, "string": "3", "bool": True}
NUMBER_BAD = {"negative": -0.5, "NaN": float("nan"), "string": "0.5"}


@dataclass
class Entry:
    """One public callable: ``make()`` returns ``(function, args, kwargs)`` of a valid call and
    ``roles`` maps argument names (keys of ``args``/``kwargs``) to their role."""

    name: str
    make: Callable[[], tuple[Callable, dict[str, Any], dict[str, Any]]]
    roles: dict[str, str]
    batch: tuple[str, ...] = ()  # tensors whose first dimension must match another argument's
    skip: set[tuple[str, str]] = field(default_factory=set)  # (argument, category) not applicable


# ---------------------------------------------------------------------------------------------
# the valid calls
# ---------------------------------------------------------------------------------------------


def _g(seed=0):
    return torch.Generator().manual_seed(seed)


def _boxes(n=3, size=12.0):
    xy = torch.rand(n, 2, generator=_g(1)) * size / 2
    return torch.cat([xy, xy + 1 + torch.rand(n, 2, generator=_g(2)) * size / 2], dim=1)


def _panoptic_inputs():
    sem = torch.randn(5, 12, 14, generator=_g(3))  # 2 stuff + 3 things
    mask = torch.randn(3, 6, 6, generator=_g(4))
    return sem, mask, _boxes(3), torch.tensor([2, 3, 4]), torch.tensor([0.9, 0.8, 0.7])


def _pq_inputs():
    gt = torch.zeros(4, 6, dtype=torch.long)
    gt[1:, :3] = 1
    gt[1:, 3:] = 2
    pred = torch.full((4, 6), 6)
    pred[:, :4] = 5
    cats = [{"id": 1, "isthing": 1}, {"id": 2, "isthing": 0}]
    return (
        pred,
        [{"id": 5, "category_id": 1}, {"id": 6, "category_id": 2}],
        gt,
        [{"id": 1, "category_id": 1}, {"id": 2, "category_id": 2}],
        cats,
    )


def _entries() -> list[Entry]:
    import lessons.cycle as cycle
    import lessons.data as data
    import lessons.panoptic as panoptic
    import lessons.video as video
    import lessons.yolact as yolact

    sem, mask, boxes, labels, scores = _panoptic_inputs()
    e: list[Entry] = []
    add = e.append

    # --- lessons.panoptic ------------------------------------------------------------------
    add(
        Entry(
            "panoptic.paste_mask_logits",
            lambda: (panoptic.paste_mask_logits, {"mask_logits": mask, "boxes": boxes, "size": (12, 14)}, {}),
            {"mask_logits": FEATURE, "boxes": FINITE, "size": SIZE},
            batch=("boxes",),
        )
    )
    add(
        Entry(
            "panoptic.crop_thing_logits",
            lambda: (
                panoptic.crop_thing_logits,
                {"semantic_logits": sem, "boxes": boxes, "labels": labels},
                {"num_stuff": 2},
            ),
            {"semantic_logits": FEATURE, "boxes": FINITE, "labels": INT_T, "num_stuff": COUNT},
            batch=("labels",),
        )
    )
    add(
        Entry(
            "panoptic.unknown_logits",
            lambda: (
                panoptic.unknown_logits,
                {"semantic_logits": sem, "cropped_thing_logits": torch.zeros(3, 12, 14)},
                {"num_stuff": 2},
            ),
            {"semantic_logits": FEATURE, "cropped_thing_logits": FEATURE, "num_stuff": COUNT},
            skip={("cropped_thing_logits", "ndim-1")},
        )
    )  # (12, 14) is read as N = 12 maps of 14 x ?: shape error names it
    add(
        Entry(
            "panoptic.upsnet_panoptic_logits",
            lambda: (
                panoptic.upsnet_panoptic_logits,
                {"semantic_logits": sem, "mask_logits": mask, "boxes": boxes, "labels": labels},
                {"num_stuff": 2},
            ),
            {"semantic_logits": FEATURE, "mask_logits": FEATURE, "boxes": FINITE, "labels": INT_T, "num_stuff": COUNT},
            batch=("boxes", "labels"),
        )
    )
    add(
        Entry(
            "panoptic.mask_removal",
            lambda: (
                panoptic.mask_removal,
                {"mask_logits": mask, "boxes": boxes, "labels": labels, "scores": scores, "size": (12, 14)},
                {"fraction_threshold": 0.3},
            ),
            {
                "mask_logits": FEATURE,
                "boxes": FINITE,
                "labels": INT_T,
                "scores": FINITE,
                "size": SIZE,
                "fraction_threshold": NUMBER,
            },
            batch=("boxes", "labels", "scores"),
        )
    )
    add(
        Entry(
            "panoptic.panoptic_from_logits",
            lambda: (
                panoptic.panoptic_from_logits,
                {"panoptic_logits": torch.randn(6, 12, 14, generator=_g(5)), "labels": labels},
                {"num_stuff": 2, "scores": scores, "stuff_area_thresh": 0},
            ),
            {
                "panoptic_logits": FEATURE,
                "labels": INT_T,
                "num_stuff": COUNT,
                "scores": FINITE,
                "stuff_area_thresh": NUMBER,
            },
            batch=("scores",),
            skip={("labels", "ndim-1")},
        )
    )  # a 0-D label tensor: the channel count no longer matches, named
    add(
        Entry(
            "panoptic.upsnet_inference",
            lambda: (
                panoptic.upsnet_inference,
                {"semantic_logits": sem, "mask_logits": mask, "boxes": boxes, "labels": labels, "scores": scores},
                {"num_stuff": 2, "score_thresh": 0.6, "fraction_threshold": 0.3},
            ),
            {
                "semantic_logits": FEATURE,
                "mask_logits": FEATURE,
                "boxes": FINITE,
                "labels": INT_T,
                "scores": FINITE,
                "num_stuff": COUNT,
                "score_thresh": NUMBER,
                "fraction_threshold": NUMBER,
            },
            batch=("boxes", "labels", "scores"),
        )
    )
    add(
        Entry(
            "panoptic.heuristic_merge",
            lambda: (
                panoptic.heuristic_merge,
                {
                    "semantic_labels": sem.argmax(0),
                    "masks": torch.randn(3, 12, 14, generator=_g(6)) > 0,
                    "labels": labels,
                    "scores": scores,
                },
                {"num_stuff": 2, "overlap_threshold": 0.5, "stuff_area_thresh": 4, "instances_score_thresh": 0.5},
            ),
            {
                "semantic_labels": INT_T,
                "masks": MASK,
                "labels": INT_T,
                "scores": FINITE,
                "num_stuff": COUNT,
                "overlap_threshold": NUMBER,
                "stuff_area_thresh": NUMBER,
                "instances_score_thresh": NUMBER,
            },
            batch=("labels", "scores"),
        )
    )
    add(
        Entry(
            "panoptic.panoptic_quality",
            lambda: (
                panoptic.panoptic_quality,
                dict(zip(("pred_panoptic", "pred_segments", "gt_panoptic", "gt_segments", "categories"), _pq_inputs())),
                {},
            ),
            {"pred_panoptic": INT_T, "gt_panoptic": INT_T},
            skip={
                ("pred_panoptic", "ndim+1"),
                ("pred_panoptic", "ndim-1"),
                ("pred_panoptic", "list"),
                ("gt_panoptic", "list"),
            },
        )
    )  # a batch or a list of maps is valid input

    # --- lessons.yolact / lessons.nms -----------------------------------------------------------
    protos = torch.rand(4, 8, 8, generator=_g(7))
    coefs = torch.rand(3, 4, generator=_g(8)) * 2 - 1
    ybox = _boxes(3, 8.0)
    add(
        Entry(
            "yolact.assemble_masks",
            lambda: (yolact.assemble_masks, {"prototypes": protos, "coefficients": coefs}, {}),
            {"prototypes": FEATURE, "coefficients": FEATURE},
        )
    )
    add(
        Entry(
            "yolact.crop_masks",
            lambda: (yolact.crop_masks, {"masks": torch.rand(3, 8, 8, generator=_g(9)), "boxes": ybox}, {"padding": 1}),
            {"masks": FEATURE, "boxes": FINITE, "padding": NUMBER},
            batch=("boxes",),
        )
    )
    add(
        Entry(
            "yolact.yolact_mask_loss",
            lambda: (
                yolact.yolact_mask_loss,
                {
                    "mask_logits": torch.randn(3, 8, 8, generator=_g(10)),
                    "gt_masks": torch.rand(3, 8, 8) > 0.5,
                    "gt_boxes": ybox,
                },
                {"padding": 1, "mask_alpha": 6.125},
            ),
            {"mask_logits": FEATURE, "gt_boxes": FINITE, "padding": NUMBER, "mask_alpha": NUMBER},
            batch=("gt_boxes",),
        )
    )
    add(
        Entry(
            "yolact.downsample_masks",
            lambda: (
                yolact.downsample_masks,
                {"masks": torch.rand(3, 16, 16, generator=_g(11)) > 0.5, "size": (8, 8)},
                {},
            ),
            {"masks": MASK, "size": SIZE},
        )
    )
    add(
        Entry(
            "yolact.postprocess_masks",
            lambda: (
                yolact.postprocess_masks,
                {"prototypes": protos, "coefficients": coefs, "boxes": ybox * 2, "image_size": (16, 16)},
                {"padding": 1, "threshold": 0.5},
            ),
            {
                "prototypes": FEATURE,
                "coefficients": FEATURE,
                "boxes": FINITE,
                "image_size": SIZE,
                "padding": NUMBER,
                "threshold": NUMBER,
            },
            batch=("boxes",),
        )
    )
    add(
        Entry(
            "yolact.mask_iou",
            lambda: (
                yolact.mask_iou,
                {"masks1": torch.rand(3, 8, 8, generator=_g(12)) > 0.5, "masks2": torch.rand(3, 8, 8) > 0.5},
                {},
            ),
            {"masks1": MASK, "masks2": MASK},
            batch=("masks2",),
        )
    )
    for nms_name in ("fast_nms", "greedy_nms"):
        add(
            Entry(
                f"nms.{nms_name}",
                lambda nms_name=nms_name: (
                    getattr(yolact, nms_name),
                    {"boxes": _boxes(5), "scores": torch.rand(5, generator=_g(13))},
                    {"iou_threshold": 0.5},
                ),
                {"boxes": FINITE, "scores": FINITE, "iou_threshold": NUMBER},
                batch=("scores",),
            )
        )
    add(
        Entry(
            "nms.batched_fast_nms",
            lambda: (
                yolact.batched_fast_nms,
                {"boxes": _boxes(5), "scores": torch.rand(5, generator=_g(14)), "idxs": torch.tensor([0, 1, 0, 1, 2])},
                {"iou_threshold": 0.5, "top_k": 3},
            ),
            {"boxes": FINITE, "scores": FINITE, "idxs": INT_T, "iou_threshold": NUMBER, "top_k": COUNT},
            batch=("scores", "idxs"),
        )
    )
    add(
        Entry(
            "yolact.ProtoNet", lambda: (yolact.ProtoNet(4, 3, 4), {"p3": torch.randn(2, 4, 6, 6)}, {}), {"p3": FEATURE}
        )
    )
    add(
        Entry(
            "yolact.PredictionHead",
            lambda: (yolact.PredictionHead(4, 3, 4), {"features": torch.randn(2, 4, 6, 6)}, {}),
            {"features": FEATURE},
        )
    )
    tiny = yolact.TinyYolact(4, width=4, fpn_channels=4).eval()
    add(
        Entry(
            "yolact.TinyYolact",
            lambda: (tiny, {"images": torch.rand(1, 3, 16, 16, generator=_g(15))}, {}),
            {"images": FEATURE},
        )
    )
    key_p4 = torch.randn(1, 4, 2, 2, generator=_g(16))
    add(
        Entry(
            "yolact.TinyYolact.forward_warped",
            lambda: (
                tiny.forward_warped,
                {"images": torch.rand(1, 3, 16, 16), "key_p4": key_p4, "flow": torch.zeros(1, 2, 16, 16)},
                {},
            ),
            {"images": FEATURE, "key_p4": FEATURE, "flow": FINITE},
            batch=("key_p4", "flow"),
        )
    )
    add(
        Entry(
            "yolact.select_coefficients",
            lambda: (
                yolact.select_coefficients,
                {"coefficient_map": torch.randn(4, 2, 2), "boxes": _boxes(3), "image_size": (16, 16)},
                {},
            ),
            {"coefficient_map": FEATURE, "boxes": FINITE, "image_size": SIZE},
        )
    )
    add(
        Entry(
            "yolact.warp_features",
            lambda: (
                yolact.warp_features,
                {"features": torch.randn(2, 3, 5, 6), "flow": torch.randn(2, 2, 5, 6, generator=_g(17))},
                {},
            ),
            {"features": FEATURE, "flow": FINITE},
            batch=("flow",),
            skip={("features", "ndim-1")},
        )
    )  # (C, H, W) features are valid; the flow then mismatches, named
    add(
        Entry(
            "yolact.resize_flow",
            lambda: (yolact.resize_flow, {"flow": torch.randn(1, 2, 8, 8, generator=_g(18)), "size": (4, 4)}, {}),
            {"flow": FINITE, "size": SIZE},
        )
    )
    add(
        Entry(
            "yolact.keyframe_schedule",
            lambda: (yolact.keyframe_schedule, {"num_frames": 7, "interval": 3}, {}),
            {"num_frames": COUNT, "interval": COUNT},
        )
    )
    add(
        Entry(
            "yolact.keyframe_savings",
            lambda: (
                yolact.keyframe_savings,
                {"num_frames": 7, "interval": 3, "full_cost": 1.0, "partial_cost": 0.3},
                {},
            ),
            {"num_frames": COUNT, "interval": COUNT, "full_cost": NUMBER, "partial_cost": NUMBER},
        )
    )

    # --- lessons.cycle, lessons.image_pool, lessons.gan_networks ----------------------------
    x4 = torch.rand(2, 3, 8, 8, generator=_g(19)) * 2 - 1
    add(
        Entry(
            "cycle.gan_loss",
            lambda: (cycle.gan_loss, {"prediction": torch.randn(2, 1, 3, 3), "target_is_real": True}, {}),
            {"prediction": FEATURE},
            skip={("prediction", "ndim+1"), ("prediction", "ndim-1"), ("prediction", "list")},
        )
    )  # any shape
    add(
        Entry(
            "cycle.cycle_consistency_loss",
            lambda: (
                cycle.cycle_consistency_loss,
                {"real_x": x4, "reconstructed_x": x4 * 0.5, "real_y": x4, "reconstructed_y": x4 * 0.1},
                {"weight": 10.0},
            ),
            {
                "real_x": FEATURE,
                "reconstructed_x": FEATURE,
                "real_y": FEATURE,
                "reconstructed_y": FEATURE,
                "weight": NUMBER,
            },
            batch=("reconstructed_x", "reconstructed_y"),
        )
    )
    add(
        Entry(
            "cycle.identity_loss",
            lambda: (
                cycle.identity_loss,
                {"real_x": x4, "mapped_x": x4 * 0.5, "real_y": x4, "mapped_y": x4 * 0.1},
                {"weight": 10.0, "identity_weight": 0.5},
            ),
            {
                "real_x": FEATURE,
                "mapped_x": FEATURE,
                "real_y": FEATURE,
                "mapped_y": FEATURE,
                "weight": NUMBER,
                "identity_weight": NUMBER,
            },
            batch=("mapped_x", "mapped_y"),
        )
    )
    add(
        Entry(
            "cycle.translation_error",
            lambda: (cycle.translation_error, {"outputs": x4, "targets": x4 * 0.5}, {}),
            {"outputs": FEATURE, "targets": FEATURE},
            batch=("outputs",),
        )
    )
    add(Entry("cycle.output_diversity", lambda: (cycle.output_diversity, {"images": x4}, {}), {"images": FEATURE}))
    add(
        Entry(
            "image_pool.image_pool_query",
            lambda: (cycle.image_pool_query, {"images": x4, "pool": torch.zeros(3, 3, 8, 8)}, {"pool_size": 3}),
            {"images": FEATURE, "pool": FEATURE, "pool_size": COUNT},
        )
    )
    add(
        Entry("image_pool.ImagePool.query", lambda: (cycle.ImagePool(3).query, {"images": x4}, {}), {"images": FEATURE})
    )
    add(Entry("gan_networks.ResnetBlock", lambda: (cycle.ResnetBlock(3), {"x": x4}, {}), {"x": FEATURE}))
    add(
        Entry(
            "gan_networks.resnet_generator",
            lambda: (
                cycle.resnet_generator,
                {"in_channels": 3, "out_channels": 3},
                {"ngf": 4, "n_blocks": 1, "n_downsampling": 1},
            ),
            {"in_channels": COUNT, "out_channels": COUNT, "ngf": COUNT, "n_blocks": COUNT, "n_downsampling": COUNT},
        )
    )
    add(
        Entry(
            "gan_networks.patch_discriminator",
            lambda: (cycle.patch_discriminator, {"in_channels": 3}, {"ndf": 4, "n_layers": 2}),
            {"in_channels": COUNT, "ndf": COUNT, "n_layers": COUNT},
        )
    )
    add(
        Entry(
            "gan_networks.patch_receptive_field",
            lambda: (cycle.patch_receptive_field, {"n_layers": 3}, {}),
            {"n_layers": COUNT},
        )
    )

    # --- lessons.video --------------------------------------------------------------------
    emb = torch.randn(3, 8, generator=_g(20))
    ref = torch.randn(2, 8, generator=_g(21))
    add(
        Entry(
            "video.warp",
            lambda: (
                video.warp,
                {"features": torch.randn(2, 3, 5, 6), "flow": torch.randn(2, 2, 5, 6, generator=_g(22))},
                {},
            ),
            {"features": FEATURE, "flow": FINITE},
            batch=("flow",),
            skip={("features", "ndim-1")},
        )
    )
    add(
        Entry(
            "video.warping_layer",
            lambda: (
                video.warping_layer,
                {"features": torch.randn(2, 3, 5, 6), "flow": torch.randn(2, 2, 5, 6, generator=_g(23))},
                {},
            ),
            {"features": FEATURE, "flow": FINITE},
            batch=("flow",),
            skip={("features", "ndim-1")},
        )
    )
    add(
        Entry(
            "video.temporal_attention",
            lambda: (
                video.temporal_attention,
                {"embedding": torch.randn(1, 4, 5, 5), "reference": torch.randn(1, 4, 5, 5)},
                {},
            ),
            {"embedding": FEATURE, "reference": FEATURE},
            batch=("reference",),
        )
    )
    add(
        Entry(
            "video.TemporalFusion",
            lambda: (
                video.TemporalFusion(4),
                {"current": torch.randn(1, 4, 5, 5), "warped": torch.randn(1, 4, 5, 5)},
                {},
            ),
            {"current": FEATURE, "warped": FEATURE},
            batch=("warped",),
        )
    )
    add(
        Entry(
            "video.track_scores",
            lambda: (video.track_scores, {"embeddings": emb, "ref_embeddings": ref}, {}),
            {"embeddings": FEATURE, "ref_embeddings": FEATURE},
        )
    )
    add(
        Entry(
            "video.match_scores",
            lambda: (
                video.match_scores,
                {
                    "scores": torch.randn(3, 3),
                    "cls_prob": torch.rand(3) * 0.5 + 0.5,
                    "ious": torch.rand(3, 2),
                    "same_label": torch.ones(3, 2, dtype=torch.bool),
                },
                {},
            ),
            {"scores": FEATURE, "cls_prob": FINITE, "ious": FINITE, "same_label": MASK},
            batch=("cls_prob", "ious", "same_label"),
        )
    )
    add(
        Entry(
            "video.assign_ids",
            lambda: (video.assign_ids, {"comp": torch.randn(3, 3, generator=_g(24))}, {}),
            {"comp": FINITE},
        )
    )
    add(
        Entry(
            "video.track_step",
            lambda: (
                video.track_step,
                {
                    "memory": video.empty_memory(8),
                    "embeddings": emb,
                    "boxes": _boxes(3),
                    "labels": torch.tensor([1, 2, 1]),
                    "cls_prob": torch.rand(3) * 0.5 + 0.5,
                },
                {},
            ),
            {"embeddings": FEATURE, "boxes": FINITE, "labels": INT_T, "cls_prob": FINITE},
            batch=("boxes", "labels", "cls_prob"),
        )
    )
    add(
        Entry(
            "video.TrackHead",
            lambda: (video.TrackHead(4, 3, 8, 6), {"roi_features": torch.randn(3, 4, 3, 3)}, {}),
            {"roi_features": FEATURE},
        )
    )
    add(
        Entry(
            "video.track_loss",
            lambda: (video.track_loss, {"scores": torch.randn(3, 3), "targets": torch.tensor([0, 2, 1])}, {}),
            {"scores": FEATURE, "targets": INT_T},
            batch=("targets",),
        )
    )
    add(
        Entry(
            "video.tube_iou",
            lambda: (
                video.tube_iou,
                {
                    "pred": torch.randint(0, 3, (2, 4, 4), generator=_g(25)),
                    "gt": torch.randint(0, 3, (2, 4, 4), generator=_g(26)),
                    "pred_id": 1,
                    "gt_id": 1,
                },
                {},
            ),
            {"pred": INT_T, "gt": INT_T, "pred_id": COUNT, "gt_id": COUNT},
            batch=("gt",),
            skip={("pred_id", "negative"), ("gt_id", "negative")},
        )
    )  # any int id is valid (absent: IoU 0)
    add(Entry("video.empty_memory", lambda: (video.empty_memory, {"dim": 8}, {}), {"dim": COUNT}))

    # --- lessons.data ---------------------------------------------------------------------
    scene = data.make_panoptic_scene(32, seed=0) if _has_seed() else data.make_panoptic_scene(32)
    add(
        Entry(
            "data.make_panoptic_scene",
            lambda: (data.make_panoptic_scene, {"size": 32}, {"min_visible": 0.5}),
            {"size": SIZE, "min_visible": NUMBER},
        )
    )
    add(
        Entry(
            "data.simulate_head_outputs",
            lambda: (
                data.simulate_head_outputs,
                {"scene": scene},
                {
                    "noise": 1.0,
                    "miss_rate": 0.1,
                    "spurious_rate": 0.2,
                    "margin": 4.0,
                    "mask_gain": 4.0,
                    "box_jitter": 0.05,
                    "noise_sigma": 4.0,
                    "mask_size": 14,
                },
            ),
            {
                "noise": NUMBER,
                "miss_rate": NUMBER,
                "spurious_rate": NUMBER,
                "margin": NUMBER,
                "mask_gain": NUMBER,
                "box_jitter": NUMBER,
                "noise_sigma": NUMBER,
                "mask_size": COUNT,
            },
        )
    )
    add(
        Entry(
            "data.make_instance_scene",
            lambda: (data.make_instance_scene, {"size": 32, "num_instances": 2}, {"min_visible": 0.5, "noise": 0.04}),
            {"size": SIZE, "num_instances": COUNT, "min_visible": NUMBER, "noise": NUMBER},
        )
    )
    add(
        Entry(
            "data.make_instance_scenes",
            lambda: (data.make_instance_scenes, {"n": 2, "size": 32}, {}),
            {"n": COUNT, "size": SIZE},
        )
    )
    add(
        Entry(
            "data.make_moving_clip",
            lambda: (data.make_moving_clip, {"num_frames": 3, "size": 32, "num_instances": 2}, {"max_speed": 2.0}),
            {"num_frames": COUNT, "size": SIZE, "num_instances": COUNT, "max_speed": NUMBER},
        )
    )
    clip = data.make_moving_clip(3, 32, 2)
    add(
        Entry(
            "data.clip_flow",
            lambda: (data.clip_flow, {"clip": clip, "frame": 1, "reference": 0}, {}),
            {"frame": COUNT, "reference": COUNT},
        )
    )
    add(
        Entry(
            "data.make_video_clip",
            lambda: (data.make_video_clip, {"n_frames": 3, "size": 32, "n": 2}, {"max_speed": 2.0, "noise": 0.04}),
            {"n_frames": COUNT, "size": SIZE, "n": COUNT, "max_speed": NUMBER, "noise": NUMBER},
        )
    )
    vclip = data.make_video_clip(3, 32, 2)
    add(
        Entry(
            "data.video_clip_flow",
            lambda: (data.video_clip_flow, {"clip": vclip, "frame": 1, "reference": 0}, {}),
            {"frame": COUNT, "reference": COUNT},
        )
    )
    add(
        Entry(
            "data.sample_domain_params",
            lambda: (data.sample_domain_params, {"n": 3}, {"size": 16}),
            {"n": COUNT, "size": SIZE},
        )
    )
    add(
        Entry(
            "data.make_unpaired_domains",
            lambda: (data.make_unpaired_domains, {"n": 3}, {"size": 16}),
            {"n": COUNT, "size": SIZE},
        )
    )
    dom = data.make_unpaired_domains(3)
    add(
        Entry(
            "data.decode_domain",
            lambda: (data.decode_domain, {"images": dom.x, "domain": "x"}, {}),
            {"images": FEATURE},
        )
    )
    add(
        Entry(
            "data.snap_to_palette",
            lambda: (data.snap_to_palette, {"images": dom.x, "domain": "x"}, {}),
            {"images": FEATURE},
        )
    )
    add(
        Entry(
            "data.make_one_to_many",
            lambda: (data.make_one_to_many, {"n": 4}, {"width": 9}),
            {"n": COUNT, "width": COUNT},
        )
    )
    add(
        Entry(
            "data.make_ring_mixture",
            lambda: (data.make_ring_mixture, {"n": 4}, {"n_modes": 4, "radius": 1.0, "std": 0.05}),
            {"n": COUNT, "n_modes": COUNT, "radius": NUMBER, "std": NUMBER},
        )
    )
    add(
        Entry(
            "data.make_edge_shape_pairs",
            lambda: (data.make_edge_shape_pairs, {"n": 2, "size": 16}, {"period": 4}),
            {"n": COUNT, "size": COUNT, "period": COUNT},
        )
    )
    e.extend(_gan_entries())
    return e


def _ANY_SHAPE_LOGITS(arg: str) -> set[tuple[str, str]]:  # noqa: N802
    """GAN losses take logits of any shape (per patch or per sample): no ndim to get wrong."""
    return {(arg, "ndim+1"), (arg, "ndim-1")}


def _gan_entries() -> list[Entry]:
    """lessons.gan, lessons.super_resolution and the scores of lessons.experiments.gan."""
    import lessons.experiments.gan as scores
    import lessons.gan as gan
    import lessons.super_resolution as sr

    a, b = torch.rand(2, 1, 16, 16, generator=_g(5)), torch.rand(2, 1, 16, 16, generator=_g(6))
    logits = torch.randn(2, 1, 3, 3, generator=_g(7))
    img, img2 = torch.rand(2, 3, 16, 16, generator=_g(8)), torch.rand(2, 3, 16, 16, generator=_g(9))
    sr_net = sr.SRGenerator(3, nf=4, n_blocks=1)
    unet = gan.UNetGenerator(1, 1, num_downs=2, ngf=4)
    e: list[Entry] = []
    add = e.append
    add(
        Entry(
            "gan.discriminator_input",
            lambda: (gan.discriminator_input, {"a": a, "b": b}, {}),
            {"a": FEATURE, "b": FEATURE},
            batch=("b",),
        )
    )
    add(
        Entry(
            "gan.pix2pix_generator_loss",
            lambda: (gan.pix2pix_generator_loss, {"pred_fake": logits, "fake_b": a, "real_b": b}, {"lambda_l1": 100.0}),
            {"pred_fake": FEATURE, "fake_b": FEATURE, "real_b": FEATURE, "lambda_l1": NUMBER},
            batch=("real_b",),
            skip=_ANY_SHAPE_LOGITS("pred_fake"),
        )
    )
    add(
        Entry(
            "gan.pix2pix_discriminator_loss",
            lambda: (gan.pix2pix_discriminator_loss, {"pred_real": logits, "pred_fake": logits.flip(0)}, {}),
            {"pred_real": FEATURE, "pred_fake": FEATURE},
            skip=_ANY_SHAPE_LOGITS("pred_real") | _ANY_SHAPE_LOGITS("pred_fake"),
        )
    )
    add(
        Entry(
            "gan.patchgan_receptive_field",
            lambda: (gan.patchgan_receptive_field, {"n_layers": 3}, {}),
            {"n_layers": COUNT},
        )
    )
    add(Entry("gan.UNetGenerator.forward", lambda: (unet, {"a": a}, {}), {"a": FEATURE}))
    add(Entry("super_resolution.SRGenerator.forward", lambda: (sr_net, {"lr": img[:, :, :4, :4]}, {}), {"lr": FEATURE}))
    add(
        Entry(
            "super_resolution.super_resolution_loss",
            lambda: (
                sr.super_resolution_loss,
                {"sr": img, "hr": img2, "pred_fake": logits},
                {"adversarial_weight": 0.05},
            ),
            {"sr": FEATURE, "hr": FEATURE, "pred_fake": FEATURE, "adversarial_weight": NUMBER},
            batch=("hr",),
        )
    )
    for name in ("psnr", "sharpness_ratio"):
        add(
            Entry(
                f"experiments.gan.{name}",
                lambda name=name: (getattr(scores, name), {"pred": img, "target": img2}, {}),
                {"pred": FEATURE, "target": FEATURE},
                batch=("pred",),
            )
        )
    for name in ("high_frequency_energy", "radial_power_spectrum"):
        add(
            Entry(
                f"experiments.gan.{name}",
                lambda name=name: (getattr(scores, name), {"images": img}, {}),
                {"images": FEATURE},
            )
        )
    add(
        Entry(
            "experiments.gan.spectral_gap",
            lambda: (scores.spectral_gap, {"pred": img, "target": img2}, {"min_frequency": 3}),
            {"pred": FEATURE, "target": FEATURE, "min_frequency": COUNT},
            batch=("pred",),
        )
    )
    points, centres = torch.randn(6, 2, generator=_g(10)), torch.randn(3, 2, generator=_g(11))
    add(
        Entry(
            "experiments.gan.mode_accuracy",
            lambda: (
                scores.mode_accuracy,
                {"points": points, "labels": torch.tensor([0, 1, 2, 0, 1, 2]), "centres": centres},
                {},
            ),
            {"points": FINITE, "labels": INT_T, "centres": FINITE},
            batch=("labels",),
        )
    )
    add(
        Entry(
            "experiments.gan.nearest_distance",
            lambda: (scores.nearest_distance, {"outputs": points, "answers": centres}, {}),
            {"outputs": FEATURE, "answers": FINITE},
        )
    )
    return e


def _has_seed() -> bool:
    import inspect

    import lessons.data as data

    return "seed" in inspect.signature(data.make_panoptic_scene).parameters


#: (callable, argument, category) whose bad value may pass: feature tensors carry NaN/inf through.
ALLOWED_CATEGORIES = {"NaN", "inf"}


def _allowed(entry: Entry, arg: str, category: str) -> bool:
    return entry.roles.get(arg) == FEATURE and category in ALLOWED_CATEGORIES


# ---------------------------------------------------------------------------------------------
# the walk
# ---------------------------------------------------------------------------------------------


def _bad_values(entry: Entry, arg: str, value: Any):
    role = entry.roles[arg]
    if role in (FEATURE, FINITE, INT_T, MASK):
        yield from ((k, f(value)) for k, f in TENSOR_BAD.items())
        dtypes = (
            INT_DTYPES
            if role == INT_T
            else {k: v for k, v in FLOAT_DTYPES.items() if not (role == MASK and k != "dtype complex")}
        )
        yield from ((k, f(value)) for k, f in dtypes.items())
        if role in (FEATURE, FINITE):
            yield from ((k, f(value)) for k, f in NAN_INF.items())
        if arg in entry.batch:
            yield "batch", _batch_off(value)
    elif role == SIZE:
        yield from SIZE_BAD.items()
    elif role == COUNT:
        yield from COUNT_BAD.items()
    elif role == NUMBER:
        yield from NUMBER_BAD.items()


def _names_arg(message: str, arg: str) -> bool:
    """The message names ``arg``: it starts with it, or it is a mismatch measured against it
    (``"pred: expected the shape of target ..."`` when ``target`` is the bad one names both)."""
    return (
        re.match(rf"{re.escape(arg)}(\[|\.|:| )", message) is not None
        or f"{arg}:" in message
        or re.search(rf"expected the shape of {re.escape(arg)}\b", message) is not None
    )


def walk() -> list[tuple[str, str, str, str, str]]:
    """Run every bad call; returns ``(callable, argument, category, outcome, detail)`` rows.

    Outcomes: ``clear`` (ValueError/TypeError naming the argument), ``unnamed`` (ValueError/TypeError
    that does not name it), ``internal`` (another exception), ``returned`` (no error), ``allowed``
    (returned, and on :func:`_allowed`'s list), ``n/a`` (the argument does not exist).
    """
    rows = []
    torch.manual_seed(0)
    for entry in _entries():
        function, args, kwargs = entry.make()
        function(*args.values(), **kwargs)  # the valid call works
        for arg in entry.roles:
            in_args = arg in args
            value = args[arg] if in_args else kwargs[arg]
            for category, bad in _bad_values(entry, arg, value):
                if (arg, category) in entry.skip:
                    continue
                function, args, kwargs = entry.make()
                call_args = dict(args)
                call_kwargs = dict(kwargs)
                (call_args if in_args else call_kwargs)[arg] = bad
                try:
                    function(*call_args.values(), **call_kwargs)
                except (ValueError, TypeError) as error:
                    message = str(error)
                    if "unexpected keyword argument" in message or "positional argument" in message:
                        outcome = "n/a"
                    else:
                        outcome = "clear" if _names_arg(message, arg) else "unnamed"
                    rows.append((entry.name, arg, category, outcome, message[:120]))
                except Exception as error:  # noqa: BLE001  (what the walk is looking for)
                    rows.append((entry.name, arg, category, "internal", f"{type(error).__name__}: {str(error)[:100]}"))
                else:
                    outcome = "allowed" if _allowed(entry, arg, category) else "returned"
                    rows.append((entry.name, arg, category, outcome, ""))
    return rows


@pytest.fixture(scope="module")
def rows():
    return walk()


def test_every_bad_input_raises_an_error_naming_the_argument(rows):
    bad = [r for r in rows if r[3] not in ("clear", "allowed")]
    assert not bad, "\n".join(f"{n}({a}={c}): {o} {d}" for n, a, c, o, d in bad)


def test_the_walk_covers_every_category(rows):
    categories = Counter(r[2] for r in rows)
    for category in (
        "ndim+1",
        "ndim-1",
        "dtype int",
        "dtype bool",
        "dtype complex",
        "dtype float",
        "NaN",
        "inf",
        "string",
        "list",
        "batch",
        "negative",
        "float",
    ):
        assert categories[category] > 0, category
    assert len(rows) > 500


def test_the_allow_list_holds_only_feature_tensors(rows):
    for name, arg, category, outcome, _ in rows:
        if outcome == "allowed":
            assert category in ALLOWED_CATEGORIES


if __name__ == "__main__":
    result = walk()
    counts = Counter(r[3] for r in result)
    print(f"{len(result)} calls: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    if "-v" in sys.argv:
        for r in result:
            if r[3] not in ("clear", "allowed"):
                print(" | ".join(r))
