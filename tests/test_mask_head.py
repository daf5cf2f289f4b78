"""Tests for lessons.mask_head: torchvision's roi_heads functions and heads, a loop written from
detectron2's grid-sample paste, hand-computed cases, gradcheck, properties, bad inputs, and the
drop-in run inside torchvision's maskrcnn_resnet50_fpn."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torchvision.models.detection.mask_rcnn import MaskRCNNHeads, MaskRCNNPredictor
from torchvision.models.detection.roi_heads import maskrcnn_inference, maskrcnn_loss
from torchvision.models.detection.roi_heads import paste_masks_in_image as tv_paste
from torchvision.models.detection.roi_heads import project_masks_on_boxes as tv_project

from lessons.experiments.mask_head import experiment_drop_in
from lessons.mask_head import (
    MaskHead,
    expand_boxes,
    mask_loss,
    paste_mask_in_image,
    paste_masks_grid_sample,
    paste_masks_in_image,
    project_masks_on_boxes,
    select_class_masks,
    softmax_mask_loss,
)


def overlapping_boxes(g: torch.Generator, n: int, height: int, width: int) -> torch.Tensor:
    """Boxes centred inside the image, up to 0.9 of its size: many reach past its borders."""
    centre = torch.rand(n, 2, generator=g) * torch.tensor([width, height])
    half = (torch.rand(n, 2, generator=g) * 0.9 + 0.02) * torch.tensor([width, height]) / 2
    return torch.cat([centre - half, centre + half], dim=1)


def random_boxes(g: torch.Generator, n: int, size: int, *, outside: float = 0.3) -> torch.Tensor:
    """Boxes of 0.5 to 0.8 * size, some reaching ``outside * size`` beyond the image."""
    xy = torch.rand(n, 2, generator=g) * size * (1 + 2 * outside) - size * outside
    wh = torch.rand(n, 2, generator=g) * size * 0.8 + 0.5
    return torch.cat([xy, xy + wh], dim=1)


# --------------------------------------------------------------------------------------------- head


@pytest.mark.parametrize(
    "in_channels, num_classes, conv_dims, num_convs", [(256, 91, 256, 4), (32, 5, 16, 2), (8, 1, 8, 1)]
)
def test_head_has_torchvisions_layers_and_parameter_count(in_channels, num_classes, conv_dims, num_convs):
    ours = MaskHead(in_channels, num_classes, conv_dims, num_convs)
    heads = MaskRCNNHeads(in_channels, [conv_dims] * num_convs, 1)
    predictor = MaskRCNNPredictor(conv_dims, conv_dims, num_classes)
    theirs = [p.shape for p in [*heads.parameters(), *predictor.parameters()]]
    assert [p.shape for p in ours.parameters()] == theirs
    assert sum(p.numel() for p in ours.parameters()) == sum(math.prod(s) for s in theirs)
    assert ours(torch.zeros(3, in_channels, 14, 14)).shape == (3, num_classes, 28, 28)


def test_head_default_parameter_count_matches_the_docstring():
    assert sum(p.numel() for p in MaskHead().parameters()) == 2_646_107


def test_head_from_torchvision_gives_the_same_logits():
    torch.manual_seed(0)
    heads, predictor = MaskRCNNHeads(16, [8, 8, 8], 1), MaskRCNNPredictor(8, 8, 4)
    ours = MaskHead.from_torchvision(heads, predictor)
    x = torch.randn(5, 16, 14, 14)
    torch.testing.assert_close(ours(x), predictor(heads(x)), rtol=0, atol=1e-6)


@pytest.mark.parametrize("num_upsamples, side", [(0, 14), (1, 28), (2, 56)])
def test_head_resolution(num_upsamples, side):
    assert MaskHead(4, 3, 4, 1, num_upsamples=num_upsamples)(torch.zeros(2, 4, 14, 14)).shape == (2, 3, side, side)


def test_head_rejects_bad_input():
    with pytest.raises(ValueError, match="x: expected 8 channels"):
        MaskHead(8, 2, 4, 1)(torch.zeros(1, 4, 14, 14))
    with pytest.raises(TypeError, match="num_classes"):
        MaskHead(8, 2.0)
    with pytest.raises(ValueError, match="num_convs"):
        MaskHead(8, 2, 4, -1)
    with pytest.raises(ValueError, match="mask_head"):
        MaskHead.from_torchvision(torch.nn.Identity(), MaskRCNNPredictor(8, 8, 2))


# ------------------------------------------------------------------------------------ targets, loss


def scene(g: torch.Generator, count: int = 3, size: int = 20) -> torch.Tensor:
    return torch.rand(count, size, size, generator=g) > 0.5


def test_project_masks_equals_torchvision_on_random_cases():
    g = torch.Generator().manual_seed(1)
    for _ in range(5):
        gt = scene(g)
        boxes = random_boxes(g, 7, 20)
        idx = torch.randint(3, (7,), generator=g)
        for side in (4, 14, 28):
            torch.testing.assert_close(project_masks_on_boxes(gt, boxes, idx, side), tv_project(gt, boxes, idx, side))


def test_project_masks_hand_case_and_empty():
    gt = torch.zeros(1, 8, 8)
    gt[0, 2:6, 2:6] = 1
    got = project_masks_on_boxes(gt, torch.tensor([[2.0, 2.0, 6.0, 6.0]]), torch.tensor([0]), 4)[0]
    half = torch.tensor([1.0, 1.0, 1.0, 0.5])
    torch.testing.assert_close(got, torch.outer(half, half))  # the soft edge of aligned=False
    assert project_masks_on_boxes(gt, torch.zeros(0, 4), torch.zeros(0, dtype=torch.long), 4).shape == (0, 4, 4)


def test_mask_loss_equals_torchvision_maskrcnn_loss():
    g = torch.Generator().manual_seed(2)
    for _ in range(5):
        gt = scene(g, 4)
        proposals = random_boxes(g, 6, 20, outside=0.1)
        matched = torch.randint(4, (6,), generator=g)
        gt_labels = torch.randint(1, 5, (4,), generator=g)
        logits = torch.randn(6, 5, 28, 28, generator=g)
        expected = maskrcnn_loss(logits, [proposals], [gt], [gt_labels], [matched])
        got = mask_loss(logits, gt_labels[matched], project_masks_on_boxes(gt, proposals, matched, 28))
        torch.testing.assert_close(got, expected)


def test_mask_loss_is_the_formula_on_the_gt_channel_only():
    g = torch.Generator().manual_seed(3)
    logits = torch.randn(4, 3, 5, 5, generator=g, dtype=torch.float64)
    labels = torch.tensor([2, 0, 1, 2])
    targets = torch.rand(4, 5, 5, generator=g, dtype=torch.float64)
    total = 0.0
    for r in range(4):
        z = logits[r, labels[r]]
        p = 1 / (1 + torch.exp(-z))
        total = total - (targets[r] * torch.log(p) + (1 - targets[r]) * torch.log(1 - p)).sum()
    torch.testing.assert_close(mask_loss(logits, labels, targets), total / targets.numel())
    other = logits.clone()
    other[torch.arange(4), (labels + 1) % 3] += 100.0  # other channels do not contribute
    torch.testing.assert_close(mask_loss(other, labels, targets), mask_loss(logits, labels, targets))


def test_mask_loss_hand_case():
    logits = torch.zeros(1, 2, 1, 2)  # sigmoid(0) = 1/2 everywhere: BCE = log 2 whatever the target
    assert mask_loss(logits, torch.tensor([1]), torch.tensor([[[0.0, 1.0]]])).item() == pytest.approx(math.log(2))


def test_mask_loss_empty_batch_is_zero_with_a_gradient():
    logits = torch.zeros(0, 3, 28, 28, requires_grad=True)
    loss = mask_loss(logits, torch.zeros(0, dtype=torch.long), torch.zeros(0, 28, 28))
    loss.backward()
    assert loss.item() == 0.0 and logits.grad is not None
    assert softmax_mask_loss(logits, torch.zeros(0, dtype=torch.long), torch.zeros(0, 28, 28)).item() == 0.0


def test_mask_loss_class_agnostic_uses_channel_zero():
    logits = torch.randn(3, 1, 4, 4)
    targets = torch.rand(3, 4, 4)
    expected = F.binary_cross_entropy_with_logits(logits[:, 0], targets)
    torch.testing.assert_close(mask_loss(logits, torch.tensor([3, 1, 7]), targets), expected)


def test_mask_losses_gradcheck():
    g = torch.Generator().manual_seed(4)
    logits = torch.randn(2, 3, 3, 3, generator=g, dtype=torch.float64, requires_grad=True)
    labels = torch.tensor([1, 2])
    targets = torch.rand(2, 3, 3, generator=g, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda z: mask_loss(z, labels, targets), (logits,))
    assert torch.autograd.gradcheck(lambda z: softmax_mask_loss(z, labels, targets), (logits,))


def test_softmax_mask_loss_is_per_pixel_cross_entropy_with_background_zero():
    g = torch.Generator().manual_seed(5)
    logits = torch.randn(3, 4, 5, 5, generator=g, dtype=torch.float64)
    labels = torch.tensor([1, 3, 2])
    targets = torch.rand(3, 5, 5, generator=g, dtype=torch.float64)
    total = 0.0
    for r in range(3):
        for i in range(5):
            for j in range(5):
                cls = int(labels[r]) if targets[r, i, j] >= 0.5 else 0
                z = logits[r, :, i, j]
                total -= z[cls] - torch.log(torch.exp(z).sum())
    torch.testing.assert_close(softmax_mask_loss(logits, labels, targets), total / 75)


# ------------------------------------------------------------------------------------------ select


def test_select_class_masks_equals_maskrcnn_inference():
    g = torch.Generator().manual_seed(6)
    logits = torch.randn(7, 5, 28, 28, generator=g)
    labels = torch.randint(5, (7,), generator=g)
    torch.testing.assert_close(select_class_masks(logits, labels), maskrcnn_inference(logits, [labels])[0][:, 0])
    soft = select_class_masks(logits, labels, activation="softmax")
    torch.testing.assert_close(soft, logits.softmax(1)[torch.arange(7), labels])


def test_select_class_masks_hand_case_and_agnostic():
    logits = torch.tensor([[[[0.0]], [[math.log(3.0)]]]])  # sigmoid(log 3) = 3/4
    assert select_class_masks(logits, torch.tensor([1])).item() == pytest.approx(0.75)
    assert select_class_masks(logits, torch.tensor([0])).item() == pytest.approx(0.5)
    agnostic = torch.randn(2, 1, 3, 3)
    torch.testing.assert_close(select_class_masks(agnostic, torch.tensor([4, 9])), agnostic[:, 0].sigmoid())


# -------------------------------------------------------------------------------------------- paste


def test_paste_equals_torchvision_on_random_cases():
    g = torch.Generator().manual_seed(7)
    for side, (h, w) in [(28, (40, 50)), (14, (33, 20)), (5, (12, 12))]:
        masks = torch.rand(12, 1, side, side, generator=g)
        boxes = overlapping_boxes(g, 12, h, w)
        boxes[0] = torch.tensor([5.0, 6.0, 5.0, 6.0])  # degenerate: zero size
        boxes[1] = torch.tensor([3.2, 4.1, 3.6, 4.3])  # tiny, sub-pixel
        boxes[2] = torch.tensor([-3.7, -2.2, 6.5, 9.9])  # negative corner: truncation toward zero
        boxes[3] = torch.tensor([w - 4.5, h - 3.5, w + 8.0, h + 5.0])  # past the bottom-right corner
        for padding in (1, 0, 2):
            expected = tv_paste(masks, boxes, (h, w), padding=padding)
            torch.testing.assert_close(paste_masks_in_image(masks, boxes, (h, w), padding), expected, rtol=0, atol=0)
            torch.testing.assert_close(
                paste_masks_in_image(masks[:, 0], boxes, (h, w), padding), expected[:, 0], rtol=0, atol=0
            )


def test_paste_no_boxes_and_boxes_fully_outside():
    assert paste_masks_in_image(torch.zeros(0, 28, 28), torch.zeros(0, 4), (9, 9)).shape == (0, 9, 9)
    assert tv_paste(torch.zeros(0, 1, 28, 28), torch.zeros(0, 4), (9, 9)).shape == (0, 1, 9, 9)
    masks = torch.ones(2, 6, 6)
    boxes = torch.tensor([[-30.0, 2.0, -10.0, 8.0], [40.0, 1.0, 50.0, 5.0]])
    assert paste_masks_in_image(masks, boxes, (20, 20)).abs().sum() == 0
    with pytest.raises(RuntimeError):  # torchvision: a negative slice stop, the shapes no longer line up
        tv_paste(masks[:1, None], boxes[:1], (20, 20))


def test_paste_hand_case():
    got = paste_mask_in_image(torch.full((4, 4), 0.9), torch.tensor([2.0, 3.0, 6.0, 5.0]), (10, 10))
    edge = [0.1768, 0.225, 0.225, 0.225, 0.1768]
    middle = [0.7071, 0.9, 0.9, 0.9, 0.7071]
    torch.testing.assert_close(got[2:6, 2:7], torch.tensor([edge, middle, middle, edge]), atol=1e-4, rtol=0)
    assert got.sum() == pytest.approx(got[2:6, 2:7].sum())  # nothing outside the grown, truncated box
    assert (got >= 0.5).nonzero()[:, 0].unique().tolist() == [3, 4]


def test_paste_integer_shift_moves_the_mask():
    g = torch.Generator().manual_seed(8)
    masks = torch.rand(3, 10, 10, generator=g)
    boxes = torch.tensor([[2.0, 3.0, 12.0, 9.0], [4.5, 1.5, 9.5, 11.5], [1.0, 1.0, 3.0, 4.0]])
    base = paste_masks_in_image(masks, boxes, (30, 30))
    moved = paste_masks_in_image(masks, boxes + torch.tensor([5.0, 7.0, 5.0, 7.0]), (30, 30))
    torch.testing.assert_close(moved[:, 7:, 5:], base[:, :23, :25], rtol=0, atol=1e-6)
    shifted = paste_masks_grid_sample(masks, boxes + torch.tensor([5.0, 7.0, 5.0, 7.0]), (30, 30), threshold=None)
    torch.testing.assert_close(
        shifted[:, 7:, 5:], paste_masks_grid_sample(masks, boxes, (30, 30), threshold=None)[:, :23, :25]
    )


def test_expand_boxes_equals_torchvision():
    from torchvision.models.detection.roi_heads import expand_boxes as tv_expand

    boxes = random_boxes(torch.Generator().manual_seed(9), 10, 30)
    torch.testing.assert_close(expand_boxes(boxes, 30 / 28), tv_expand(boxes, 30 / 28), rtol=0, atol=0)


def grid_sample_paste_loop(masks: torch.Tensor, boxes: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """detectron2's paste from its definition: bilinear read of each mask at every pixel centre."""
    out = torch.zeros(len(masks), height, width, dtype=torch.float64)
    side = masks.shape[-1]
    for n, (mask, (x0, y0, x1, y1)) in enumerate(zip(masks.double(), boxes.double().tolist())):
        if x1 <= x0 or y1 <= y0:
            continue
        for i in range(height):
            for j in range(width):
                # pixel centre -> position in [-1, 1] -> mask cell coordinate (align_corners=False)
                u = ((j + 0.5 - x0) / (x1 - x0) * 2 - 1 + 1) * side / 2 - 0.5
                v = ((i + 0.5 - y0) / (y1 - y0) * 2 - 1 + 1) * side / 2 - 0.5
                u0, v0 = math.floor(u), math.floor(v)
                value = 0.0
                for dv in (0, 1):
                    for du in (0, 1):
                        r, c = v0 + dv, u0 + du
                        if 0 <= r < side and 0 <= c < side:  # zero padding outside the mask
                            value += (1 - abs(v - r)) * (1 - abs(u - c)) * float(mask[r, c])
                out[n, i, j] = value
    return out


def test_grid_sample_paste_equals_the_loop_definition():
    g = torch.Generator().manual_seed(10)
    masks = torch.rand(6, 7, 7, generator=g, dtype=torch.float64)
    boxes = random_boxes(g, 6, 12, outside=0.3).double()
    boxes[0] = torch.tensor([3.0, 3.0, 3.0, 8.0], dtype=torch.float64)  # zero width: nothing
    expected = grid_sample_paste_loop(masks, boxes, 12, 13)
    got = paste_masks_grid_sample(masks, boxes, (12, 13), threshold=None)
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-10)
    torch.testing.assert_close(paste_masks_grid_sample(masks, boxes, (12, 13)), expected >= 0.5)


def test_grid_sample_paste_hand_cases():
    # pixel centres inside the box: rows 3-4, cols 2-5
    got = paste_masks_grid_sample(torch.ones(1, 4, 4), torch.tensor([[2.0, 3.0, 6.0, 5.0]]), (10, 10))[0]
    expected = torch.zeros(10, 10, dtype=torch.bool)
    expected[3:5, 2:6] = True
    assert torch.equal(got, expected)
    # row 5's centre (5.5) is 0.5 of a cell into the zero padding: exactly 0.5, kept by >=
    soft = paste_masks_grid_sample(
        torch.ones(1, 28, 28), torch.tensor([[2.3, 3.2, 6.6, 5.5]]), (10, 10), threshold=None
    )[0]
    assert soft[3:5, 2:7].min().item() == 1.0 and soft[5, 2:7].tolist() == [0.5] * 5
    hard = paste_masks_grid_sample(torch.ones(1, 28, 28), torch.tensor([[2.3, 3.2, 6.6, 5.5]]), (10, 10))[0]
    assert hard.nonzero()[:, 0].unique().tolist() == [3, 4, 5]


# -------------------------------------------------------------------------------------- bad inputs


def test_bad_inputs_name_the_argument():
    logits, labels, targets = torch.zeros(2, 3, 4, 4), torch.tensor([1, 2]), torch.zeros(2, 4, 4)
    with pytest.raises(ValueError, match="mask_logits"):
        mask_loss(torch.zeros(2, 4, 4), labels, targets)
    with pytest.raises(TypeError, match="labels"):
        mask_loss(logits, labels.float(), targets)
    with pytest.raises(ValueError, match="labels"):
        mask_loss(logits, torch.tensor([1, 3]), targets)
    with pytest.raises(ValueError, match="mask_targets"):
        mask_loss(logits, labels, torch.zeros(2, 5, 5))
    with pytest.raises(ValueError, match="mask_targets"):
        mask_loss(logits, labels, torch.full((2, 4, 4), 2.0))
    with pytest.raises(ValueError, match="mask_targets"):
        mask_loss(logits, labels, torch.full((2, 4, 4), float("nan")))
    with pytest.raises(ValueError, match="labels"):
        softmax_mask_loss(logits, torch.tensor([0, 1]), targets)
    with pytest.raises(ValueError, match="activation"):
        select_class_masks(logits, labels, activation="tanh")
    with pytest.raises(ValueError, match="boxes"):
        paste_masks_in_image(torch.zeros(2, 4, 4), torch.zeros(3, 4), (8, 8))
    with pytest.raises(ValueError, match="boxes"):
        paste_masks_in_image(torch.zeros(1, 4, 4), torch.tensor([[0.0, 0.0, float("inf"), 2.0]]), (8, 8))
    with pytest.raises(TypeError, match="boxes"):
        paste_masks_in_image(torch.zeros(1, 4, 4), torch.tensor([[0, 0, 2, 2]]), (8, 8))
    with pytest.raises(ValueError, match="masks"):
        paste_masks_in_image(torch.zeros(1, 4, 5), torch.zeros(1, 4), (8, 8))
    with pytest.raises(ValueError, match="masks"):
        paste_masks_in_image(torch.zeros(1, 2, 4, 4), torch.zeros(1, 4), (8, 8))
    with pytest.raises(TypeError, match="image_shape"):
        paste_masks_in_image(torch.zeros(1, 4, 4), torch.zeros(1, 4), (8.0, 8))
    with pytest.raises(ValueError, match="padding"):
        paste_masks_in_image(torch.zeros(1, 4, 4), torch.zeros(1, 4), (8, 8), padding=-1)
    with pytest.raises(TypeError, match="threshold"):
        paste_masks_grid_sample(torch.zeros(1, 4, 4), torch.zeros(1, 4), (8, 8), threshold="0.5")
    with pytest.raises(ValueError, match="box"):
        paste_mask_in_image(torch.zeros(4, 4), torch.zeros(5), (8, 8))
    with pytest.raises(ValueError, match="matched_idxs"):
        project_masks_on_boxes(torch.zeros(2, 8, 8), torch.zeros(1, 4), torch.tensor([2]), 4)
    with pytest.raises(ValueError, match="boxes"):
        project_masks_on_boxes(
            torch.zeros(2, 8, 8), torch.tensor([[0.0, float("nan"), 1.0, 1.0]]), torch.tensor([0]), 4
        )
    with pytest.raises(TypeError, match="M"):
        project_masks_on_boxes(torch.zeros(2, 8, 8), torch.zeros(1, 4), torch.tensor([0]), 4.0)


# ---------------------------------------------------------------------------------- drop-in proof


def test_course_pieces_run_torchvisions_mask_rcnn_with_the_same_results():
    for seed in (0, 1):
        result = experiment_drop_in(seed=seed, n=3, size=128, num_classes=5, detections=10)
        assert result.detections == 30 and result.same_labels
        assert result.box_error < 1e-3 and result.score_error < 1e-5 and result.mask_error < 1e-3
        assert result.mask_pixels_flipped == 0
