"""The Mask R-CNN mask branch: the FPN mask head, per-class masks, the mask loss, and pasting.

Paper:
    He, Gkioxari, Dollár, Girshick. "Mask R-CNN", 2017, arXiv:1703.06870 (Sec. 3, Fig. 4 right:
    the FPN mask head; Table 2b: per-class sigmoid vs softmax; Sec. 3 "class-agnostic masks").

Summary:
    Mask R-CNN = Faster R-CNN + a mask branch (마스크 브랜치). For every RoI, RoIAlign
    (:mod:`lessons.roi`) cuts a ``14 x 14`` feature out of the FPN; :class:`MaskHead` runs four
    3x3 convs (256 channels), one 2x2 stride-2 transposed conv to ``28 x 28`` and a 1x1 conv that
    gives **one mask logit map per class** (K maps). Training (:func:`mask_loss`) takes a per-pixel
    sigmoid + binary cross-entropy on the channel of the RoI's *ground-truth* class only, against
    the ground-truth mask cut to the RoI (:func:`project_masks_on_boxes`); classes do not compete.
    Inference (:func:`select_class_masks`) takes the sigmoid of the channel of the *predicted*
    class, and :func:`paste_masks_in_image` resizes each ``28 x 28`` mask into its box in the image.

    Symbols: ``R`` RoIs (training), ``N`` detections (inference), ``K`` mask channels (classes),
    ``M`` the mask side, ``G`` ground-truth instances, ``H, W`` the image.

Reference code:
    torchvision ``torchvision/models/detection/roi_heads.py`` (``project_masks_on_boxes``,
    ``maskrcnn_loss``, ``maskrcnn_inference``, ``paste_masks_in_image``) and ``mask_rcnn.py``
    (``MaskRCNNHeads``, ``MaskRCNNPredictor``); detectron2 ``detectron2/layers/mask_ops.py``
    (``_do_paste_mask``) for :func:`paste_masks_grid_sample`. Every function here gives
    torchvision's (or detectron2's) result; the tests compare them.

Deviations from the reference code:
    * :func:`mask_loss` takes the per-RoI labels and targets directly (torchvision's
      ``maskrcnn_loss`` takes proposals, matched indices and per-image lists and calls
      ``project_masks_on_boxes`` itself); ``K = 1`` means class-agnostic (every RoI uses channel 0,
      detectron2's ``CLS_AGNOSTIC_MASK``).
    * :func:`select_class_masks` returns ``(N, M, M)`` for the whole batch (torchvision: a list of
      ``(N_i, 1, M, M)``, one per image).
    * :func:`paste_masks_in_image` accepts ``(N, M, M)`` or torchvision's ``(N, 1, M, M)`` and returns
      the matching rank. A box that lies entirely outside the image pastes nothing; torchvision's
      slicing with negative stops raises a shape error for a box left of or above the image.
    * :func:`paste_masks_grid_sample` returns probabilities with ``threshold=None``
      (detectron2 uses a negative threshold for uint8 ``0..255``), and a box of zero width or height
      pastes nothing (detectron2 divides by zero).
    * :class:`MaskHead` zeroes the bias of the last 1x1 conv (torchvision keeps PyTorch's default
      uniform init there); the layers and their shapes are the same.

NaN policy: feature maps, logits, images and the inputs of losses are not scanned for NaN/inf (a
full scan would cost more than the operation), so a NaN there passes through to the result; boxes,
coordinates, sizes, indices and labels are checked and a NaN/inf there raises ``ValueError``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lessons._checks import (
    check_boxes,
    check_choice,
    check_finite,
    check_floating,
    check_int,
    check_int_pair,
    check_labels,
    check_ndim,
    check_positive,
    check_same_device,
    check_same_dtype,
    check_shape,
    check_tensor,
    describe,
)
from lessons.roi_fast import _roi_align

__all__ = [
    "MaskHead",
    "project_masks_on_boxes",
    "mask_loss",
    "softmax_mask_loss",
    "select_class_masks",
    "expand_boxes",
    "paste_mask_in_image",
    "paste_masks_in_image",
    "paste_masks_grid_sample",
]

#: How :func:`select_class_masks` turns logits into probabilities.
ACTIVATIONS = ("sigmoid", "softmax")
# Bilinear sums of ones can exceed 1 by a rounding error; targets are checked against [0, 1] with this slack.
_SLACK = 1e-4


# --------------------------------------------------------------------------------------------------
# The head
# --------------------------------------------------------------------------------------------------


class MaskHead(nn.Module):
    """The FPN mask head of Mask R-CNN: ``(K, C, 14, 14)`` RoI features -> ``(K, classes, 28, 28)`` logits.

    Layers (Fig. 4 right of the paper; torchvision's ``MaskRCNNHeads`` + ``MaskRCNNPredictor``)::

        num_convs x [3x3 conv (conv_dims), ReLU]        # 14 x 14, channels in_channels -> conv_dims
        num_upsamples x [2x2 transposed conv, stride 2, ReLU]   # 14 -> 28 (-> 56 ...)
        1x1 conv (num_classes)                          # one logit map per class

    With the defaults and ``num_classes = 91`` (COCO, background included) it has 2 646 107
    parameters, the same as torchvision's pair.

    Args:
        in_channels (int): channels of the RoI features (the FPN's 256). Default: ``256``.
        num_classes (int): mask channels K; torchvision counts the background as class 0, so its
            channel is never trained. ``1`` gives a class-agnostic head. Default: ``91``.
        conv_dims (int): channels of the hidden convs and of the transposed conv. Default: ``256``.
        num_convs (int): 3x3 conv + ReLU blocks before the upsampling. Default: ``4``.
        num_upsamples (int): 2x transposed-conv blocks; the output is ``2**num_upsamples`` times the
            input size. ``0`` gives 14 x 14 masks, ``2`` gives 56 x 56. Default: ``1``.

    Weights are initialized like torchvision's heads: Kaiming normal (``fan_out``, ReLU) for every
    conv and transposed conv, zero biases. Initialization draws from torch's global generator.

    Example:
        >>> head = MaskHead(in_channels=8, num_classes=3, conv_dims=16, num_convs=2)
        >>> head(torch.zeros(5, 8, 14, 14)).shape
        torch.Size([5, 3, 28, 28])
    """

    def __init__(
        self,
        in_channels: int = 256,
        num_classes: int = 91,
        conv_dims: int = 256,
        num_convs: int = 4,
        *,
        num_upsamples: int = 1,
    ):
        super().__init__()
        self.in_channels = check_int("in_channels", in_channels, minimum=1)
        self.num_classes = check_int("num_classes", num_classes, minimum=1)
        check_int("conv_dims", conv_dims, minimum=1)
        check_int("num_convs", num_convs, minimum=0)
        check_int("num_upsamples", num_upsamples, minimum=0)
        layers: list[nn.Module] = []
        channels = in_channels
        for _ in range(num_convs):
            layers += [nn.Conv2d(channels, conv_dims, 3, padding=1), nn.ReLU(inplace=True)]
            channels = conv_dims
        self.convs = nn.Sequential(*layers)
        layers = []
        for _ in range(num_upsamples):
            layers += [nn.ConvTranspose2d(channels, conv_dims, 2, stride=2), nn.ReLU(inplace=True)]
            channels = conv_dims
        self.upsample = nn.Sequential(*layers)
        self.predictor = nn.Conv2d(channels, num_classes, 1)
        for layer in self.modules():
            if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.kaiming_normal_(layer.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(layer.bias)

    def forward(self, x: Tensor) -> Tensor:
        """``x (Tensor[R, in_channels, S, S])`` -> mask logits ``Tensor[R, num_classes, S*2**u, S*2**u]``."""
        check_floating("x", x)
        check_ndim("x", x, 4, "(R, C, S, S)")
        if x.shape[1] != self.in_channels:
            raise ValueError(f"x: expected {self.in_channels} channels, got shape {tuple(x.shape)}")
        x = self.convs(x)  # (R, conv_dims, S, S)
        x = self.upsample(x)  # (R, conv_dims, 2S, 2S)
        return self.predictor(x)  # (R, K, 2S, 2S)

    @classmethod
    def from_torchvision(cls, mask_head: nn.Module, mask_predictor: nn.Module) -> MaskHead:
        """A :class:`MaskHead` holding the weights of torchvision's ``MaskRCNNHeads`` + ``MaskRCNNPredictor``.

        Args:
            mask_head (nn.Module): ``model.roi_heads.mask_head`` (blocks of conv + ReLU, no norm).
            mask_predictor (nn.Module): ``model.roi_heads.mask_predictor`` (``conv5_mask``,
                ``relu``, ``mask_fcn_logits``).

        Returns:
            MaskHead: same outputs as ``mask_predictor(mask_head(x))``.
        """
        convs = [m for m in mask_head.modules() if isinstance(m, nn.Conv2d)]
        if not convs or any(isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)) for m in mask_head.modules()):
            raise ValueError(
                f"mask_head: expected torchvision's MaskRCNNHeads without normalization, got {describe(mask_head)}"
            )
        for name in ("conv5_mask", "mask_fcn_logits"):
            if not hasattr(mask_predictor, name):
                raise ValueError(f"mask_predictor: expected torchvision's MaskRCNNPredictor with a {name!r} layer")
        deconv, logits = mask_predictor.conv5_mask, mask_predictor.mask_fcn_logits
        head = cls(convs[0].in_channels, logits.out_channels, convs[0].out_channels, len(convs))
        if deconv.out_channels != convs[0].out_channels:
            raise ValueError("mask_predictor: expected conv5_mask with as many channels as the head's convs")
        ours = [m for m in head.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
        with torch.no_grad():
            for mine, theirs in zip(ours, [*convs, deconv, logits]):
                mine.weight.copy_(theirs.weight)
                mine.bias.copy_(theirs.bias)
        return head


# --------------------------------------------------------------------------------------------------
# Training: targets and losses
# --------------------------------------------------------------------------------------------------


def _check_boxes(name: str, boxes: object, n: int | None = None) -> None:
    # corners may come in either order: torchvision's pasting and RoIAlign accept that too
    check_boxes(name, boxes, n=n, allow_swapped=True)


def _check_labels(name: str, labels: object, n: int, num_classes: int | None) -> None:
    """Class indices, one per RoI, in ``[0, num_classes)`` (any value when ``num_classes`` is None)."""
    check_labels(name, labels, n=n, low=None if num_classes is None else 0, high=num_classes)


def _check_logits(mask_logits: Tensor) -> None:
    check_floating("mask_logits", mask_logits)
    check_ndim("mask_logits", mask_logits, 4, "(R, K, M, M)")


def project_masks_on_boxes(gt_masks: Tensor, boxes: Tensor, matched_idxs: Tensor, M: int) -> Tensor:
    """Cut each RoI's ground-truth mask to an ``M x M`` training target (torchvision's rule).

    ``target_r = roi_align(gt_masks[matched_idxs[r]], boxes[r], (M, M), spatial_scale=1,
    sampling_ratio=-1, aligned=False)``: the mask is read through the RoI with bilinear
    sampling, so targets are **soft** (fractions at the border), not binary.

    Args:
        gt_masks (Tensor[G, H, W]): ground-truth masks of one image (bool, integer or float).
        boxes (Tensor[R, 4]): RoIs ``(x1, y1, x2, y2)`` in image pixels (floating point, finite).
        matched_idxs (Tensor[R]): for each RoI, the index in ``[0, G)`` of its ground-truth mask.
        M (int): the side of the target, the head's output size (28). >= 1.

    Returns:
        Tensor[R, M, M]: targets in ``[0, 1]``, in ``boxes``' dtype.

    Note:
        detectron2 (``BitMasks.crop_and_resize``) uses ``aligned=True`` and binarizes the result at
        ``>= 0.5``; with ``aligned=False`` torchvision's targets sit half a pixel down and right of
        the course's pixel-centre convention (see :mod:`lessons.roi`).

    Example:
        >>> gt = torch.zeros(1, 8, 8); gt[0, 2:6, 2:6] = 1
        >>> project_masks_on_boxes(gt, torch.tensor([[2.0, 2.0, 6.0, 6.0]]), torch.tensor([0]), 4)[0]
        tensor([[1.0000, 1.0000, 1.0000, 0.5000],
                [1.0000, 1.0000, 1.0000, 0.5000],
                [1.0000, 1.0000, 1.0000, 0.5000],
                [0.5000, 0.5000, 0.5000, 0.2500]])
    """
    check_tensor("gt_masks", gt_masks)
    if gt_masks.is_complex():
        raise TypeError(f"gt_masks: expected bool, integer or floating masks, got dtype {gt_masks.dtype}")
    check_ndim("gt_masks", gt_masks, 3, "(G, H, W)")
    _check_boxes("boxes", boxes)
    check_same_device("boxes", boxes, "gt_masks", gt_masks)
    _check_labels("matched_idxs", matched_idxs, boxes.shape[0], gt_masks.shape[0])
    check_int("M", M, minimum=1)
    rois = torch.cat([matched_idxs.to(boxes)[:, None], boxes], dim=1)  # (R, 5)
    return _roi_align(gt_masks[:, None].to(boxes), rois, M, M, 1.0, -1, False)[:, 0]  # (R, M, M)


def _gt_channel(mask_logits: Tensor, labels: Tensor) -> Tensor:
    """``mask_logits[r, labels[r]]`` for every RoI (channel 0 for a class-agnostic head)."""
    if mask_logits.shape[1] == 1:
        return mask_logits[:, 0]  # (R, M, M)
    return mask_logits[torch.arange(labels.shape[0], device=labels.device), labels.long()]  # (R, M, M)


def _check_loss_inputs(mask_logits: Tensor, labels: Tensor, mask_targets: Tensor) -> None:
    _check_logits(mask_logits)
    num_classes = mask_logits.shape[1]
    _check_labels("labels", labels, mask_logits.shape[0], None if num_classes == 1 else num_classes)
    check_floating("mask_targets", mask_targets)
    shape = (mask_logits.shape[0], *mask_logits.shape[2:])
    check_shape("mask_targets", mask_targets, shape, f"{shape} = (R, M, M) like mask_logits")
    check_same_dtype("mask_targets", mask_targets, "mask_logits", mask_logits)
    check_finite("mask_targets", mask_targets)
    if mask_targets.numel() and bool(((mask_targets < -_SLACK) | (mask_targets > 1 + _SLACK)).any()):
        lo, hi = float(mask_targets.min()), float(mask_targets.max())
        raise ValueError(f"mask_targets: expected values in [0, 1] (fractions of mask), got values in [{lo:g}, {hi:g}]")


def mask_loss(mask_logits: Tensor, labels: Tensor, mask_targets: Tensor) -> Tensor:
    """The Mask R-CNN mask loss: per-pixel sigmoid BCE on the ground-truth class's channel only.

    .. math::
        L_{mask} = -\\frac{1}{R M^2} \\sum_{r, i, j} \\big[ t_{rij} \\log \\sigma(z_{r, c_r, i, j})
                   + (1 - t_{rij}) \\log (1 - \\sigma(z_{r, c_r, i, j})) \\big]

    with ``c_r`` the ground-truth class of RoI ``r`` (Sec. 3: "L_mask is only defined on the k-th
    mask; other mask outputs do not contribute to the loss"). There is no softmax over classes, so
    the class channels do not compete. The mean runs over all pixels of all RoIs. With no RoIs the
    loss is ``mask_logits.sum() * 0``: zero, and still connected to the graph.

    Args:
        mask_logits (Tensor[R, K, M, M]): the head's logits (NaN passes through to the loss).
        labels (Tensor[R]): ground-truth class of each RoI, integers in ``[0, K)``; any value if
            ``K = 1`` (class-agnostic).
        mask_targets (Tensor[R, M, M]): targets in ``[0, 1]`` (:func:`project_masks_on_boxes`),
            ``mask_logits``' dtype.

    Returns:
        Tensor[]: the loss (0-d).

    Example:
        >>> logits = torch.zeros(1, 2, 2, 2); logits[0, 1] = 20.0   # channel 1 says "mask" everywhere
        >>> round(mask_loss(logits, torch.tensor([1]), torch.ones(1, 2, 2)).item(), 6)
        0.0
    """
    _check_loss_inputs(mask_logits, labels, mask_targets)
    if mask_targets.numel() == 0:
        return mask_logits.sum() * 0
    return F.binary_cross_entropy_with_logits(_gt_channel(mask_logits, labels), mask_targets)


def softmax_mask_loss(mask_logits: Tensor, labels: Tensor, mask_targets: Tensor) -> Tensor:
    """The paper's ablation (Table 2b, "softmax"): a per-pixel softmax over classes, FCN-style.

    Each pixel of RoI ``r`` is one K-way classification: its target class is ``c_r`` where the
    target mask is ``>= 0.5`` and the background channel 0 elsewhere; the loss is the cross-entropy,
    averaged over all pixels of all RoIs. Now the classes compete: to say "mask" a pixel must also
    say *which* class, so mask and class prediction are coupled.

    Args:
        mask_logits (Tensor[R, K, M, M]): logits, channel 0 the background, ``K >= 2``.
        labels (Tensor[R]): ground-truth classes in ``[1, K)``.
        mask_targets (Tensor[R, M, M]): targets in ``[0, 1]``, binarized at ``>= 0.5``.

    Returns:
        Tensor[]: the loss (0-d); ``mask_logits.sum() * 0`` with no RoIs.
    """
    _check_loss_inputs(mask_logits, labels, mask_targets)
    if mask_logits.shape[1] < 2:
        raise ValueError(
            f"mask_logits: expected K >= 2 channels (background + classes), got shape {tuple(mask_logits.shape)}"
        )
    if labels.numel() and bool((labels == 0).any()):
        raise ValueError("labels: expected foreground classes >= 1 (channel 0 is the background), got a 0")
    if mask_targets.numel() == 0:
        return mask_logits.sum() * 0
    pixel_class = torch.where(mask_targets >= 0.5, labels.long()[:, None, None], 0)  # (R, M, M)
    return F.cross_entropy(mask_logits, pixel_class)


# --------------------------------------------------------------------------------------------------
# Inference: choose a channel, paste it into the image
# --------------------------------------------------------------------------------------------------


def select_class_masks(mask_logits: Tensor, labels: Tensor, *, activation: str = "sigmoid") -> Tensor:
    """Each detection's mask probabilities, read from the channel of its **predicted** class.

    The head makes all K masks of a box at once; the box branch's classification picks one
    (``sigmoid(mask_logits)[n, labels[n]]``, torchvision's ``maskrcnn_inference``). Threshold
    the result (``>= 0.5``) after pasting, not before.

    Args:
        mask_logits (Tensor[N, K, M, M]): logits of N detections.
        labels (Tensor[N]): the predicted class of each detection, in ``[0, K)`` (any value for
            ``K = 1``).
        activation (str): ``"sigmoid"`` (Mask R-CNN) or ``"softmax"`` over the K channels (the
            ablation trained with :func:`softmax_mask_loss`). Default: ``"sigmoid"``.

    Returns:
        Tensor[N, M, M]: probabilities in ``[0, 1]``. (torchvision returns ``(N, 1, M, M)`` per
        image: ``result[:, None]``.)

    Example:
        >>> logits = torch.tensor([[[[0.0]], [[2.0]]]])            # N=1, K=2, M=1
        >>> select_class_masks(logits, torch.tensor([1]))
        tensor([[[0.8808]]])
    """
    _check_logits(mask_logits)
    num_classes = mask_logits.shape[1]
    _check_labels("labels", labels, mask_logits.shape[0], None if num_classes == 1 else num_classes)
    check_choice("activation", activation, ACTIVATIONS)
    probs = mask_logits.sigmoid() if activation == "sigmoid" else mask_logits.softmax(dim=1)  # (N, K, M, M)
    return _gt_channel(probs, labels)  # (N, M, M)


def expand_boxes(boxes: Tensor, scale: float) -> Tensor:
    """Scale boxes about their centres: ``(c_x +- scale * w / 2, c_y +- scale * h / 2)``.

    Args:
        boxes (Tensor[N, 4]): ``(x1, y1, x2, y2)``.
        scale (float): the factor, > 0; pasting uses ``(M + 2 * padding) / M``.

    Returns:
        Tensor[N, 4]: the scaled boxes, same dtype, in torchvision's order of operations.
    """
    _check_boxes("boxes", boxes)
    check_positive("scale", scale)
    return _expand_boxes(boxes, float(scale))


def _expand_boxes(boxes: Tensor, scale: float) -> Tensor:
    w_half = (boxes[:, 2] - boxes[:, 0]) * 0.5 * scale  # (N,)
    h_half = (boxes[:, 3] - boxes[:, 1]) * 0.5 * scale
    x_c = (boxes[:, 2] + boxes[:, 0]) * 0.5
    y_c = (boxes[:, 3] + boxes[:, 1]) * 0.5
    return torch.stack([x_c - w_half, y_c - h_half, x_c + w_half, y_c + h_half], dim=1)  # (N, 4)


def _check_paste_inputs(masks: Tensor, boxes: Tensor, image_shape: object, squeeze_ok: bool) -> tuple[Tensor, int, int]:
    check_floating("masks", masks)
    layouts = (3, 4) if squeeze_ok else (3,)
    check_ndim("masks", masks, layouts, "(N, M, M) or (N, 1, M, M)" if squeeze_ok else "(N, M, M)")
    if masks.ndim == 4 and masks.shape[1] != 1:
        raise ValueError(f"masks: expected (N, 1, M, M) with one channel, got shape {tuple(masks.shape)}")
    flat = masks.reshape(masks.shape[0], *masks.shape[-2:])  # (N, M, M)
    if flat.shape[-1] != flat.shape[-2] or flat.shape[-1] == 0:
        raise ValueError(f"masks: expected square M x M masks (M >= 1), got shape {tuple(masks.shape)}")
    _check_boxes("boxes", boxes, masks.shape[0])
    check_same_device("boxes", boxes, "masks", masks)
    height, width = check_int_pair("image_shape", image_shape)
    return flat, height, width


def _paste_one(padded: Tensor, box: Sequence[int], height: int, width: int) -> Tensor:
    """torchvision's ``paste_mask_in_image``: resize ``padded`` to the integer box, copy the visible part."""
    x1, y1, x2, y2 = box
    w, h = max(x2 - x1 + 1, 1), max(y2 - y1 + 1, 1)  # +1: the integer box is inclusive
    resized = F.interpolate(padded[None, None], size=(h, w), mode="bilinear", align_corners=False)[0, 0]  # (h, w)
    image = padded.new_zeros(height, width)  # (H, W)
    x_0, x_1 = max(x1, 0), min(x2 + 1, width)
    y_0, y_1 = max(y1, 0), min(y2 + 1, height)
    if x_1 > x_0 and y_1 > y_0:
        image[y_0:y_1, x_0:x_1] = resized[y_0 - y1 : y_1 - y1, x_0 - x1 : x_1 - x1]
    return image


def _paste(masks: Tensor, boxes: Tensor, height: int, width: int, padding: int) -> Tensor:
    side = masks.shape[-1]
    padded = F.pad(masks, (padding,) * 4)  # (N, M + 2p, M + 2p): zeros around the mask
    scale = float(side + 2 * padding) / side  # grow the box by as much as the mask grew
    int_boxes = _expand_boxes(boxes, scale).to(torch.int64).tolist()  # truncation toward zero
    if not int_boxes:
        return masks.new_zeros(0, height, width)
    return torch.stack([_paste_one(m, b, height, width) for m, b in zip(padded, int_boxes)])  # (N, H, W)


def paste_mask_in_image(mask: Tensor, box: Tensor, image_shape: int | tuple[int, int], padding: int = 1) -> Tensor:
    """Paste one ``M x M`` mask into its box of an ``H x W`` image (torchvision's rule, step by step).

    1. Zero-pad the mask by ``padding`` on every side: ``(M + 2p) x (M + 2p)``.
    2. Grow the box about its centre by ``scale = (M + 2p) / M`` (so the padding lands outside it).
    3. Truncate the grown box to integers (``.to(torch.int64)``, toward zero).
    4. Inclusive size: ``w = max(x2 - x1 + 1, 1)``, ``h = max(y2 - y1 + 1, 1)``.
    5. Resize the padded mask to ``h x w`` (bilinear, ``align_corners=False``).
    6. Copy it into rows ``[max(y1, 0), min(y2 + 1, H))`` and columns ``[max(x1, 0), min(x2 + 1, W))``;
       zeros elsewhere.

    The result is soft; threshold it afterwards (``>= 0.5``). Thresholding the ``M x M`` mask first
    and resizing the binary mask gives blockier, shifted borders.

    Args:
        mask (Tensor[M, M]): probabilities (floating point).
        box (Tensor[4]): ``(x1, y1, x2, y2)`` in image pixels.
        image_shape (int | tuple[int, int]): ``(H, W)``.
        padding (int): zero border in mask cells. Default: ``1``.

    Returns:
        Tensor[H, W]: the pasted mask, ``mask``'s dtype.

    Example:
        >>> paste_mask_in_image(torch.full((4, 4), 0.9), torch.tensor([2.0, 3.0, 6.0, 5.0]), (10, 10))[2:6, 1:8]
        tensor([[0.0000, 0.1768, 0.2250, 0.2250, 0.2250, 0.1768, 0.0000],
                [0.0000, 0.7071, 0.9000, 0.9000, 0.9000, 0.7071, 0.0000],
                [0.0000, 0.7071, 0.9000, 0.9000, 0.9000, 0.7071, 0.0000],
                [0.0000, 0.1768, 0.2250, 0.2250, 0.2250, 0.1768, 0.0000]])
    """
    check_floating("mask", mask)
    check_ndim("mask", mask, 2, "(M, M)")
    if mask.shape[0] != mask.shape[1] or mask.shape[0] == 0:
        raise ValueError(f"mask: expected a square M x M mask (M >= 1), got shape {tuple(mask.shape)}")
    check_floating("box", box)
    check_shape("box", box, (4,), "(4,) = (x1, y1, x2, y2)")
    check_finite("box", box)
    check_int("padding", padding, minimum=0)
    flat, height, width = _check_paste_inputs(mask[None], box[None], image_shape, False)
    return _paste(flat, box[None], height, width, padding)[0]


def paste_masks_in_image(masks: Tensor, boxes: Tensor, image_shape: int | tuple[int, int], padding: int = 1) -> Tensor:
    """Paste N masks into their boxes: :func:`paste_mask_in_image` for each (torchvision's function).

    Args:
        masks (Tensor[N, M, M] or Tensor[N, 1, M, M]): probabilities.
        boxes (Tensor[N, 4]): ``(x1, y1, x2, y2)`` in image pixels, finite.
        image_shape (int | tuple[int, int]): ``(H, W)``.
        padding (int): zero border in mask cells. Default: ``1``.

    Returns:
        Tensor[N, H, W] or Tensor[N, 1, H, W] (the rank of ``masks``): soft masks, zero outside the
        (grown) boxes.
    """
    check_int("padding", padding, minimum=0)
    flat, height, width = _check_paste_inputs(masks, boxes, image_shape, True)
    pasted = _paste(flat, boxes, height, width, padding)  # (N, H, W)
    return pasted[:, None] if masks.ndim == 4 else pasted


def paste_masks_grid_sample(
    masks: Tensor, boxes: Tensor, image_shape: int | tuple[int, int], *, threshold: float | None = 0.5
) -> Tensor:
    """Paste masks by sampling them at every pixel centre (detectron2's ``paste_masks_in_image``).

    Pixel ``(row i, col j)`` has its centre at ``(j + 0.5, i + 0.5)``; its position inside box
    ``(x0, y0, x1, y1)``, normalized to ``[-1, 1]``, is

    .. math:: g_x = \\frac{j + 0.5 - x_0}{x_1 - x_0} \\cdot 2 - 1, \\qquad
              g_y = \\frac{i + 0.5 - y_0}{y_1 - y_0} \\cdot 2 - 1

    and the mask is read there with ``grid_sample`` (bilinear, zeros outside,
    ``align_corners=False``: mask cell ``u`` spans ``[-1 + 2u/M, -1 + 2(u+1)/M]``). The float box is
    used as it is: no padding, no growing, no rounding.

    Args:
        masks (Tensor[N, M, M]): probabilities (floating point).
        boxes (Tensor[N, 4]): ``(x1, y1, x2, y2)`` in image pixels, finite.
        image_shape (int | tuple[int, int]): ``(H, W)``.
        threshold (float | None): return ``probability >= threshold`` as bool (detectron2's
            default 0.5); ``None`` returns the probabilities. Default: ``0.5``.

    Returns:
        Tensor[N, H, W]: bool masks, or probabilities in ``masks``' dtype when ``threshold`` is None.
        A box with zero width or height pastes nothing.

    Example:
        >>> pasted = paste_masks_grid_sample(torch.ones(1, 4, 4), torch.tensor([[2.0, 3.0, 6.0, 5.0]]), (8, 8))
        >>> pasted[0, 2:6, 1:7].int()
        tensor([[0, 0, 0, 0, 0, 0],
                [0, 1, 1, 1, 1, 0],
                [0, 1, 1, 1, 1, 0],
                [0, 0, 0, 0, 0, 0]], dtype=torch.int32)
    """
    flat, height, width = _check_paste_inputs(masks, boxes, image_shape, False)
    if threshold is not None and (isinstance(threshold, bool) or not isinstance(threshold, (int, float))):
        raise TypeError(f"threshold: expected a number or None, got {describe(threshold)}")
    boxes = boxes.to(masks.dtype)
    x0, y0, x1, y1 = boxes[:, :, None].unbind(dim=1)  # (N, 1) each
    ys = torch.arange(height, dtype=masks.dtype, device=masks.device) + 0.5  # (H,) pixel centres
    xs = torch.arange(width, dtype=masks.dtype, device=masks.device) + 0.5  # (W,)
    empty = ((x1 <= x0) | (y1 <= y0))[:, 0]  # (N,) boxes with no area
    gx = (xs[None] - x0) / torch.where(x1 > x0, x1 - x0, 1) * 2 - 1  # (N, W)
    gy = (ys[None] - y0) / torch.where(y1 > y0, y1 - y0, 1) * 2 - 1  # (N, H)
    n = flat.shape[0]
    grid = torch.stack(
        [gx[:, None, :].expand(n, height, width), gy[:, :, None].expand(n, height, width)], dim=3
    )  # (N, H, W, 2): (x, y) of every pixel centre, per box
    pasted = F.grid_sample(flat[:, None], grid, mode="bilinear", padding_mode="zeros", align_corners=False)[
        :, 0
    ]  # (N, H, W)
    pasted = pasted.masked_fill(empty[:, None, None], 0.0)
    return pasted if threshold is None else pasted >= threshold
