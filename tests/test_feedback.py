"""Feedback that points at the actual mistake: recognized wrong answers, boundary cases, tiered
hints, readable inputs. Each classic mistake of the course's exercises is run through its check and
must come back with the hint that names it."""

from __future__ import annotations

import typing

import pytest
import torch

import lessons.exercises as ex
from lessons.boxes import box_iou
from lessons.exercises import Case, ExerciseFailure, Hint, Mistake, check_function, hint
from lessons.exercises.boxes import check_box_iou
from lessons.exercises.cycle import _pool_variant, check_cycle_consistency_loss, check_image_pool_query
from lessons.exercises.heatmaps import check_argmax_decode, check_pck_score
from lessons.exercises.roi import check_roi_align_single
from lessons.exercises.style import check_style_loss
from lessons.exercises.yolact import check_assemble_masks, check_crop_masks, check_fast_nms
from lessons.roi import roi_align_single
from lessons.style import gram_matrix
from lessons.yolact import fast_nms


@pytest.fixture(autouse=True)
def fresh_kernel():
    """Every test starts as a fresh kernel: no failures counted yet."""
    ex._reset_feedback()
    yield
    ex._reset_feedback()


def failure(check, student) -> str:
    with pytest.raises(ExerciseFailure) as info:
        check(student)
    return str(info.value)


# ----------------------------------------------------------------------------- the cases


def test_box_iou_plus_one_is_named_as_the_inclusive_convention():
    def plus_one(b1, b2):
        a1 = (b1[:, 2] - b1[:, 0] + 1) * (b1[:, 3] - b1[:, 1] + 1)
        a2 = (b2[:, 2] - b2[:, 0] + 1) * (b2[:, 3] - b2[:, 1] + 1)
        wh = torch.minimum(b1[:, None, 2:], b2[None, :, 2:]) - torch.maximum(b1[:, None, :2], b2[None, :, :2]) + 1
        inter = wh.clamp(min=0).prod(-1)
        return inter / (a1[:, None] + a2[None, :] - inter)

    def plus_one_areas_only(b1, b2):
        a1 = (b1[:, 2] - b1[:, 0] + 1) * (b1[:, 3] - b1[:, 1] + 1)
        a2 = (b2[:, 2] - b2[:, 0] + 1) * (b2[:, 3] - b2[:, 1] + 1)
        inter = torch.minimum(b1[:, None, 2:], b2[None, :, 2:]) - torch.maximum(b1[:, None, :2], b2[None, :, :2])
        inter = inter.clamp(min=0).prod(-1)
        return inter / (a1[:, None] + a2[None, :] - inter)

    for wrong in (plus_one, plus_one_areas_only):
        text = failure(check_box_iou, wrong)
        assert "likely mistake: +1" in text
        assert "hint: You added 1 to the widths and heights" in text
        assert "The union is area1 + area2" not in text  # the case's own hint is not the one shown


def test_crop_masks_le_at_the_upper_bound_is_named():
    def crop_le(masks, boxes, padding=1):
        _, h, w = masks.shape
        lo = torch.minimum(boxes[:, :2], boxes[:, 2:]) - padding
        hi = torch.maximum(boxes[:, :2], boxes[:, 2:]) + padding
        c, r = torch.arange(w)[None, None, :], torch.arange(h)[None, :, None]
        keep = (c >= lo[:, 0, None, None]) & (c <= hi[:, 0, None, None])
        keep = keep & (r >= lo[:, 1, None, None]) & (r <= hi[:, 1, None, None])
        return masks * keep

    text = failure(check_crop_masks, crop_le)
    assert "likely mistake: <= instead of < at the upper bound" in text
    assert "half-open" in text and "Sort each pair" not in text


def test_crop_masks_le_on_x_only_fails_on_the_integer_boundary_case():
    def crop_le_x(masks, boxes, padding=1):
        _, h, w = masks.shape
        lo = torch.minimum(boxes[:, :2], boxes[:, 2:]) - padding
        hi = torch.maximum(boxes[:, :2], boxes[:, 2:]) + padding
        c, r = torch.arange(w)[None, None, :], torch.arange(h)[None, :, None]
        keep = (c >= lo[:, 0, None, None]) & (c <= hi[:, 0, None, None])
        keep = keep & (r >= lo[:, 1, None, None]) & (r < hi[:, 1, None, None])
        return masks * keep

    text = failure(check_crop_masks, crop_le_x)
    assert "an integer box (2, 1, 5, 4)" in text and "likely mistake: <= instead of < at the right edge" in text


def test_assemble_masks_transposed_is_named():
    def transposed(prototypes, coefficients):
        return torch.sigmoid(torch.einsum("np,phw->nwh", coefficients, prototypes))

    text = failure(check_assemble_masks, transposed)
    assert "likely mistake: transposed masks (N, W, H)" in text
    assert "sigmoid, about" not in text  # not the first case's hint about the sigmoid


def test_roi_align_transposed_is_named():
    def transposed(feature, box, output_size, sampling_ratio=2, aligned=False):
        return roi_align_single(feature, box, output_size, sampling_ratio=sampling_ratio, aligned=aligned).mT

    text = failure(check_roi_align_single, transposed)
    assert "likely mistake: transposed output" in text and "bin row ph" in text
    assert "sit at y1 + ph*bin_h" not in text  # not the first case's hint about sample positions


POOL_BUGS = {
    "draw_while_filling": "there is no coin toss",
    "slot_always": "Draw the slot only when the coin says 'swap'",
    "return_new": "the discriminator gets the OLD image",
    "keep_old": "A swap is two moves",
}


@pytest.mark.parametrize("bug", sorted(POOL_BUGS))
def test_image_pool_bugs_get_their_own_hints(bug):
    def student(images, pool, *, pool_size=50, seed=0):
        return _pool_variant(images, pool, pool_size=pool_size, seed=seed, **{bug: True})

    text = failure(check_image_pool_query, student)
    assert POOL_BUGS[bug] in text
    others = [words for other, words in POOL_BUGS.items() if other != bug]
    assert not any(words in text for words in others)


def test_cycle_loss_one_mean_over_both_directions_is_named():
    def pooled(real_x, rec_x, real_y, rec_y, *, weight=10.0):
        return weight * torch.cat([(rec_x - real_x).abs().flatten(), (rec_y - real_y).abs().flatten()]).mean()

    text = failure(check_cycle_consistency_loss, pooled)
    assert "likely mistake: one mean over both directions together" in text
    assert "one mean per direction" in text and "not the square" not in text


def test_cycle_loss_ambiguous_mistakes_are_told_apart_by_the_other_cases():
    def no_abs(real_x, rec_x, real_y, rec_y, *, weight=10.0):  # equals the pooled mean on case 2
        return weight * ((rec_x - real_x).mean() + (rec_y - real_y).mean())

    assert "likely mistake: no absolute value" in failure(check_cycle_consistency_loss, no_abs)


def test_heatmap_decode_and_pck_mistakes():
    def by_height(heatmaps):
        k, h, w = heatmaps.shape
        idx = heatmaps.reshape(k, -1).argmax(dim=1)
        return torch.stack([idx % h, idx // h], dim=1).to(heatmaps.dtype)

    assert "the flat index split by the height" in failure(check_argmax_decode, by_height)

    def strict(pred, target, visible, threshold, normalize):
        ok = ((pred - target).norm(dim=-1) / normalize < threshold) & visible
        return ok.sum().float() / visible.sum()

    assert "likely mistake: < instead of <= at the threshold" in failure(check_pck_score, strict)


# ----------------------------------------------------------------------------- boundary cases


def test_fast_nms_with_strict_comparison_fails_at_the_exact_threshold():
    def strict(boxes, scores, iou_threshold=0.5):
        order = scores.argsort(descending=True)
        iou = box_iou(boxes[order], boxes[order]).triu(diagonal=1)
        top = iou.max(dim=0).values if order.numel() else iou.new_zeros(0)
        return order[top < iou_threshold]

    text = failure(check_fast_nms, strict)
    assert "IoU exactly 0.5" in text and "likely mistake: < instead of <= at the threshold" in text


def test_boundary_boxes_are_exact_in_floating_point():
    a, b = torch.tensor([[0.0, 0.0, 4.0, 4.0]]), torch.tensor([[0.0, 0.0, 4.0, 2.0], [0.0, 0.0, 1.0, 4.0]])
    assert box_iou(a, b).tolist() == [[0.5, 0.25]]
    assert fast_nms(torch.cat([a, b[:1]]), torch.tensor([0.9, 0.8]), 0.5).tolist() == [0, 1]


# ----------------------------------------------------------------------------- mechanism


def reference(x):
    return x * 2


def test_declared_mistake_replaces_the_case_hint_and_generic_transpose_is_recognized():
    cases = [Case("a 2 x 3 matrix", (torch.arange(6.0).view(2, 3),), hint="the case's own hint")]
    halve = Mistake("halved", lambda x: x, Hint("You forgot to double."))
    text = failure(
        lambda s: check_function(s, reference, cases, exercise="9.8", name="double", mistakes=[halve]),
        lambda x: x.clone(),
    )
    assert "likely mistake: halved" in text and "hint: You forgot to double." in text
    assert "the case's own hint" not in text
    square = [Case("a square matrix", (torch.arange(9.0).view(3, 3),), hint="the case's own hint")]
    text = failure(lambda s: check_function(s, reference, square, exercise="9.8", name="double"), lambda x: (x * 2).T)
    assert "likely mistake: transposed output" in text and "rows and columns are swapped" in text
    # a mistake that gives the right answer on the failing case explains nothing
    same = Mistake("same", lambda x: x * 2, "never shown")
    text = failure(
        lambda s: check_function(s, reference, cases, exercise="9.8", name="double", mistakes=[same]), lambda x: x * 3
    )
    assert "never shown" not in text and "the case's own hint" in text


def tiered_check(student):
    cases = [Case("a vector", (torch.arange(3.0),), hint=Hint("Think about doubling.", "return x * 2"))]
    return check_function(
        student,
        reference,
        cases,
        exercise="9.7",
        name="double",
        hint=Hint("Double every entry.", "x + x, or x * 2, keeps the dtype."),
    )


def test_first_failure_nudges_hint_gives_the_recipe_third_failure_shows_it(capsys):
    first = failure(tiered_check, lambda x: x * 3)
    assert "hint: Think about doubling." in first
    assert "return x * 2" not in first and 'more help: hint("9.7")' in first
    hint("9.7")
    out = capsys.readouterr().out
    assert "recipe: return x * 2" in out and "your last failure: case 1 of 1: a vector" in out
    assert "recipe: x + x, or x * 2, keeps the dtype." in out  # the exercise's own recipe too
    second = failure(tiered_check, lambda x: x * 3)
    assert "return x * 2" not in second
    third = failure(tiered_check, lambda x: x * 3)
    assert "recipe (failure 3 of this exercise): return x * 2" in third and "more help" not in third
    ex._reset_feedback()  # a new kernel starts over
    assert "return x * 2" not in failure(tiered_check, lambda x: x * 3)


def test_hint_before_any_check_and_for_the_real_exercises(capsys):
    hint("3.1")
    assert "No check of exercise 3.1 has run in this kernel yet" in capsys.readouterr().out

    def stub(prototypes, coefficients):
        raise NotImplementedError

    check_assemble_masks(stub)  # a student notebook runs the check cell with the stub: "not attempted"
    capsys.readouterr()
    hint(3.1)
    out = capsys.readouterr().out
    assert "torch.einsum('np,phw->nhw', coefficients, prototypes)" in out
    first = failure(check_assemble_masks, lambda p, c: torch.einsum("np,phw->nhw", c, p))  # no sigmoid
    assert "einsum" not in first  # the recipe waits for hint("3.1") or the third failure


def test_exercises_whose_hints_gave_the_answer_now_hold_it_back():
    def wrong_decode(heatmaps):
        return torch.zeros(heatmaps.shape[0], 2, dtype=heatmaps.dtype)

    assert "idx % W" not in failure(check_argmax_decode, wrong_decode)

    def wrong_cycle(real_x, rec_x, real_y, rec_y, *, weight=10.0):
        return weight * (rec_x - real_x).abs().max()

    text = failure(check_cycle_consistency_loss, wrong_cycle)
    assert ".abs().mean()" not in text and "1.25" not in text.split("hint:")[-1]


# ----------------------------------------------------------------------------- readable inputs


class Pair(typing.NamedTuple):
    image: torch.Tensor
    label: int


def test_every_input_kind_is_summarized_one_line_per_entry():
    lines = ex._summary({"a": torch.zeros(5, 5, dtype=torch.float64), "b": [1, 2], "c": {"d": torch.ones(3)}})
    assert lines[0] == "dict of 3 entries:" and len(lines) == 4
    assert lines[1] == "'a': Tensor[5, 5] float64 [0, 0, 0, 0, …] min 0 max 0"
    assert lines[3] == "'c': dict of 1 entry"
    pair = ex._summary(Pair(torch.arange(20.0), 3))
    assert pair[0] == "Pair (NamedTuple of 2 fields):"
    assert pair[1].startswith("image=Tensor[20] float32") and pair[2] == "label=3"
    assert ex._summary(torch.nn.Linear(3, 2)) == ["Linear module (8 parameters)"]
    assert len(ex._summary([torch.zeros(40, 40)] * 20)) == 1 + 8 + 1  # eight shown, then "... and 12 more"
    assert ex._summary((1, 2.5, "a")) == ["(1, 2.5, 'a')"]


def test_style_loss_failure_with_dicts_of_tensors_is_short():
    def summed_over_batch(features, style_grams, weights):
        return sum(w * ((gram_matrix(features[k]) - style_grams[k]) ** 2).sum() for k, w in weights.items())

    text = failure(check_style_loss, summed_over_batch)
    assert "case 6 of 7" in text
    assert len(text.splitlines()) <= 25  # was 294 lines when the tensors were printed in full
    assert "'relu1_2': Tensor[3, 4, 6, 6] float32" in text
    assert "weights={'relu1_2': 1.0, 'relu2_2': 0.5, 'relu3_3': 2.0}" in text


# ----------------------------------------------------------------------------- every declared mistake


def _declared():
    from lessons.exercises import boxes, cycle, densepose, gan, heatmaps, mask_head, panoptic, roi, style, video, yolact

    def named(variants):  # video keeps (name, function, hint) triples
        return [m if isinstance(m, Mistake) else Mistake(*m) for m in variants]

    return [
        (boxes.check_box_iou, boxes.box_iou_mistakes()),
        (roi.check_roi_pool_single, roi.ROI_POOL_MISTAKES),
        (roi.check_roi_align_single, roi.ROI_ALIGN_MISTAKES),
        (mask_head.check_gt_class_mask_loss, mask_head.LOSS_MISTAKES),
        (mask_head.check_select_mask, mask_head.SELECT_MISTAKES),
        (mask_head.check_paste_mask, mask_head.PASTE_MISTAKES),
        (yolact.check_assemble_masks, yolact.ASSEMBLE_MISTAKES),
        (yolact.check_crop_masks, yolact.CROP_MISTAKES),
        (yolact.check_fast_nms, yolact.NMS_MISTAKES),
        (panoptic.check_paste_instance_logits, panoptic.PASTE_MISTAKES),
        (panoptic.check_unknown_channel, panoptic.UNKNOWN_MISTAKES),
        (panoptic.check_category_pq, panoptic.PQ_MISTAKES),
        (video.check_backward_warp, named(video._WARP_VARIANTS)),
        (video.check_track_score_row, named(video._SCORE_VARIANTS)),
        (video.check_tube_iou, named(video._TUBE_VARIANTS)),
        (heatmaps.check_gaussian_label_map, heatmaps.GAUSSIAN_MISTAKES),
        (heatmaps.check_argmax_decode, heatmaps.DECODE_MISTAKES),
        (heatmaps.check_pck_score, heatmaps.PCK_MISTAKES),
        (densepose.check_uv_point_loss, densepose.UV_MISTAKES),
        (densepose.check_multitask_loss, densepose.MULTITASK_MISTAKES),
        (gan.check_pix2pix_generator_loss, gan.LOSS_MISTAKES),
        (gan.check_receptive_field_size, gan.FIELD_MISTAKES),
        (cycle.check_cycle_consistency_loss, cycle.CYCLE_MISTAKES),
        (cycle.check_image_pool_query, cycle.POOL_MISTAKES),
        (style.check_gram_matrix, style.GRAM_MISTAKES),
        (style.check_style_loss, style.STYLE_MISTAKES),
    ]


def test_every_declared_mistake_fails_its_check_and_is_named():
    """Each declared wrong answer, handed in as the student's function, fails the check and the message
    names it (or, where two mistakes give the same output on every case, a twin with the same hint)."""
    unnamed = []
    for check, mistakes in _declared():
        for mistake in mistakes:
            ex._reset_feedback()
            text = failure(check, mistake.wrong)
            hint_text = mistake.hint.nudge if isinstance(mistake.hint, Hint) else mistake.hint
            if f"likely mistake: {mistake.name}\n" not in text and f"hint: {hint_text}" not in text:
                unnamed.append((check.__name__, mistake.name, text.splitlines()[0]))
    assert not unnamed, unnamed
