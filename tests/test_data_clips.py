"""lessons.data.clips: panoptic clips with exact flow, crossings, look-alikes and a veil."""

import pytest
import torch

from lessons.data import CLIP_CATEGORIES, VideoClip, make_video_clip, video_clip_flow


def test_shapes_dtypes_and_panoptic_ids():
    clip = make_video_clip(5, 32, 3, seed=3)
    assert isinstance(clip, VideoClip)
    assert clip.frames.shape == (5, 3, 32, 32) and clip.frames.dtype == torch.float32
    assert clip.masks.shape == (5, 3, 32, 32) and clip.masks.dtype == torch.bool
    assert clip.boxes.shape == (5, 3, 4) and clip.labels.shape == (3,)
    assert clip.panoptic.shape == (5, 32, 32) and clip.panoptic.dtype == torch.int64
    assert clip.veiled.shape == (5, 3) and not clip.veiled.any()
    assert 0.0 <= clip.frames.min() and clip.frames.max() <= 1.0
    # visible masks are disjoint, and the panoptic map is 1 + (n + 1) on thing n
    assert int(clip.masks.sum(1).max()) <= 1
    for k in range(3):
        assert torch.equal(clip.panoptic == k + 2, clip.masks[:, k])
    assert torch.equal(clip.panoptic == 1, ~clip.masks.any(1))
    assert [s["id"] for s in clip.segments] == [1, 2, 3, 4]
    cats = {c["id"]: c["isthing"] for c in CLIP_CATEGORIES}
    for seg in clip.segments[1:]:
        assert cats[seg["category_id"]] == 1
    assert cats[clip.segments[0]["category_id"]] == 0


def test_seeded_and_generator_advances():
    a, b = make_video_clip(3, seed=5), make_video_clip(3, seed=5)
    assert torch.equal(a.frames, b.frames) and torch.equal(a.panoptic, b.panoptic)
    g = torch.Generator().manual_seed(5)
    c, d = make_video_clip(3, seed=g), make_video_clip(3, seed=g)
    assert torch.equal(c.frames, a.frames) and not torch.equal(c.frames, d.frames)


@pytest.mark.parametrize("motion", ["random", "crossing", "parallel"])
def test_flow_points_to_the_same_thing_in_the_earlier_frame(motion):
    """Nearest-pixel lookup of frame t-1's panoptic map at p + flow(p) finds the same segment."""
    clip = make_video_clip(6, 32, 2, seed=11, motion=motion)
    for t in range(1, 6):
        flow = video_clip_flow(clip, t, t - 1)
        assert flow.shape == (2, 32, 32)
        for k in range(2):
            ys, xs = clip.masks[t, k].nonzero(as_tuple=True)
            if len(ys) == 0:
                continue
            # the flow is the thing's velocity, backwards
            assert torch.allclose(flow[:, ys, xs], -clip.velocities[k][:, None].expand(2, len(ys)))
            sx = (xs + flow[0, ys, xs]).round().long().clamp(0, 31)
            sy = (ys + flow[1, ys, xs]).round().long().clamp(0, 31)
            source = clip.panoptic[t - 1, sy, sx]
            shown = (source == 1) | (source == k + 2)  # not hidden behind the other thing in t-1
            if len(ys) >= 20:  # a sliver is all edge, where rounding the flow can step off the shape
                assert (source[shown] == k + 2).float().mean() > 0.8
        assert torch.all(flow[:, ~clip.masks[t].any(0)] == 0)  # the background does not move


def test_crossing_hides_thing_zero_behind_thing_one():
    for seed in range(4):
        clip = make_video_clip(6, 32, 2, seed=seed, motion="crossing")
        area = clip.masks.flatten(2).sum(2)  # (T, N)
        assert clip.velocities[0, 0] > 0 > clip.velocities[1, 0]
        assert area[:, 0].min() < 0.6 * area[0, 0]  # thing 0 loses area mid-clip (it is behind)
        assert area[:, 1].min() >= 0.9 * area[0, 1] - 2  # thing 1 is in front


def test_looks():
    twins = make_video_clip(3, 32, 2, seed=2, motion="parallel", look="twins")
    assert twins.labels[0] == twins.labels[1]
    colour = [twins.frames[0][:, twins.masks[0, k]].mean(1) for k in range(2)]
    assert torch.allclose(colour[0], colour[1], atol=0.03)
    kind = make_video_clip(3, 32, 2, seed=2, look="same_kind")
    assert kind.labels[0] == kind.labels[1]
    same_colour = make_video_clip(3, 32, 3, seed=2, look="same_colour")
    assert len(set(same_colour.labels.tolist())) == 3


def test_veil_is_never_on_two_consecutive_frames_and_only_changes_its_box():
    seen = 0
    for seed in range(6):
        clip = make_video_clip(6, 32, 2, seed=seed, veil=0.9)
        frame_veiled = clip.veiled.any(1)
        assert not frame_veiled[0]
        assert not (frame_veiled[1:] & frame_veiled[:-1]).any()
        assert int(clip.veiled.sum(1).max()) <= 1
        seen += int(frame_veiled.sum())
        plain = make_video_clip(6, 32, 2, seed=seed, veil=0.0)
        # same draws up to the veil: the masks and the unveiled frames agree
        assert torch.equal(plain.panoptic, clip.panoptic)
        for t in range(6):
            if not frame_veiled[t]:
                assert torch.equal(plain.frames[t], clip.frames[t])
    assert seen >= 6


def test_bad_inputs():
    with pytest.raises(ValueError, match="motion"):
        make_video_clip(motion="zigzag")
    with pytest.raises(ValueError, match="look"):
        make_video_clip(look="clones")
    with pytest.raises(ValueError, match="n:"):
        make_video_clip(n=1, motion="crossing")
    with pytest.raises(TypeError, match="n_frames"):
        make_video_clip(2.0)
    with pytest.raises(ValueError, match="veil"):
        make_video_clip(veil=1.5)
    with pytest.raises(TypeError, match="seed"):
        make_video_clip(seed=1.5)
    with pytest.raises(TypeError, match="clip"):
        video_clip_flow("clip", 1, 0)
    with pytest.raises(ValueError, match="frame"):
        video_clip_flow(make_video_clip(3), 3, 0)
