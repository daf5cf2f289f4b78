"""Notebook 06's measurement: coordinate regression vs heatmaps with the same backbone and budget.

Two models share one backbone — four 3 x 3 convolutions (the first with stride 2, the last two
dilated), 8 channels, a receptive field of 31 px — and the same initial weights, data and number of
Adam steps. Only the head differs:

* :class:`RegressionNet`: flatten the ``8 x 16 x 16`` features, an FC layer to ``2K`` numbers
  (``(x, y) / 32 - 0.5``), MSE;
* :class:`HeatmapNet`: a 1 x 1 convolution to ``K`` maps of 16 x 16 (stride 2), trained with a
  softmax over each map's 256 pixels and cross-entropy against the sub-pixel Gaussian label
  (sigma = 1 heatmap pixel) normalized to sum to 1; decoded with argmax or DARK.

:func:`regression_vs_heatmaps` trains both on procedural faces (:func:`lessons.data.make_landmark_faces`)
and returns PCK and errors on held-out faces; :func:`head_cost` counts what each design computes.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from lessons._checks import as_generator, check_int
from lessons.data import FACE_LANDMARKS, make_landmark_faces
from lessons.heatmaps import decode_heatmaps, pck, render_heatmaps

__all__ = [
    "SIZE",
    "STRIDE",
    "HM",
    "K",
    "RegressionNet",
    "HeatmapNet",
    "FaceData",
    "make_face_data",
    "predict",
    "regression_vs_heatmaps",
    "unseen_positions",
    "Comparison",
    "head_cost",
]

SIZE, STRIDE = 32, 2
HM = SIZE // STRIDE
K = len(FACE_LANDMARKS)


def _backbone(channels: int = 8) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(1, channels, 3, stride=2, padding=1),
        nn.ReLU(),  # 32x32 -> 16x16
        nn.Conv2d(channels, channels, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(channels, channels, 3, padding=2, dilation=2),
        nn.ReLU(),
        nn.Conv2d(channels, channels, 3, padding=4, dilation=4),
        nn.ReLU(),  # receptive field 31 px
    )


class RegressionNet(nn.Module):
    """Backbone + FC layer to ``(x, y) / SIZE - 0.5`` of each landmark: ``(B, 1, 32, 32) -> (B, K, 2)``."""

    def __init__(self, channels: int = 8):
        super().__init__()
        self.body = _backbone(channels)
        self.fc = nn.Linear(channels * HM * HM, 2 * K)

    def forward(self, images):
        return self.fc(self.body(images).flatten(1)).view(-1, K, 2)


class HeatmapNet(nn.Module):
    """Backbone + 1 x 1 convolution to one logit map per landmark: ``(B, 1, 32, 32) -> (B, K, 16, 16)``."""

    def __init__(self, channels: int = 8):
        super().__init__()
        self.body = _backbone(channels)
        self.head = nn.Conv2d(channels, K, 1)

    def forward(self, images):
        return self.head(self.body(images))


class FaceData(NamedTuple):
    train_images: torch.Tensor
    train_kp: torch.Tensor
    test_images: torch.Tensor
    test_kp: torch.Tensor


def make_face_data(*, seed: int | torch.Generator = 0, n_train: int = 384, n_test: int = 256) -> FaceData:
    """Small faces (half-width 13-20 % of the 32 px image) for training and a held-out test set."""
    g = as_generator("seed", seed)
    train_images, train_kp, _ = make_landmark_faces(n_train, SIZE, scale=(0.13, 0.2), seed=g)
    test_images, test_kp, _ = make_landmark_faces(n_test, SIZE, scale=(0.13, 0.2), seed=g)
    return FaceData(train_images, train_kp, test_images, test_kp)


def _to_heatmap(xy):
    return (xy + 0.5) / STRIDE - 0.5


def _to_image(uv):
    return (uv + 0.5) * STRIDE - 0.5


@torch.no_grad()
def predict(model: nn.Module, images: torch.Tensor, method: str = "dark") -> torch.Tensor:
    """Landmarks ``(B, K, 2)`` in image pixels; ``method`` decodes a :class:`HeatmapNet`'s maps."""
    if isinstance(model, RegressionNet):
        return (model(images) + 0.5) * SIZE
    probs = torch.softmax(model(images).flatten(2), dim=-1).view(len(images), K, HM, HM)
    return _to_image(decode_heatmaps(probs, method)[0])


def _train(model, loss_fn, n_train, lr, steps, batch, g):
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(steps):
        idx = torch.randint(0, n_train, (batch,), generator=g)
        loss = loss_fn(model, idx)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return loss.item()


class Comparison(NamedTuple):
    """``results[name]`` holds ``p05``, ``p10`` (test PCK at 5 % / 10 % of the image side), ``err``
    (mean test error, px) and ``train`` (train PCK@0.05), for ``"coordinate regression"``,
    ``"heatmaps + argmax"`` and ``"heatmaps + DARK"``."""

    results: dict
    regression: RegressionNet
    heatmaps: HeatmapNet
    data: FaceData


def _train_pair(data: FaceData, seed: int, steps: int, batch: int) -> tuple[RegressionNet, HeatmapNet]:
    train_labels = render_heatmaps(_to_heatmap(data.train_kp), HM, 1.0, subpixel=True)  # (N, K, 16, 16)
    target = train_labels.flatten(2) / train_labels.flatten(2).sum(-1, keepdim=True)  # a distribution per map

    def heatmap_loss(model, idx):
        logits = model(data.train_images[idx]).flatten(2)  # (B, K, 256)
        return -(target[idx] * F.log_softmax(logits, dim=-1)).sum(-1).mean()

    def regression_loss(model, idx):
        return F.mse_loss(model(data.train_images[idx]), data.train_kp[idx] / SIZE - 0.5)

    torch.manual_seed(seed)
    reg_net = RegressionNet()
    torch.manual_seed(seed)
    hm_net = HeatmapNet()  # the same initial backbone as reg_net
    n = len(data.train_images)
    _train(reg_net, regression_loss, n, 1e-3, steps, batch, torch.Generator().manual_seed(seed + 1))
    _train(hm_net, heatmap_loss, n, 3e-3, steps, batch, torch.Generator().manual_seed(seed + 1))
    return reg_net.eval(), hm_net.eval()


def _evaluate(reg_net, hm_net, data: FaceData) -> dict:
    results = {}
    for name, model, method in (
        ("coordinate regression", reg_net, None),
        ("heatmaps + argmax", hm_net, "argmax"),
        ("heatmaps + DARK", hm_net, "dark"),
    ):
        pred, pred_train = predict(model, data.test_images, method), predict(model, data.train_images, method)
        results[name] = dict(
            p05=pck(pred, data.test_kp, threshold=0.05, normalize=float(SIZE)).item(),
            p10=pck(pred, data.test_kp, threshold=0.1, normalize=float(SIZE)).item(),
            err=torch.linalg.vector_norm(pred - data.test_kp, dim=-1).mean().item(),
            train=pck(pred_train, data.train_kp, threshold=0.05, normalize=float(SIZE)).item(),
        )
    return results


def regression_vs_heatmaps(*, seed: int = 0, steps: int = 250, batch: int = 32) -> Comparison:
    """Train both designs from the same initial backbone on the same faces and batches; evaluate.

    Learning rates: 1e-3 for regression, 3e-3 for heatmaps (each the better of 1e-3 and 3e-3 for
    its head). ``seed`` draws the faces, the initial weights and the batches.
    """
    check_int("seed", seed, minimum=0)
    check_int("steps", steps, minimum=1)
    data = make_face_data(seed=seed)
    reg_net, hm_net = _train_pair(data, seed, steps, batch)
    return Comparison(_evaluate(reg_net, hm_net, data), reg_net, hm_net, data)


def unseen_positions(*, seed: int = 0, steps: int = 250, batch: int = 32, n: int = 384) -> Comparison:
    """The same two designs, trained on faces in the left part of the image, tested on the right part.

    Faces are drawn as in :func:`make_face_data`; those whose landmarks' mean ``x`` is below 13 px
    train, those above 19 px test (``n`` of each). A convolutional head is translation equivariant,
    so what it learned on the left applies on the right; an FC layer has never seen features there.
    """
    check_int("seed", seed, minimum=0)
    g = as_generator("seed", 10_000 + seed)
    parts = {"train": ([], []), "test": ([], [])}
    while min(sum(len(x) for x in parts[k][0]) for k in parts) < n:
        images, kp, _ = make_landmark_faces(512, SIZE, scale=(0.13, 0.2), seed=g)
        x = kp[:, :, 0].mean(1)
        for key, keep in (("train", x < 13), ("test", x > 19)):
            parts[key][0].append(images[keep])
            parts[key][1].append(kp[keep])
    (tr_i, tr_k), (te_i, te_k) = [(torch.cat(parts[k][0])[:n], torch.cat(parts[k][1])[:n]) for k in ("train", "test")]
    data = FaceData(tr_i, tr_k, te_i, te_k)
    reg_net, hm_net = _train_pair(data, seed, steps, batch)
    return Comparison(_evaluate(reg_net, hm_net, data), reg_net, hm_net, data)


def head_cost(model: nn.Module, image_size: int = SIZE) -> dict:
    """Parameters and forward FLOPs (multiply-adds x 2, ``torch.utils.flop_counter``) of a model and its head."""
    from torch.utils.flop_counter import FlopCounterMode

    x = torch.zeros(1, 1, image_size, image_size)
    with torch.no_grad(), FlopCounterMode(display=False) as total:
        model(x)
    with torch.no_grad(), FlopCounterMode(display=False) as body:
        model.body(x)
    head = model.fc if isinstance(model, RegressionNet) else model.head
    return {
        "params": sum(p.numel() for p in model.parameters()),
        "head params": sum(p.numel() for p in head.parameters()),
        "flops": total.get_total_flops(),
        "head flops": total.get_total_flops() - body.get_total_flops(),
    }
