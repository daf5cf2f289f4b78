"""Bad-input walk over the public API of the RoI, box, mask-head, keypoint, style and data modules.

Every callable in :data:`SPECS` is first called with good arguments; then each argument is swapped,
one at a time, for a bad one of the categories below, and the call must raise ``ValueError`` or
``TypeError`` whose message names that argument (``"boxes: expected ..."``, ``"boxes[0]: ..."``):

* ``ndim``: one dimension more, and one fewer;
* ``dtype``: an integer, bool or complex tensor where a floating one is expected (and float / bool /
  complex where an integer one is);
* ``nonfinite``: NaN and inf in boxes, coordinates, sizes, indices, labels and numbers;
* ``empty``: a zero-length first dimension (a clear error, or a result without NaN, both pass);
* ``negative``: a negative size or count, and a float, bool or string where an int is expected;
* ``type``: a string and a nested list where a tensor is expected;
* ``batch``: a tensor whose batch (or paired) dimension disagrees with its partner's.

A wrong ``ndim``, an ``empty`` tensor or a ``batch`` mismatch may be reported on the partner
argument it disagrees with (``"target: expected the same shape as pred ..."``); the other categories
must name the argument itself. Variants a callable documents as valid (a ``(..., H, W)`` feature with
one more leading dim, a box given as a list of 4 numbers, an integer pixel size) are listed in each
spec's ``ok`` and only need to raise clearly or return.

Feature tensors, logits and losses may carry NaN through (scanning every activation would cost
more than the operation): :data:`NAN_PASSES` lists those arguments, and a NaN or inf there may
return a result. Every other silent result fails the walk.

Run ``python tests/test_bad_input_a.py`` for the table of outcomes per module.
"""

from __future__ import annotations

import dataclasses
import importlib
import re
import sys
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
import torch

# ------------------------------------------------------------------------------------------------
# argument kinds and their bad variants
# ------------------------------------------------------------------------------------------------

#: kind -> what a good value is; the mutations below are chosen by kind.
#: "coords": floating tensor that must be finite (boxes, points, keypoints, sizes);
#: "feat": floating tensor that may carry NaN (features, logits, images, targets of losses);
#: "index": integer tensor (labels, part indices); "mask": bool tensor;
#: "int": a python int >= 0 or >= 1; "pair": an int or a pair of ints; "pos": a number > 0;
#: "num": any finite number; "nonneg": a number >= 0.
KINDS = ("coords", "feat", "index", "mask", "int", "pair", "pos", "num", "nonneg")


def _tensor_mutations(value: torch.Tensor, kind: str) -> list[tuple[str, str, object]]:
    out: list[tuple[str, str, object]] = [
        ("ndim", "one more dim", value[None]),
        ("type", "a string", "not a tensor"),
        ("type", "a nested list", value.tolist()),
    ]
    if value.ndim > 0:
        out.append(("ndim", "one dim fewer", value[0] if value.shape[0] else value.sum(0)))
        out.append(("empty", "empty first dim", value[:0]))
    if kind in ("coords", "feat"):
        out += [
            ("dtype", "int64", value.round().long()),
            ("dtype", "bool", value > 0),
            ("dtype", "complex64", value.to(torch.complex64)),
        ]
        if value.numel():
            for label, bad in (("NaN", float("nan")), ("inf", float("inf"))):
                v = value.clone()
                v.view(-1)[-1] = bad
                out.append(("nonfinite", label, v))
    elif kind == "index":
        out += [
            ("dtype", "float32", value.float()),
            ("dtype", "bool", value > 0),
            ("dtype", "complex64", value.to(torch.complex64)),
        ]
    elif kind == "mask":
        out += [("dtype", "complex64", value.to(torch.complex64))]
    return out


def _scalar_mutations(value: object, kind: str) -> list[tuple[str, str, object]]:
    nan, inf = float("nan"), float("inf")
    if kind == "int":
        return [
            ("negative", "-1", -1),
            ("negative", "a float", 2.5),
            ("negative", "a bool", True),
            ("type", "a string", "3"),
            ("nonfinite", "NaN", nan),
        ]
    if kind == "pair":
        return [
            ("negative", "(-1, 8)", (-1, 8)),
            ("negative", "(8.5, 8)", (8.5, 8)),
            ("type", "a string", "8"),
            ("nonfinite", "(NaN, 8)", (nan, 8)),
        ]
    if kind == "pos":
        return [
            ("negative", "-1", -1.0),
            ("negative", "0", 0.0),
            ("type", "a string", "1"),
            ("nonfinite", "NaN", nan),
            ("nonfinite", "inf", inf),
        ]
    if kind == "nonneg":
        return [
            ("negative", "-1", -1.0),
            ("type", "a string", "1"),
            ("nonfinite", "NaN", nan),
            ("nonfinite", "inf", inf),
        ]
    if kind == "num":
        return [("type", "a string", "1"), ("nonfinite", "NaN", nan)]
    raise AssertionError(kind)


@dataclasses.dataclass
class Spec:
    """One public callable: ``target`` is ``"module:name"``; ``good()`` returns its keyword arguments.

    ``init`` makes an instance first (for ``nn.Module``s: the walk then calls the instance);
    ``args`` maps argument names to kinds; ``batch`` lists ``(argument, dim, partner)`` triples
    whose size must agree with the partner's; ``ok`` maps an argument to the descriptions of its
    variants that are valid input (``"one more dim"``, ``"a nested list"``, ``"int64"`` ...).
    """

    target: str
    good: Callable[[], dict[str, Any]]
    args: dict[str, str]
    init: Callable[[Any], Any] | None = None
    batch: tuple[tuple[str, int, str], ...] = ()
    ok: dict[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)

    @property
    def label(self) -> str:
        return self.target.replace("lessons.", "")

    def resolve(self) -> Callable[..., Any] | None:
        module, name = self.target.split(":")
        try:
            obj = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError):
            return None
        return self.init(obj) if self.init else obj


def _mutations(spec: Spec, good: dict[str, Any]) -> list[tuple[str, str, str, dict[str, Any], tuple[str, ...]]]:
    """``(argument, category, description, kwargs, acceptable names)`` for every bad call."""
    out = []
    for name, kind in spec.args.items():
        value = good[name]
        if isinstance(value, torch.Tensor):
            bad = _tensor_mutations(value, kind)
        elif (
            kind in ("coords", "feat")
            and isinstance(value, (list, tuple))
            and value
            and isinstance(value[0], torch.Tensor)
        ):
            bad = [
                (cat, f"element 0: {d}", [v, *value[1:]])
                for cat, d, v in _tensor_mutations(value[0], kind)
                if cat != "type"
            ] + [("type", "a string", "not a list")]
        else:
            bad = _scalar_mutations(value, kind)
        for category, description, v in bad:
            if description.removeprefix("element 0: ") in spec.ok.get(name, ()):
                category = "valid"
            names = tuple(good) if category in ("ndim", "empty") else (name,)
            out.append((name, category, description, {**good, name: v}, names))
    for name, dim, partner in spec.batch:
        value = good[name]
        extra = value.narrow(dim, 0, 1)
        grown = torch.cat([value, extra], dim=dim)
        out.append((name, "batch", f"dim {dim} one longer than {partner}'s", {**good, name: grown}, tuple(good)))
    return out


#: (callable label, argument): NaN/inf in these may pass through (features, logits, loss inputs).
NAN_PASSES: set[tuple[str, str]] = set()


def _feature(label: str, *names: str) -> None:
    NAN_PASSES.update((label, n) for n in names)


def _names(message: str, names: tuple[str, ...]) -> bool:
    return any(re.search(rf"(^|[\s(,'`]){re.escape(n)}(\[[^\]]*\])*\s*[:=,]", message) for n in names)


def _has_nan(result: object) -> bool:
    if isinstance(result, torch.Tensor):
        return result.is_floating_point() and result.numel() > 0 and not bool(torch.isfinite(result).all())
    if isinstance(result, (list, tuple)):
        return any(_has_nan(r) for r in result)
    if isinstance(result, dict):
        return any(_has_nan(r) for r in result.values())
    return isinstance(result, float) and result != result


def outcome(
    fn: Callable[..., Any], kwargs: dict[str, Any], category: str, names: tuple[str, ...], allowed: bool
) -> str:
    """``clear`` (ValueError/TypeError naming the argument), ``unclear`` (one that does not),
    ``internal`` (another exception), ``silent`` (a result), ``allowed`` / ``ok-empty`` / ``valid``."""
    try:
        result = fn(**kwargs)
    except (ValueError, TypeError) as error:
        return "clear" if _names(str(error), names) else "unclear"
    except Exception:  # noqa: BLE001 - what the walk measures
        return "internal"
    if category == "valid":
        return "valid"
    if category == "empty" and not _has_nan(result):
        return "ok-empty"
    if allowed:
        return "allowed"
    return "silent"


# ------------------------------------------------------------------------------------------------
# the public API, module by module
# ------------------------------------------------------------------------------------------------


def _g(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _boxes(n: int = 3, size: float = 16.0, seed: int = 0) -> torch.Tensor:
    xy = torch.rand(n, 2, generator=_g(seed)) * size / 2
    wh = 1 + torch.rand(n, 2, generator=_g(seed + 1)) * size / 2
    return torch.cat([xy, xy + wh], dim=1)


SPECS: list[Spec] = []


def spec(target: str, good: Callable[[], dict[str, Any]], args: dict[str, str], **kw: Any) -> None:
    SPECS.append(Spec(target, good, args, **kw))
    label = target.replace("lessons.", "")
    feats = [n for n, k in args.items() if k == "feat"]
    _feature(label, *feats)


# boxes ------------------------------------------------------------------------------------------
spec("lessons.boxes:box_area", lambda: dict(boxes=_boxes()), {"boxes": "coords"})
for _name in ("box_iou", "box_iou_loop"):
    spec(
        f"lessons.boxes:{_name}",
        lambda: dict(boxes1=_boxes(), boxes2=_boxes(2, seed=3)),
        {"boxes1": "coords", "boxes2": "coords"},
    )

# roi --------------------------------------------------------------------------------------------
_X = lambda: torch.randn(2, 3, 8, 8, generator=_g())  # noqa: E731
_PYR = lambda: [torch.randn(1, 2, 16, 16, generator=_g()), torch.randn(1, 2, 8, 8, generator=_g(1))]  # noqa: E731
#: the single-box functions read (..., H, W) features and take a box as 4 numbers or a real tensor
_SINGLE_OK = {"feature": ("one more dim", "one dim fewer"), "box": ("a nested list", "int64")}
_ROIS = lambda: torch.cat([torch.tensor([[0.0], [1.0], [0.0]]), _boxes(3, 8.0)], dim=1)  # noqa: E731
spec(
    "lessons.roi:roi_align_grid",
    lambda: dict(boxes=_boxes(), output_size=2, spatial_scale=0.5, sampling_ratio=2),
    {"boxes": "coords", "output_size": "pair", "spatial_scale": "pos", "sampling_ratio": "num"},
)
spec(
    "lessons.roi:roi_align_sample_coordinate",
    lambda: dict(start=0.0, bin_size=2.0, bin_index=1, sample_index=0, grid=2),
    {"start": "num", "bin_size": "num", "bin_index": "num", "sample_index": "num", "grid": "num"},
)
_feature("roi:roi_align_sample_coordinate", "start", "bin_size", "bin_index", "sample_index", "grid")  # a formula
spec(
    "lessons.roi:bilinear_interpolate",
    lambda: dict(feature=torch.arange(25.0).reshape(5, 5), y=1.5, x=2.25),
    {"feature": "feat", "y": "num", "x": "num"},
    ok={"feature": ("one more dim",)},
)
spec(
    "lessons.roi:roi_pool_single",
    lambda: dict(
        feature=torch.randn(2, 6, 6, generator=_g()),
        box=torch.tensor([0.5, 0.5, 4.0, 3.0]),
        output_size=2,
        spatial_scale=1.0,
    ),
    {"feature": "feat", "box": "coords", "output_size": "pair", "spatial_scale": "pos"},
    ok=_SINGLE_OK,
)
spec(
    "lessons.roi:roi_align_single",
    lambda: dict(
        feature=torch.randn(2, 6, 6, generator=_g()),
        box=torch.tensor([0.5, 0.5, 4.0, 3.0]),
        output_size=2,
        spatial_scale=1.0,
    ),
    {"feature": "feat", "box": "coords", "output_size": "pair", "spatial_scale": "pos"},
    ok=_SINGLE_OK,
)
for _name in ("roi_pool_loop", "roi_pool", "roi_align_loop", "roi_align"):
    spec(
        f"lessons.roi:{_name}",
        lambda: dict(input=_X(), boxes=_ROIS(), output_size=2, spatial_scale=0.5),
        {"input": "feat", "boxes": "coords", "output_size": "pair", "spatial_scale": "pos"},
    )
spec(
    "lessons.roi:roi_align",
    lambda: dict(input=_X(), boxes=[_boxes(2, 8.0), _boxes(1, 8.0, 5)], output_size=(2, 3)),
    {"boxes": "coords"},
)
spec(
    "lessons.roi:roi_pool_bins",
    lambda: dict(box=torch.tensor([0.0, 0.0, 4.0, 4.0]), output_size=3, feature_size=(5, 5)),
    {"box": "coords", "output_size": "pair", "feature_size": "pair"},
    ok={"box": ("a nested list", "int64")},
)
spec(
    "lessons.roi:roi_align_sample_points",
    lambda: dict(box=torch.tensor([0.5, 0.5, 2.5, 2.5]), output_size=2, sampling_ratio=2),
    {"box": "coords", "output_size": "pair"},
    ok={"box": ("a nested list", "int64")},
)
spec("lessons.roi:boxes_to_rois", lambda: dict(boxes=_ROIS(), input=_X()), {"boxes": "coords", "input": "feat"})
spec(
    "lessons.roi:RoIPool",
    lambda: dict(input=_X(), rois=_ROIS()),
    {"input": "feat", "rois": "coords"},
    init=lambda cls: cls(2, 0.5),
)
spec(
    "lessons.roi:RoIAlign",
    lambda: dict(input=_X(), rois=_ROIS()),
    {"input": "feat", "rois": "coords"},
    init=lambda cls: cls(2, 0.5, 2),
)
spec(
    "lessons.roi:fpn_level",
    lambda: dict(boxes=_boxes() * 20, k_min=2, k_max=5, canonical_scale=224, canonical_level=4),
    {"boxes": "coords", "k_min": "num", "k_max": "num", "canonical_scale": "pos", "canonical_level": "num"},
)
spec("lessons.roi_fast:channels_last_table", lambda: dict(input=_X()), {"input": "feat"})
spec(
    "lessons.roi_fast:bilinear_corners",
    lambda: dict(coord=torch.tensor([0.5, 2.0, 7.5]), size=8, valid=torch.tensor([True, True, True])),
    {"coord": "coords", "size": "int", "valid": "mask"},
    batch=(("valid", 0, "coord"),),
)
spec(
    "lessons.roi:MultiScaleRoIAlign",
    lambda: dict(x={"p2": _PYR()[0], "p3": _PYR()[1]}, boxes=[_boxes(3, 40.0)], image_shapes=[(64, 64)]),
    {"boxes": "coords"},
    init=lambda cls: cls(["p2", "p3"], 2, 2),
)
spec(
    "lessons.roi:infer_scale",
    lambda: dict(feature_size=(10, 10), image_size=(40, 40)),
    {"feature_size": "pair", "image_size": "pair"},
)
spec(
    "lessons.roi:multi_scale_roi_align",
    lambda: dict(features=_PYR(), boxes=[_boxes(3, 40.0)], image_shapes=[(64, 64)], output_size=2, sampling_ratio=2),
    {"features": "feat", "boxes": "coords", "output_size": "pair", "sampling_ratio": "num"},
)

# mask head --------------------------------------------------------------------------------------
spec(
    "lessons.mask_head:MaskHead",
    lambda: dict(x=torch.randn(2, 4, 6, 6, generator=_g())),
    {"x": "feat"},
    init=lambda cls: cls(4, 3, 8, 1),
)
spec(
    "lessons.mask_head:MaskHead",
    lambda: dict(in_channels=4, num_classes=3, conv_dims=8, num_convs=1),
    {"in_channels": "int", "num_classes": "int", "conv_dims": "int", "num_convs": "int"},
)
spec(
    "lessons.mask_head:project_masks_on_boxes",
    lambda: dict(
        gt_masks=torch.rand(2, 12, 12, generator=_g()), boxes=_boxes(3, 12.0), matched_idxs=torch.tensor([0, 1, 1]), M=4
    ),
    {"gt_masks": "feat", "boxes": "coords", "matched_idxs": "index", "M": "int"},
    batch=(("matched_idxs", 0, "boxes"),),
    ok={"gt_masks": ("int64", "bool")},
)
_LOGITS = lambda: torch.randn(3, 4, 5, 5, generator=_g())  # noqa: E731
for _name in ("mask_loss", "softmax_mask_loss"):
    spec(
        f"lessons.mask_head:{_name}",
        lambda: dict(
            mask_logits=_LOGITS(), labels=torch.tensor([1, 3, 2]), mask_targets=torch.rand(3, 5, 5, generator=_g())
        ),
        {"mask_logits": "feat", "labels": "index", "mask_targets": "coords"},
        batch=(("labels", 0, "mask_logits"), ("mask_targets", 0, "mask_logits")),
    )
spec(
    "lessons.mask_head:select_class_masks",
    lambda: dict(mask_logits=_LOGITS(), labels=torch.tensor([1, 3, 2])),
    {"mask_logits": "feat", "labels": "index"},
    batch=(("labels", 0, "mask_logits"),),
)
spec("lessons.mask_head:expand_boxes", lambda: dict(boxes=_boxes(), scale=1.2), {"boxes": "coords", "scale": "pos"})
spec(
    "lessons.mask_head:paste_mask_in_image",
    lambda: dict(
        mask=torch.rand(4, 4, generator=_g()), box=torch.tensor([2.0, 3.0, 6.0, 5.0]), image_shape=(10, 10), padding=1
    ),
    {"mask": "feat", "box": "coords", "image_shape": "pair", "padding": "int"},
)
for _name in ("paste_masks_in_image", "paste_masks_grid_sample"):
    spec(
        f"lessons.mask_head:{_name}",
        lambda: dict(masks=torch.rand(3, 4, 4, generator=_g()), boxes=_boxes(3, 10.0), image_shape=(12, 12)),
        {"masks": "feat", "boxes": "coords", "image_shape": "pair"},
        batch=(("boxes", 0, "masks"),),
    )

# heatmaps ---------------------------------------------------------------------------------------
spec("lessons.heatmaps:label_patch", lambda: dict(sigma=1.5), {"sigma": "pos"})
spec(
    "lessons.heatmaps:draw_labelmap",
    lambda: dict(heatmap=torch.zeros(9, 9), point=torch.tensor([3.0, 4.0]), sigma=1.0),
    {"heatmap": "feat", "point": "coords", "sigma": "pos"},
    ok={"point": ("a nested list", "int64")},
)
spec(
    "lessons.heatmaps:render_heatmaps",
    lambda: dict(
        keypoints=torch.tensor([[[2.0, 3.0], [5.5, 1.0]]]),
        size=(8, 8),
        sigma=1.0,
        visible=torch.tensor([[False, True]]),
    ),
    {"keypoints": "coords", "size": "pair", "sigma": "pos", "visible": "mask"},
    batch=(("visible", 0, "keypoints"),),
)
spec(
    "lessons.heatmaps:decode_heatmaps",
    lambda: dict(heatmaps=torch.rand(2, 3, 8, 8, generator=_g())),
    {"heatmaps": "feat"},
    ok={"heatmaps": ("one more dim", "one dim fewer")},
)
spec(
    "lessons.heatmaps:pck",
    lambda: dict(
        pred=torch.rand(2, 3, 2, generator=_g()) * 8,
        target=torch.rand(2, 3, 2, generator=_g(1)) * 8,
        threshold=0.5,
        normalize=8.0,
        visible=torch.tensor([[True, True, False], [True, False, True]]),
    ),
    {"pred": "coords", "target": "coords", "threshold": "pos", "normalize": "pos", "visible": "mask"},
    batch=(("target", 0, "pred"), ("visible", 0, "pred")),
)

# hourglass --------------------------------------------------------------------------------------
spec(
    "lessons.hourglass:Residual",
    lambda: dict(x=torch.randn(1, 4, 8, 8, generator=_g())),
    {"x": "feat"},
    init=lambda cls: cls(4, 8),
)
spec(
    "lessons.hourglass:Hourglass",
    lambda: dict(x=torch.randn(1, 4, 8, 8, generator=_g())),
    {"x": "feat"},
    init=lambda cls: cls(2, 4),
)
spec(
    "lessons.hourglass:StackedHourglass",
    lambda: dict(images=torch.randn(1, 1, 16, 16, generator=_g())),
    {"images": "feat"},
    init=lambda cls: cls(1, 2, 8, 1, in_channels=1),
)
_MAPS = lambda: torch.rand(2, 3, 6, 6, generator=_g())  # noqa: E731
_VIS = lambda: torch.tensor([[True, False, True], [True, True, True]])  # noqa: E731
for _name in ("heatmap_mse", "heatmap_cross_entropy"):
    spec(
        f"lessons.hourglass:{_name}",
        lambda: dict(pred=_MAPS(), target=_MAPS() * 0.5, visible=_VIS()),
        {"pred": "feat", "target": "feat", "visible": "mask"},
        batch=(("target", 0, "pred"), ("visible", 0, "pred")),
    )
spec(
    "lessons.hourglass:intermediate_loss",
    lambda: dict(outputs=[_MAPS(), _MAPS()], target=_MAPS() * 0.5, visible=_VIS()),
    {"outputs": "feat", "target": "feat", "visible": "mask"},
    batch=(("target", 0, "outputs"),),
)
spec("lessons.hourglass:conv_receptive_field", lambda: dict(layers=[(3, 1), (3, 2)]), {})
spec(
    "lessons.hourglass:StackedHourglass",
    lambda: dict(num_stacks=1, num_keypoints=2, channels=8, depth=1),
    {"num_stacks": "int", "num_keypoints": "int", "channels": "int", "depth": "int"},
)
spec(
    "lessons.hourglass:receptive_field",
    lambda: dict(module=torch.nn.Conv2d(1, 1, 3, padding=1), input_size=9, trials=1),
    {"input_size": "pair", "trials": "int"},
)

# keypoint detection -----------------------------------------------------------------------------
#: sizes are numbers, lists or real tensors of any (broadcastable) shape, integer pixels included
_SIZES_OK = {n: ("one more dim", "one dim fewer", "a nested list", "int64") for n in ("height", "width", "radius")}
spec(
    "lessons.keypoint_detection:gaussian_radius",
    lambda: dict(height=torch.tensor([10.0, 20.0]), width=torch.tensor([12.0, 8.0]), min_overlap=0.7),
    {"height": "coords", "width": "coords", "min_overlap": "pos"},
    ok=_SIZES_OK,
)
spec(
    "lessons.keypoint_detection:worst_case_iou",
    lambda: dict(height=torch.tensor([10.0]), width=torch.tensor([12.0]), radius=torch.tensor([2.0])),
    {"height": "coords", "width": "coords", "radius": "coords"},
    ok=_SIZES_OK,
)
spec(
    "lessons.keypoint_detection:draw_gaussian",
    lambda: dict(heatmap=torch.zeros(10, 10), center=torch.tensor([4.0, 5.0]), radius=2),
    {"heatmap": "feat", "center": "coords", "radius": "int"},
    ok={"center": ("a nested list", "int64")},
)
spec(
    "lessons.keypoint_detection:corner_pool",
    lambda: dict(x=torch.randn(1, 2, 5, 5, generator=_g()), direction="top"),
    {"x": "feat"},
    ok={"x": ("one more dim", "one dim fewer")},
)
spec(
    "lessons.keypoint_detection:CornerPooling",
    lambda: dict(x=torch.randn(1, 4, 5, 5, generator=_g())),
    {"x": "feat"},
    init=lambda cls: cls(4, 8),
)
spec(
    "lessons.keypoint_detection:focal_loss",
    lambda: dict(
        pred_logits=torch.randn(1, 2, 6, 6, generator=_g()), gt_heatmap=torch.rand(1, 2, 6, 6, generator=_g(1))
    ),
    {"pred_logits": "feat", "gt_heatmap": "feat"},
    batch=(("gt_heatmap", 0, "pred_logits"),),
)
spec(
    "lessons.keypoint_detection:embedding_loss",
    lambda: dict(
        tl=torch.randn(2, 3, generator=_g()),
        br=torch.randn(2, 3, generator=_g(1)),
        mask=torch.tensor([[True, True, False], [True, False, False]]),
    ),
    {"tl": "feat", "br": "feat", "mask": "mask"},
    batch=(("br", 0, "tl"), ("mask", 0, "tl")),
)
spec(
    "lessons.keypoint_detection:heatmap_nms",
    lambda: dict(heat=torch.rand(1, 2, 6, 6, generator=_g()), kernel=3),
    {"heat": "feat", "kernel": "int"},
)
_H = lambda s=0: torch.rand(1, 2, 8, 8, generator=_g(s))  # noqa: E731
spec(
    "lessons.keypoint_detection:decode_corners",
    lambda: dict(
        tl_heat=_H(),
        br_heat=_H(1),
        tl_emb=torch.randn(1, 1, 8, 8, generator=_g()),
        br_emb=torch.randn(1, 1, 8, 8, generator=_g(1)),
        k=5,
        num_dets=10,
    ),
    {"tl_heat": "feat", "br_heat": "feat", "tl_emb": "feat", "br_emb": "feat", "k": "int", "num_dets": "int"},
    batch=(("br_heat", 0, "tl_heat"),),
)


def _dets() -> Any:
    from lessons.keypoint_detection import Detections

    return Detections(_boxes(3, 16.0)[None], torch.tensor([[0.9, 0.5, 0.3]]), torch.tensor([[0, 1, 0]]))


spec(
    "lessons.keypoint_detection:triplet_check",
    lambda: dict(
        dets=_dets(),
        centers=torch.rand(1, 4, 2, generator=_g()) * 16,
        center_scores=torch.rand(1, 4, generator=_g()),
        center_labels=torch.tensor([[0, 1, 0, 1]]),
        large_area=22500.0,
    ),
    {"centers": "coords", "center_scores": "coords", "center_labels": "index", "large_area": "pos"},
    batch=(("center_scores", 1, "centers"),),
)
spec(
    "lessons.keypoint_detection:decode_centers",
    lambda: dict(heat=_H(), wh=torch.rand(1, 2, 8, 8, generator=_g()) * 4, k=5),
    {"heat": "feat", "wh": "coords", "k": "int"},
    batch=(("wh", 0, "heat"),),
)
spec(
    "lessons.keypoint_detection:central_region",
    lambda: dict(boxes=_boxes(), n=3),
    {"boxes": "coords", "n": "int"},
    ok={"boxes": ("one more dim", "one dim fewer")},
)
spec(
    "lessons.keypoint_detection:average_precision",
    lambda: dict(pred_boxes=[_boxes(3)], pred_scores=[torch.tensor([0.9, 0.5, 0.2])], gt_boxes=[_boxes(2, seed=7)]),
    {"pred_boxes": "coords", "pred_scores": "coords", "gt_boxes": "coords"},
    ok={"gt_boxes": ("empty first dim",)},
)  # no ground truth: AP is nan, as documented

# densepose --------------------------------------------------------------------------------------
spec(
    "lessons.densepose:DensePoseHead",
    lambda: dict(features=torch.randn(2, 4, 7, 7, generator=_g())),
    {"features": "feat"},
    init=lambda cls: cls(4, 3, 8),
)
spec(
    "lessons.densepose:sample_at_points",
    lambda: dict(maps=torch.randn(2, 4, 7, 7, generator=_g()), points=torch.rand(2, 5, 2, generator=_g())),
    {"maps": "feat", "points": "coords"},
    batch=(("points", 0, "maps"),),
)
spec(
    "lessons.densepose:uv_point_loss",
    lambda: dict(
        u_points=torch.rand(5, 4, generator=_g()),
        v_points=torch.rand(5, 4, generator=_g(1)),
        gt_i=torch.tensor([0, 1, 2, 3, -1]),
        gt_u=torch.rand(5, generator=_g(2)),
        gt_v=torch.rand(5, generator=_g(3)),
        weight=0.01,
    ),
    {"u_points": "feat", "v_points": "feat", "gt_i": "index", "gt_u": "coords", "gt_v": "coords", "weight": "nonneg"},
    batch=(("gt_i", 0, "u_points"), ("gt_u", 0, "u_points")),
)


def _dp_out(k: int = 2) -> Any:
    from lessons.densepose import DensePoseOutput

    return DensePoseOutput(*(torch.randn(k, 4, 7, 7, generator=_g(i)) for i in range(3)))


spec(
    "lessons.densepose:densepose_loss",
    lambda: dict(
        output=_dp_out(),
        points=torch.rand(2, 5, 2, generator=_g()),
        gt_i=torch.tensor([[0, 1, 2, 3, -1], [1, 1, 0, -1, -1]]),
        gt_u=torch.rand(2, 5, generator=_g(1)),
        gt_v=torch.rand(2, 5, generator=_g(2)),
        part_weight=1.0,
        point_regression_weight=0.01,
    ),
    {
        "points": "coords",
        "gt_i": "index",
        "gt_u": "coords",
        "gt_v": "coords",
        "part_weight": "nonneg",
        "point_regression_weight": "nonneg",
    },
    batch=(("points", 0, "output"), ("gt_i", 0, "points")),
)
spec(
    "lessons.densepose:densepose_inference",
    lambda: dict(output=_dp_out(), boxes=_boxes(2, 10.0), image_size=(16, 16)),
    {"boxes": "coords", "image_size": "pair"},
    batch=(("boxes", 0, "output"),),
)
spec(
    "lessons.densepose:DensePoseHead",
    lambda: dict(in_channels=4, num_parts=3, hidden=8),
    {"in_channels": "int", "num_parts": "int", "hidden": "int"},
)
spec(
    "lessons.densepose:checkerboard_texture",
    lambda: dict(num_parts=3, size=8, squares=2),
    {"num_parts": "int", "size": "int", "squares": "int"},
)
spec(
    "lessons.densepose:apply_texture",
    lambda: dict(
        iuv=torch.stack(
            [
                torch.tensor([[0.0, 1.0], [2.0, 3.0]]),
                torch.rand(2, 2, generator=_g()),
                torch.rand(2, 2, generator=_g(1)),
            ]
        ),
        texture=torch.rand(3, 3, 4, 4, generator=_g()),
    ),
    {"iuv": "coords", "texture": "feat"},
    ok={"iuv": ("one more dim",)},
)


# multitask --------------------------------------------------------------------------------------
def _anchors() -> torch.Tensor:
    return torch.tensor([[4.0, 4.0, 8.0, 8.0], [12.0, 4.0, 8.0, 8.0], [4.0, 12.0, 8.0, 8.0]])


spec(
    "lessons.multitask:make_anchors",
    lambda: dict(feature_size=(2, 2), stride=8, sizes=[8.0, 16.0]),
    {"feature_size": "pair", "stride": "int"},
)
spec(
    "lessons.multitask:encode_boxes",
    lambda: dict(boxes=_boxes(3), anchors=_anchors()),
    {"boxes": "coords", "anchors": "coords"},
    batch=(("boxes", 0, "anchors"),),
    ok={"boxes": ("one more dim",)},
)
spec(
    "lessons.multitask:decode_boxes",
    lambda: dict(deltas=torch.randn(3, 4, generator=_g()) * 0.1, anchors=_anchors()),
    {"deltas": "feat", "anchors": "coords"},
    batch=(("deltas", 0, "anchors"),),
    ok={"deltas": ("one more dim",)},
)
spec(
    "lessons.multitask:encode_landmarks",
    lambda: dict(landmarks=torch.rand(3, 5, 2, generator=_g()) * 16, anchors=_anchors()),
    {"landmarks": "coords", "anchors": "coords"},
    batch=(("landmarks", 0, "anchors"),),
    ok={"landmarks": ("one more dim",)},
)
spec(
    "lessons.multitask:decode_landmarks",
    lambda: dict(deltas=torch.randn(3, 10, generator=_g()) * 0.1, anchors=_anchors()),
    {"deltas": "feat", "anchors": "coords"},
    batch=(("deltas", 0, "anchors"),),
    ok={"deltas": ("one more dim",)},
)
spec(
    "lessons.multitask:match_anchors",
    lambda: dict(anchors=_anchors(), boxes=_boxes(2), pos_iou=0.5, neg_iou=0.3),
    {"anchors": "coords", "boxes": "coords", "pos_iou": "pos", "neg_iou": "nonneg"},
)
spec(
    "lessons.multitask:retinaface_loss",
    lambda: dict(
        cls_logits=torch.randn(3, 2, generator=_g()),
        box_deltas=torch.randn(3, 4, generator=_g()),
        landmark_deltas=torch.randn(3, 10, generator=_g()),
        labels=torch.tensor([1, 0, -1]),
        box_targets=torch.randn(3, 4, generator=_g(1)),
        landmark_targets=torch.randn(3, 10, generator=_g(1)),
    ),
    {
        "cls_logits": "feat",
        "box_deltas": "feat",
        "landmark_deltas": "feat",
        "labels": "index",
        "box_targets": "feat",
        "landmark_targets": "feat",
    },
    batch=(("labels", 0, "cls_logits"), ("box_deltas", 0, "cls_logits")),
)
spec(
    "lessons.multitask:TinyRetinaFace",
    lambda: dict(images=torch.rand(1, 1, 16, 16, generator=_g())),
    {"images": "feat"},
    init=lambda cls: cls(2, 8, 1),
)
spec(
    "lessons.multitask:TinyRetinaFace",
    lambda: dict(num_anchors=2, channels=8, in_channels=1),
    {"num_anchors": "int", "channels": "int", "in_channels": "int"},
)
spec(
    "lessons.multitask:best_detection",
    lambda: dict(
        cls_logits=torch.randn(1, 3, 2, generator=_g()),
        box_deltas=torch.randn(1, 3, 4, generator=_g()) * 0.1,
        landmark_deltas=torch.randn(1, 3, 10, generator=_g()) * 0.1,
        anchors=_anchors(),
    ),
    {"cls_logits": "feat", "box_deltas": "feat", "landmark_deltas": "feat", "anchors": "coords"},
    batch=(("box_deltas", 1, "cls_logits"),),
)
spec(
    "lessons.multitask:landmark_nme",
    lambda: dict(
        pred=torch.rand(2, 5, 2, generator=_g()) * 16, target=torch.rand(2, 5, 2, generator=_g(1)) * 16, boxes=_boxes(2)
    ),
    {"pred": "coords", "target": "coords", "boxes": "coords"},
    batch=(("target", 0, "pred"), ("boxes", 0, "pred")),
)

# style and loss network -------------------------------------------------------------------------
_F = lambda s=0: torch.randn(2, 3, 6, 6, generator=_g(s))  # noqa: E731
spec("lessons.style:gram_matrix", lambda: dict(features=_F()), {"features": "feat"})
spec("lessons.style:gram_matrix_loop", lambda: dict(features=_F()[:, :2, :3, :3]), {"features": "feat"})
spec(
    "lessons.style:feature_reconstruction_loss",
    lambda: dict(features=_F(), target=_F(1)),
    {"features": "feat", "target": "feat"},
    batch=(("target", 0, "features"),),
)
spec("lessons.style:total_variation", lambda: dict(images=_F()), {"images": "feat"})
spec("lessons.style:band_pass", lambda: dict(images=torch.rand(1, 3, 16, 16, generator=_g())), {"images": "feat"})
spec(
    "lessons.style:band_error",
    lambda: dict(images=torch.rand(2, 3, 16, 16, generator=_g()), target=torch.rand(2, 3, 16, 16, generator=_g(1))),
    {"images": "feat", "target": "feat"},
    batch=(("target", 0, "images"),),
)
spec(
    "lessons.style:optimize_image",
    lambda: dict(
        image=torch.rand(1, 3, 4, 4, generator=_g()), loss_fn=lambda x: (x - 0.5).pow(2).sum(), steps=2, lr=0.05
    ),
    {"image": "feat", "steps": "int", "lr": "pos"},
)
spec(
    "lessons.loss_network:TransformNet",
    lambda: dict(channels=(4, 4, 4), num_residual=1, upscale=1, outer_kernel=9),
    {"num_residual": "int", "upscale": "int", "outer_kernel": "int"},
)
spec(
    "lessons.loss_network:SmallVGG",
    lambda: dict(x=torch.rand(1, 3, 16, 16, generator=_g())),
    {"x": "feat"},
    init=lambda cls: cls(),
)
spec("lessons.loss_network:vgg16_features", lambda: dict(num_layers=4), {"num_layers": "int"})
spec(
    "lessons.loss_network:imagenet_normalize",
    lambda: dict(images=torch.rand(1, 3, 4, 4, generator=_g())),
    {"images": "feat"},
)
spec(
    "lessons.loss_network:TransformNet",
    lambda: dict(images=torch.rand(1, 3, 8, 8, generator=_g())),
    {"images": "feat"},
    init=lambda cls: cls(channels=(4, 4, 4), num_residual=1),
)


def _random_net() -> Any:
    from lessons.loss_network import LossNetwork

    return LossNetwork(["relu1_2"], network="random")


spec(
    "lessons.loss_network:LossNetwork",
    lambda: dict(images=torch.rand(1, 3, 8, 8, generator=_g())),
    {"images": "feat"},
    init=lambda cls: cls(["relu1_2"], network="random"),
)
spec(
    "lessons.style:synthesize_texture",
    lambda: dict(style=torch.rand(1, 3, 8, 8, generator=_g()), loss_net=_random_net(), size=8, steps=1),
    {"style": "feat", "size": "pair", "steps": "int"},
)
spec(
    "lessons.style:style_transfer",
    lambda: dict(
        content=torch.rand(1, 3, 8, 8, generator=_g()),
        style=torch.rand(1, 3, 8, 8, generator=_g(1)),
        loss_net=_random_net(),
        content_layer="relu1_2",
        steps=1,
    ),
    {"content": "feat", "style": "feat", "steps": "int"},
    batch=(("content", 0, "style"),),
)

# data -------------------------------------------------------------------------------------------
spec("lessons.data.landmarks:make_landmark_faces", lambda: dict(n=2, size=16), {"n": "int", "size": "pair"})
spec("lessons.data.bodies:random_body_poses", lambda: dict(n=2, size=32), {"n": "int", "size": "pair"})
spec(
    "lessons.data.bodies:render_bodies",
    lambda: dict(poses=__import__("lessons.data.bodies", fromlist=["x"]).random_body_poses(2, 32), size=32, noise=0.02),
    {"poses": "coords", "size": "pair", "noise": "nonneg"},
)
spec(
    "lessons.data.bodies:make_bodies",
    lambda: dict(n=2, size=32, noise=0.02),
    {"n": "int", "size": "pair", "noise": "nonneg"},
)
spec(
    "lessons.data.bodies:body_chart_to_image",
    lambda: dict(
        poses=__import__("lessons.data.bodies", fromlist=["x"]).random_body_poses(2, 32),
        parts=torch.tensor([[1, 2], [3, 1]]),
        uv=torch.rand(2, 2, 2, generator=_g()),
    ),
    {"poses": "coords", "parts": "index", "uv": "coords"},
    batch=(("parts", 0, "poses"),),
)
spec(
    "lessons.data.faces:make_face_boxes",
    lambda: dict(n=2, size=32, noise=0.04),
    {"n": "int", "size": "pair", "noise": "nonneg"},
)
spec(
    "lessons.data.figures:make_stick_figures",
    lambda: dict(n=2, size=32, clutter=1, occlusion=0.5),
    {"n": "int", "size": "pair", "clutter": "int"},
)
spec(
    "lessons.data.box_scenes:make_box_scenes",
    lambda: dict(n=2, size=32, objects=1),
    {"n": "int", "size": "pair", "objects": "int"},
)
spec(
    "lessons.data.images:make_texture",
    lambda: dict(kind="stripes", size=16, period=8.0, angle=0.3),
    {"size": "pair", "period": "pos", "angle": "num"},
)
spec("lessons.data.images:load_sample_image", lambda: dict(crop=(0, 0, 32, 32), size=16), {"size": "pair"})
spec("lessons.data.images:make_texture_dataset", lambda: dict(n=4, size=16), {"n": "int", "size": "int"})
spec(
    "lessons.data.shapes:shape_mask",
    lambda: dict(kind="disk", center=(4.0, 4.0), radius=2.0, size=(8, 8)),
    {"radius": "pos", "size": "pair"},
)
spec(
    "lessons.data.shapes:mask_to_box",
    lambda: dict(mask=torch.zeros(2, 8, 8, dtype=torch.bool).index_fill_(1, torch.tensor([2, 3]), True)),
    {"mask": "mask"},
    ok={"mask": ("one dim fewer",)},
)


# ------------------------------------------------------------------------------------------------
# the walk
# ------------------------------------------------------------------------------------------------


def walk(spec_: Spec) -> list[tuple[str, str, str, str]] | None:
    """``[(argument, category, description, outcome), ...]``, or None when the callable is absent."""
    fn = spec_.resolve()
    if fn is None:
        return None
    good = spec_.good()
    fn(**good)  # the good call must work
    rows = []
    for name, category, description, kwargs, names in _mutations(spec_, good):
        allowed = category == "nonfinite" and (spec_.label, name) in NAN_PASSES
        rows.append((name, category, description, outcome(fn, kwargs, category, names, allowed)))
    return rows


BAD = ("unclear", "internal", "silent")


@pytest.mark.parametrize("spec_", SPECS, ids=[f"{i:02d}-{s.label}" for i, s in enumerate(SPECS)])
def test_bad_input_raises_naming_the_argument(spec_):
    rows = walk(spec_)
    assert rows is not None, f"{spec_.target} is gone: update the walk"
    bad = [
        f"{name} <- {description} ({category}): {result}"
        for name, category, description, result in rows
        if result in BAD
    ]
    assert not bad, f"{spec_.label}:\n  " + "\n  ".join(bad)


def test_the_walk_is_not_empty():
    assert len(SPECS) >= 80 and all(set(s.args.values()) <= set(KINDS) for s in SPECS)


def main() -> None:
    totals: Counter[str] = Counter()
    per_module: dict[str, Counter[str]] = {}
    failures = []
    for s in SPECS:
        try:
            rows = walk(s)
        except Exception as error:  # noqa: BLE001 - a good call that fails (an older API)
            print(f"skipped {s.label}: good call failed ({type(error).__name__}: {error})"[:160])
            continue
        if rows is None:
            print(f"skipped {s.label}: not found")
            continue
        module = s.label.split(":")[0]
        for name, category, description, result in rows:
            totals[result] += 1
            per_module.setdefault(module, Counter())[result] += 1
            if result in BAD:
                failures.append(f"{s.label}: {name} <- {description} ({category}): {result}")
    print(f"{sum(totals.values())} calls: {dict(totals)}")
    for module, counts in per_module.items():
        print(f"  {module:24s} {dict(counts)}")
    print("\n".join(failures))


if __name__ == "__main__":
    sys.path.insert(0, ".")
    main()
