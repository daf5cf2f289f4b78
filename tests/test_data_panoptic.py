"""Tests for lessons.data.panoptic: procedural panoptic scenes and simulated head outputs."""

from __future__ import annotations

import pytest
import torch

import lessons.data as data
from lessons.data import (
    NUM_STUFF,
    PANOPTIC_CATEGORIES,
    make_panoptic_scene,
    mask_to_box,
    panoptic_to_rgb,
    simulate_head_outputs,
)
from lessons.panoptic import panoptic_quality, paste_mask_logits, upsnet_inference


def _scene(seed: int, size: int = 64, **kwargs):
    return make_panoptic_scene(size, seed=seed, **kwargs)


def test_exports_and_categories():
    for name in ("make_panoptic_scene", "simulate_head_outputs", "panoptic_to_rgb", "PANOPTIC_CATEGORIES", "NUM_STUFF"):
        assert hasattr(data, name)
    assert [c["id"] for c in PANOPTIC_CATEGORIES] == list(range(len(PANOPTIC_CATEGORIES)))
    assert [c["isthing"] for c in PANOPTIC_CATEGORIES] == [0] * NUM_STUFF + [1] * (len(PANOPTIC_CATEGORIES) - NUM_STUFF)
    assert [c["name"] for c in PANOPTIC_CATEGORIES[:NUM_STUFF]] == ["sky", "wall", "ground"]


@pytest.mark.parametrize("seed", range(6))
def test_scene_ground_truth_is_consistent(seed):
    s = _scene(seed)
    n = s.masks.shape[0]
    assert 3 <= n <= 6
    assert s.image.shape == (3, 64, 64) and float(s.image.min()) >= 0 and float(s.image.max()) <= 1
    assert s.semantic.dtype == s.instance.dtype == s.panoptic.dtype == torch.int64
    # masks are disjoint (occlusion resolved), each visible, and agree with the instance map
    assert int(s.masks.sum(0).max()) <= 1
    assert all(int(m.sum()) >= 6 for m in s.masks)
    for i in range(n):
        assert torch.equal(s.instance == i + 1, s.masks[i])
        assert bool((s.semantic[s.masks[i]] == s.labels[i]).all())
    assert bool((s.semantic[s.instance == 0] < NUM_STUFF).all())
    assert bool((s.labels >= NUM_STUFF).all()) and bool((s.labels < len(PANOPTIC_CATEGORIES)).all())
    assert torch.equal(s.boxes, mask_to_box(s.masks))
    # the panoptic map: every pixel in exactly one listed segment, no void, ids unique
    ids = [seg["id"] for seg in s.segments]
    assert len(ids) == len(set(ids)) and set(s.panoptic.unique().tolist()) == set(ids)
    for seg in s.segments:
        region = s.panoptic == seg["id"]
        assert int(region.sum()) == seg["area"]
        assert bool((s.semantic[region] == seg["category_id"]).all())
        assert seg["isthing"] == (seg["category_id"] >= NUM_STUFF) and seg["iscrowd"] == 0
    assert [torch.equal(s.panoptic == sid, s.masks[i]) for i, sid in enumerate(s.instance_segment_id)] == [True] * n
    # a perfect prediction scores PQ = 1
    r = panoptic_quality(s.panoptic, s.segments, s.panoptic, s.segments, PANOPTIC_CATEGORIES)
    assert r["All"]["pq"] == pytest.approx(1.0)


def test_scenes_are_seeded_and_varied():
    a, b, c = _scene(3), _scene(3), _scene(4)
    assert torch.equal(a.image, b.image) and torch.equal(a.panoptic, b.panoptic)
    assert not torch.equal(a.semantic, c.semantic)


def test_instances_occlude_each_other_and_all_stuff_appears():
    touching = 0
    stuff_seen = set()
    for seed in range(10):
        s = _scene(seed)
        stuff_seen |= {seg["category_id"] for seg in s.segments if not seg["isthing"]}
        inst = s.instance
        # 4-neighbours that belong to two different instances: one shape borders/overlaps another
        right = (inst[:, 1:] != inst[:, :-1]) & (inst[:, 1:] > 0) & (inst[:, :-1] > 0)
        down = (inst[1:] != inst[:-1]) & (inst[1:] > 0) & (inst[:-1] > 0)
        touching += int(right.any() or down.any())
    assert touching >= 3
    assert stuff_seen == set(range(NUM_STUFF))


def test_scene_options():
    s = _scene(0, size=(40, 56), num_instances=2, radius=(4.0, 6.0))
    assert s.semantic.shape == (40, 56) and s.masks.shape[0] == 2
    empty = _scene(0, num_instances=0)
    assert empty.masks.shape == (0, 64, 64) and empty.boxes.shape == (0, 4)
    assert all(not seg["isthing"] for seg in empty.segments)


def test_perfect_head_outputs_reproduce_the_ground_truth():
    s = _scene(1)
    h = simulate_head_outputs(s, noise=0.0, box_jitter=0.0, seed=0)
    n = s.masks.shape[0]
    assert h.semantic_logits.shape == (len(PANOPTIC_CATEGORIES), 64, 64)
    assert torch.equal(h.semantic_logits.argmax(0), s.semantic)
    assert set(h.semantic_logits.unique().tolist()) == {-2.0, 2.0}  # margin 4, centred
    assert h.mask_logits.shape == (n, 28, 28) and torch.equal(h.matched, torch.arange(n)) and h.missed == []
    assert torch.equal(h.labels, s.labels) and torch.equal(h.boxes, s.boxes)
    assert bool(((h.scores >= 0.6) & (h.scores < 1.0)).all())
    pasted = paste_mask_logits(h.mask_logits, h.boxes, (64, 64)) > 0
    for i in range(n):
        iou = (pasted[i] & s.masks[i]).sum() / (pasted[i] | s.masks[i]).sum()
        assert float(iou) > 0.9
    pan, segs = upsnet_inference(h.semantic_logits, h.mask_logits, h.boxes, h.labels, h.scores, num_stuff=NUM_STUFF)
    assert panoptic_quality(pan, segs, s.panoptic, s.segments, PANOPTIC_CATEGORIES)["All"]["pq"] > 0.95


def test_misses_and_spurious_detections():
    s = _scene(2)
    n = s.masks.shape[0]
    g = torch.Generator().manual_seed(0)
    all_missed = simulate_head_outputs(s, miss_rate=1.0, seed=g)
    assert all_missed.boxes.shape == (0, 4) and all_missed.mask_logits.shape == (0, 28, 28)
    assert all_missed.missed == list(range(n))
    spur = simulate_head_outputs(s, spurious_rate=1.0, mask_size=14, seed=g)
    assert spur.mask_logits.shape[1:] == (14, 14)
    assert int((spur.matched == -1).sum()) == n and torch.equal(spur.matched[:n], torch.arange(n))
    fake = spur.scores[spur.matched == -1]
    assert bool(((fake >= 0.5) & (fake < 0.9)).all())
    assert bool((spur.labels >= NUM_STUFF).all())
    # about miss_rate of the instances are missed, over many draws
    missed = sum(len(simulate_head_outputs(s, miss_rate=0.3, seed=g).missed) for _ in range(30))
    assert 0.2 < missed / (30 * n) < 0.4
    sub = spur.subset(spur.matched >= 0)
    assert sub.boxes.shape[0] == n and torch.equal(sub.matched, torch.arange(n))
    assert sub.semantic_logits is spur.semantic_logits


def test_noise_level_changes_semantic_error_rate():
    s = _scene(5)
    g = torch.Generator().manual_seed(0)
    errors = [
        float((simulate_head_outputs(s, noise=noise, seed=g).semantic_logits.argmax(0) != s.semantic).float().mean())
        for noise in (0.0, 0.5, 2.0)
    ]
    assert errors[0] == 0.0 and errors[1] < errors[2] and errors[2] > 0.05


def test_panoptic_to_rgb():
    s = _scene(0)
    pan = s.panoptic.clone()
    pan[:2] = 0
    rgb = panoptic_to_rgb(pan, s.segments)
    assert rgb.shape == (64, 64, 3) and float(rgb.max()) <= 1.0
    assert bool((rgb[:2] == 0).all()) and bool((rgb[2:].sum(-1) > 0).all())


def test_errors():
    with pytest.raises(ValueError, match="size: expected values >= 16"):
        make_panoptic_scene(8)
    with pytest.raises(TypeError, match=r"num_instances: expected an int or a pair \(low, high\)"):
        make_panoptic_scene(32, num_instances="3")
    with pytest.raises(ValueError, match="num_instances: expected 0 <= low <= high"):
        make_panoptic_scene(32, num_instances=(4, 2))
    with pytest.raises(ValueError, match="radius: expected a \\(low, high\\) pair"):
        make_panoptic_scene(32, radius=(5.0, 2.0))
    s = _scene(0, size=32)
    with pytest.raises(TypeError, match="scene: expected a PanopticScene"):
        simulate_head_outputs(s.semantic)
    with pytest.raises(ValueError, match="miss_rate: expected a probability in \\[0, 1\\], got 1.5"):
        simulate_head_outputs(s, miss_rate=1.5)
    with pytest.raises(ValueError, match="noise: expected a non-negative number"):
        simulate_head_outputs(s, noise=-1.0)
    with pytest.raises(ValueError, match="margin: expected a positive number"):
        simulate_head_outputs(s, margin=0.0)
