"""Notebook 05's experiments: what fusing warped features buys, what each tracking term saves, VPQ.

- :func:`experiment_fusion` trains a tiny per-frame segmenter and the same network with features
  of frame ``t - 1`` warped by the exact flow and fused (:class:`lessons.video.TemporalFusion`), on
  procedural clips where a translucent veil sometimes hides a thing, and measures mask IoU on veiled
  and clear frames and the temporal consistency of the masks.
- :func:`experiment_warping` measures how well frame ``t - 1`` warped by the exact, a noisy or a
  zero flow reproduces frame ``t``.
- :func:`experiment_tracking` trains a tiny :class:`lessons.video.TrackHead` and tracks ground-truth
  detections through clips where things cross, look alike, or both, with the full score
  combination and with single terms; it counts id switches and scores VPQ for windows 1 to 4.

Everything is CPU-sized (32 x 32 frames, a few hundred training steps): the numbers show the
direction and the size of an effect, not what a full VPSNet reaches on Cityscapes-VPS.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.ops import roi_align

from lessons._checks import as_generator, check_int
from lessons.data.clips import CLIP_CATEGORIES, VideoClip, make_video_clip, video_clip_flow
from lessons.video import (
    TemporalFusion,
    TrackHead,
    empty_memory,
    track_loss,
    track_scores,
    track_step,
    video_panoptic_quality,
    warp,
)
from lessons.yolact import resize_flow

__all__ = [
    "Segmenter",
    "FusionSetup",
    "FusionResult",
    "fusion_setup",
    "evaluate_fusion",
    "experiment_fusion",
    "mask_iou",
    "train_track_head",
    "track_clip",
    "id_errors",
    "TRACKERS",
    "TRACKING_CASES",
    "TrackingResult",
    "experiment_tracking",
    "experiment_warping",
]

SIZE = 32  # frame size of every clip here


# ---------------------------------------------------------------------------------------------
# Experiment 1: fusion
# ---------------------------------------------------------------------------------------------


class Segmenter(nn.Module):
    """A tiny foreground segmenter; with ``fused=True`` it fuses frame ``t - 1``'s warped features.

    Encoder: 3 x 3 conv, ReLU, 3 x 3 stride-2 conv, ReLU (features at half resolution, like VPSNet
    fusing on one FPN level). Fused: ``TemporalFusion(current, warp(encoder(previous), flow / 2))``.
    Head: bilinear x 2, 3 x 3 conv, ReLU, 1 x 1 conv to one logit per pixel.
    """

    def __init__(self, channels: int = 16, fused: bool = False) -> None:
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(3, channels, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(channels, channels, 3, stride=2, padding=1),
            nn.ReLU(),
        )
        self.fusion = TemporalFusion(channels) if fused else None
        self.head = nn.Sequential(
            nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
            nn.Conv2d(channels, channels, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(channels, 1, 1),
        )

    def forward(self, frame: Tensor, previous: Tensor | None = None, flow: Tensor | None = None) -> Tensor:
        """Logits ``(B, H, W)`` for frames ``(B, 3, H, W)``; ``previous`` and ``flow (B, 2, H, W)`` when fused."""
        features = self.encoder(frame - 0.5)  # (B, C, H/2, W/2)
        if self.fusion is not None:
            warped = warp(self.encoder(previous - 0.5), resize_flow(flow, features.shape[-2:]))
            features, _ = self.fusion(features, warped)
        return self.head(features)[:, 0]  # (B, H, W)


class FusionSetup(NamedTuple):
    """Two trained segmenters and the held-out pairs, ordered clip by clip (``T - 1`` pairs each).

    Attributes:
        single (Segmenter): per-frame.
        fused (Segmenter): with warped-and-fused features from frame ``t - 1``.
        frames (Tensor[P, 3, H, W]): frame t of every held-out pair.
        previous (Tensor[P, 3, H, W]): frame t - 1.
        flow (Tensor[P, 2, H, W]): exact backward flow t -> t - 1.
        target (Tensor[P, H, W]): bool foreground (every thing) at t.
        veiled (Tensor[P]): bool, a thing of frame t is behind the veil.
        n_frames (int): frames per clip ``T``.
    """

    single: Segmenter
    fused: Segmenter
    frames: Tensor
    previous: Tensor
    flow: Tensor
    target: Tensor
    veiled: Tensor
    n_frames: int


class FusionResult(NamedTuple):
    """Pooled mask IoU (sum of intersections / sum of unions) on held-out frames, and consistency.

    ``consistency_*`` is the pooled IoU of the mask at t with the mask at t - 1 warped to t by the
    exact flow; ``consistency_truth`` is the same for the ground truth (its ceiling: occlusions and
    rounding keep it below 1).
    """

    iou_veiled_single: float
    iou_veiled_fused: float
    iou_clear_single: float
    iou_clear_fused: float
    consistency_single: float
    consistency_fused: float
    consistency_truth: float
    n_veiled: int
    n_clear: int


def _pairs(n: int, g: torch.Generator, n_frames: int, veil: float) -> tuple[Tensor, ...]:
    cur, prev, flow, target, veiled = [], [], [], [], []
    for _ in range(n):
        clip = make_video_clip(n_frames, SIZE, 2, seed=g, veil=veil)
        for t in range(1, n_frames):
            cur.append(clip.frames[t])
            prev.append(clip.frames[t - 1])
            flow.append(video_clip_flow(clip, t, t - 1))
            target.append(clip.panoptic[t] > 1)
            veiled.append(bool(clip.veiled[t].any()))
    return torch.stack(cur), torch.stack(prev), torch.stack(flow), torch.stack(target), torch.tensor(veiled)


def fusion_setup(
    *,
    seed: int = 0,
    n_train: int = 64,
    n_test: int = 32,
    n_frames: int = 4,
    steps: int = 200,
    batch: int = 16,
    lr: float = 3e-3,
    veil: float = 0.5,
) -> FusionSetup:
    """Train the per-frame and the fused segmenter on the same batches from the same initial weights.

    Args:
        seed (int): data, initial weights (``torch.manual_seed``) and batch order. Default: ``0``.
        n_train (int): training clips (``T - 1`` pairs each). Default: ``64``.
        n_test (int): held-out clips. Default: ``32``.
        n_frames (int): ``T``. Default: ``4``.
        steps (int): Adam steps. Default: ``200``.
        batch (int): pairs per step. Default: ``16``.
        lr (float): learning rate. Default: ``3e-3``.
        veil (float): the clips' veil probability per frame. Default: ``0.5``.

    Returns:
        FusionSetup.
    """
    g = as_generator("seed", seed)
    train = _pairs(check_int("n_train", n_train, minimum=1), g, n_frames, veil)
    test = _pairs(check_int("n_test", n_test, minimum=1), g, n_frames, veil)
    models = []
    for fused in (False, True):
        torch.manual_seed(seed)
        model = Segmenter(fused=fused)
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        order = torch.Generator().manual_seed(seed + 1)
        for _ in range(steps):
            idx = torch.randint(len(train[0]), (batch,), generator=order)
            logits = model(train[0][idx], train[1][idx], train[2][idx])
            loss = F.binary_cross_entropy_with_logits(logits, train[3][idx].float())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        models.append(model.eval())
    return FusionSetup(models[0], models[1], *test, n_frames)


def mask_iou(pred: Tensor, target: Tensor) -> float:
    """Pooled IoU of boolean masks: all intersections over all unions (1.0 when both are empty)."""
    inter, union = int((pred & target).sum()), int((pred | target).sum())
    return inter / union if union else 1.0


@torch.no_grad()
def evaluate_fusion(setup: FusionSetup) -> FusionResult:
    """Mask IoU on veiled and clear held-out frames, and temporal consistency, for both models."""
    preds = {
        "single": setup.single(setup.frames) > 0,
        "fused": setup.fused(setup.frames, setup.previous, setup.flow) > 0,
    }  # (P, H, W)
    pairs = setup.n_frames - 1
    # consecutive predictions of one clip: pairs (t - 1, t) with t >= 2
    later = torch.tensor([i for i in range(len(setup.frames)) if i % pairs != 0])
    flow = setup.flow[later]  # flow t -> t - 1

    def consistency(masks: Tensor) -> float:
        warped = warp(masks[later - 1].float()[:, None], flow)[:, 0] > 0.5  # mask t - 1 seen from t
        return mask_iou(masks[later], warped)

    veiled, clear = setup.veiled, ~setup.veiled
    return FusionResult(
        mask_iou(preds["single"][veiled], setup.target[veiled]),
        mask_iou(preds["fused"][veiled], setup.target[veiled]),
        mask_iou(preds["single"][clear], setup.target[clear]),
        mask_iou(preds["fused"][clear], setup.target[clear]),
        consistency(preds["single"]),
        consistency(preds["fused"]),
        consistency(setup.target),
        int(veiled.sum()),
        int(clear.sum()),
    )


def experiment_fusion(*, seed: int = 0, **kwargs) -> FusionResult:
    """:func:`fusion_setup` then :func:`evaluate_fusion` (``kwargs`` go to the setup)."""
    return evaluate_fusion(fusion_setup(seed=seed, **kwargs))


# ---------------------------------------------------------------------------------------------
# Experiment 2: tracking and VPQ
# ---------------------------------------------------------------------------------------------

#: The trackers compared: ``(embedding_weight, match_coeff)`` for :func:`lessons.video.track_step`.
TRACKERS: dict[str, tuple[float, tuple[float, float, float]]] = {
    "all terms": (1.0, (1.0, 2.0, 10.0)),
    "IoU only": (0.0, (0.0, 2.0, 0.0)),
    "embedding only": (1.0, (0.0, 0.0, 0.0)),
    "embedding + IoU": (1.0, (1.0, 2.0, 0.0)),
}

#: The test cases: keyword arguments of :func:`lessons.data.make_video_clip`.
TRACKING_CASES: dict[str, dict] = {
    "crossing, same kind": dict(motion="crossing", look="same_kind", max_speed=3.0),
    "twins side by side": dict(motion="parallel", look="twins", max_speed=3.0),
    "crossing, same colour": dict(motion="crossing", look="same_colour", max_speed=3.0),
}

MIN_PIXELS = 6  # a thing with fewer visible pixels is not detected in that frame
ROI = 7  # RoIAlign output size, as MaskTrack R-CNN's track head


def _roi_features(frames: Tensor, boxes: list[Tensor]) -> Tensor:
    """RoIAlign of the frames themselves (centred) at 7 x 7: ``(K, 3, 7, 7)``."""
    return roi_align(frames - 0.5, boxes, output_size=ROI, spatial_scale=1.0, sampling_ratio=2, aligned=True)


def _detections(clip: VideoClip, t: int) -> Tensor:
    """Indices of the things detected in frame t (at least ``MIN_PIXELS`` visible)."""
    return (clip.masks[t].flatten(1).sum(1) >= MIN_PIXELS).nonzero()[:, 0]


def train_track_head(*, seed: int = 0, n_clips: int = 48, steps: int = 150, lr: float = 3e-3) -> TrackHead:
    """Train a :class:`TrackHead` on pairs of consecutive frames with MaskTrack R-CNN's loss.

    The references are the things detected in frame ``t - 1`` (each left out with probability 0.3,
    so the head also learns the "new object" column); the targets are ``1 + j`` for a thing that is
    reference ``j`` and 0 for a new one.

    Args:
        seed (int): data, initial weights and pair order. Default: ``0``.
        n_clips (int): training clips (random motion, 3 things of distinct or same kind). Default: ``48``.
        steps (int): Adam steps, one pair of frames each. Default: ``150``.
        lr (float): learning rate. Default: ``3e-3``.

    Returns:
        TrackHead: in eval mode.
    """
    g = as_generator("seed", seed)
    clips = [make_video_clip(4, SIZE, 3, seed=g, look=("distinct", "same_kind")[i % 2]) for i in range(n_clips)]
    torch.manual_seed(seed)
    head = TrackHead(3, ROI)
    optimizer = torch.optim.Adam(head.parameters(), lr=lr)
    for _ in range(steps):
        clip = clips[int(torch.randint(len(clips), (), generator=g))]
        t = int(torch.randint(1, clip.frames.shape[0], (), generator=g))
        ref, det = _detections(clip, t - 1), _detections(clip, t)
        ref = ref[torch.rand(len(ref), generator=g) > 0.3]
        emb = head(_roi_features(clip.frames[[t - 1, t]], [clip.boxes[t - 1, ref], clip.boxes[t, det]]))
        ref_emb, det_emb = emb[: len(ref)], emb[len(ref) :]
        targets = torch.tensor([1 + ref.tolist().index(k) if k in ref.tolist() else 0 for k in det.tolist()])
        loss = track_loss(track_scores(det_emb, ref_emb), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return head.eval()


@torch.no_grad()
def track_clip(head: TrackHead, clip: VideoClip, tracker: str, *, seed: int = 0) -> tuple[Tensor, Tensor]:
    """Track the ground-truth detections of a clip: ``ids (T, N)`` and ``detected (T, N)``.

    ``ids`` is -1 where a thing is not detected, or detected but lost a contested id.
    Detections are shuffled in every frame (a detector lists them by score, not by identity), come
    with their ground-truth boxes and labels and a class confidence of 0.9. ``tracker`` is a key of
    :data:`TRACKERS`, or ``"none"``: fresh ids in every frame (a per-frame panoptic segmenter).
    """
    g = as_generator("seed", seed)
    n_frames, n = clip.masks.shape[:2]
    ids = torch.full((n_frames, n), -1, dtype=torch.int64)
    detected = torch.zeros(n_frames, n, dtype=torch.bool)
    memory = empty_memory(head.fcs[-1].out_features)
    fresh = 0
    for t in range(n_frames):
        det = _detections(clip, t)
        det = det[torch.randperm(len(det), generator=g)]
        detected[t, det] = True
        if tracker == "none":
            ids[t, det] = torch.arange(fresh, fresh + len(det))
            fresh += len(det)
            continue
        weight, coeff = TRACKERS[tracker]
        emb = head(_roi_features(clip.frames[t : t + 1], [clip.boxes[t, det]]))
        got, memory = track_step(
            memory,
            emb,
            clip.boxes[t, det],
            clip.labels[det],
            torch.full((len(det),), 0.9),
            match_coeff=coeff,
            embedding_weight=weight,
        )
        ids[t, det] = got
    return ids, detected


def id_errors(ids: Tensor, detected: Tensor) -> tuple[int, int]:
    """``(switches, lost)``: times a thing's id differs from its previous id (frames without an id
    skipped), and detections left without an id (they lost a contested id)."""
    switches = 0
    for track in ids.T.tolist():
        seen = [i for i in track if i >= 0]
        switches += sum(a != b for a, b in zip(seen[:-1], seen[1:]))
    return switches, int((detected & (ids < 0)).sum())


def _vpq_maps(clip: VideoClip, ids: Tensor) -> tuple[Tensor, list[list[dict]]]:
    """The predicted panoptic clip: ground-truth masks with the tracker's ids (segment id = id + 2)."""
    pred = torch.ones_like(clip.panoptic)  # background: segment 1
    segments = []
    for t in range(clip.masks.shape[0]):
        frame = [{"id": 1, "category_id": 0}]
        for k in range(clip.masks.shape[1]):
            if ids[t, k] >= 0:
                pred[t][clip.masks[t, k]] = int(ids[t, k]) + 2
                frame.append({"id": int(ids[t, k]) + 2, "category_id": 1 + int(clip.labels[k])})
        segments.append(frame)
    return pred, segments


class TrackingResult(NamedTuple):
    """``switches[case][tracker]`` and ``lost[case][tracker]`` summed over the case's clips
    (:func:`id_errors`; ``detections[case]`` counts the detected things, for scale);
    ``vpq[tracker][k - 1]``: VPQ^k (All) averaged over every clip, for windows k = 1..4, with
    ``"none"`` for fresh ids in every frame."""

    switches: dict
    lost: dict
    detections: dict
    vpq: dict


def experiment_tracking(
    *, seed: int = 0, n_clips: int = 6, n_frames: int = 8, head: TrackHead | None = None
) -> TrackingResult:
    """Count id switches of every tracker on every case, and VPQ^1..4 of the trackers and of none.

    Args:
        seed (int): the clips, the detection order and (when ``head`` is None) the head's training.
            Default: ``0``.
        n_clips (int): clips per case. Default: ``6``.
        n_frames (int): frames per clip. Default: ``8``.
        head (TrackHead | None): a trained head; ``None`` trains one with :func:`train_track_head`.
            Default: ``None``.

    Returns:
        TrackingResult.
    """
    head = train_track_head(seed=seed) if head is None else head
    g = torch.Generator().manual_seed(seed + 1000)
    switches = {case: {name: 0 for name in TRACKERS} for case in TRACKING_CASES}
    lost = {case: {name: 0 for name in TRACKERS} for case in TRACKING_CASES}
    detections = {case: 0 for case in TRACKING_CASES}
    windows = range(1, 5)
    vpq_sum = {name: [0.0] * len(windows) for name in [*TRACKERS, "none"]}
    count = 0
    for case, kwargs in TRACKING_CASES.items():
        for _ in range(n_clips):
            clip = make_video_clip(n_frames, SIZE, 2, seed=g, **kwargs)
            order_seed = int(torch.randint(2**31, (), generator=g))
            detections[case] += sum(len(_detections(clip, t)) for t in range(n_frames))
            count += 1
            for name in [*TRACKERS, "none"]:
                ids, detected = track_clip(head, clip, name, seed=order_seed)
                if name != "none":
                    errors = id_errors(ids, detected)
                    switches[case][name] += errors[0]
                    lost[case][name] += errors[1]
                pred, segments = _vpq_maps(clip, ids)
                for i, k in enumerate(windows):
                    result = video_panoptic_quality(pred, segments, clip.panoptic, clip.segments, CLIP_CATEGORIES, k)
                    vpq_sum[name][i] += result["All"]["pq"]
    vpq = {name: [v / count for v in values] for name, values in vpq_sum.items()}
    return TrackingResult(switches, lost, detections, vpq)


# ---------------------------------------------------------------------------------------------
# Warping error with exact, noisy and zero flow
# ---------------------------------------------------------------------------------------------


def experiment_warping(
    *, seed: int = 0, n_clips: int = 8, n_frames: int = 4, noise: tuple[float, ...] = (0.5, 1.0, 2.0)
) -> dict[str, float]:
    """Mean absolute error of frame ``t - 1`` warped to frame ``t``, on the things' pixels of frame t.

    Flows: the exact one, the exact one plus Gaussian noise of each level in ``noise`` (pixels,
    independent per pixel and axis, like a poor flow estimate), and zero (no warping at all).

    Args:
        seed (int): the clips and the noise. Default: ``0``.
        n_clips (int): clips of 2 things. Default: ``8``.
        n_frames (int): frames per clip. Default: ``4``.
        noise (tuple[float, ...]): standard deviations of the flow noise. Default: ``(0.5, 1.0, 2.0)``.

    Returns:
        dict: ``{"exact": ..., "noisy 0.5 px": ..., ..., "zero": ...}`` in intensity units (frames
        are in [0, 1]).
    """
    g = as_generator("seed", seed)
    names = ["exact", *[f"noisy {s:g} px" for s in noise], "zero"]
    errors: dict[str, list[Tensor]] = {name: [] for name in names}
    for _ in range(check_int("n_clips", n_clips, minimum=1)):
        clip = make_video_clip(n_frames, SIZE, 2, seed=g)
        for t in range(1, n_frames):
            flow = video_clip_flow(clip, t, t - 1)[None]  # (1, 2, H, W)
            things = clip.masks[t].any(0)  # (H, W)
            flows = [flow] + [flow + s * torch.randn(flow.shape, generator=g) for s in noise] + [torch.zeros_like(flow)]
            for name, f in zip(names, flows):
                diff = (warp(clip.frames[t - 1][None], f)[0] - clip.frames[t]).abs().mean(0)  # (H, W)
                errors[name].append(diff[things])
    return {name: float(torch.cat(values).mean()) for name, values in errors.items()}
