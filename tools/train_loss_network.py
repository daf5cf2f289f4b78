"""Train the course's small loss network and write ``lessons/weights/small_vgg.pt``.

    python tools/train_loss_network.py                       # the shipped weights (a few CPU minutes)
    python tools/train_loss_network.py --steps 60 --out /tmp/quick.pt   # a quick check

The perceptual loss of Johnson et al. (arXiv:1603.08155) reads its features from VGG16 pretrained on
ImageNet: pretrained early filters respond to edges, orientations and blobs at several scales, which
is what makes distances between activations "perceptual". ImageNet weights cannot ship with the
course (528 MB, and nothing is downloaded), so this script trains a small VGG-style network
(:class:`lessons.loss_network.SmallVGG`, 16-32-64-64 channels, about 150 k parameters) on a task
whose solution needs such filters: classify 32x32 images into oriented stripes (four orientation
bins), checkerboards, three kinds of dot lattices, crops of matplotlib's ``grace_hopper`` photo and
pixel noise (a class of its own, so the filters must respond to noise rather than learn to ignore it),
under random colours, periods, phases and blur (:func:`lessons.data.make_texture_dataset`).

Training: Adam (learning rate 2e-3, cosine decay), cross-entropy, minibatches of 64 drawn from a
fixed set of ``--n`` images. Afterwards each stage's output is rescaled to unit root-mean-square on
the training images: the last convolution of stage ``j`` is divided by ``r_j`` and the first
convolution of stage ``j + 1`` (or the classifier) multiplied by it, so the logits are unchanged (ReLU
is positively homogeneous) and equal style weights weigh the four layers equally. The accuracy on a
held-out set (seed 12345, 900 images) is recorded in the file; ``tests/test_loss_network.py`` checks
the shipped weights against it and runs this script with a short setting.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from lessons.data import TEXTURE_CLASSES, make_texture_dataset  # noqa: E402
from lessons.loss_network import SMALL_VGG_WEIGHTS, SmallVGG, imagenet_normalize  # noqa: E402

EVAL_SEED = 12345
EVAL_N = 900


@torch.no_grad()
def accuracy(net: SmallVGG, images: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of ``images`` (RGB in [0, 1]) that ``net`` classifies as ``labels``."""
    logits = torch.cat([net(imagenet_normalize(chunk)) for chunk in images.split(256)])
    return float((logits.argmax(1) == labels).float().mean())


@torch.no_grad()
def fold_unit_rms(net: SmallVGG, images: torch.Tensor) -> list[float]:
    """Rescale every stage's output to unit RMS on ``images`` without changing the logits."""
    x = imagenet_normalize(images)
    scales = []
    for j, stage in enumerate(net.stages):
        x = stage(x)  # (N, C_j, H / s_j, W / s_j)
        rms = float(x.pow(2).mean().sqrt())
        last_conv = stage[-2]
        last_conv.weight /= rms
        last_conv.bias /= rms
        nxt = net.stages[j + 1][1] if j + 1 < len(net.stages) else net.classifier
        nxt.weight *= rms
        x = x / rms
        scales.append(rms)
    return scales


def train(
    *,
    n: int = 8000,
    steps: int = 2000,
    batch: int = 64,
    lr: float = 2e-3,
    size: int = 32,
    channels: tuple[int, ...] = (16, 32, 64, 64),
    seed: int = 0,
    eval_n: int = EVAL_N,
    log_every: int = 100,
) -> tuple[SmallVGG, dict]:
    """Train :class:`SmallVGG` and return it with the record that is saved next to its weights."""
    start = time.process_time()
    torch.manual_seed(seed)  # the network's initial weights
    gen = torch.Generator().manual_seed(seed)
    images, labels = make_texture_dataset(n, size=size, seed=gen)
    held_images, held_labels = make_texture_dataset(eval_n, size=size, seed=EVAL_SEED)
    net = SmallVGG(channels=channels, num_classes=len(TEXTURE_CLASSES))
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda t: 0.5 * (1 + math.cos(math.pi * t / steps)))
    for step in range(1, steps + 1):
        pick = torch.randint(n, (batch,), generator=gen)
        loss = F.cross_entropy(net(imagenet_normalize(images[pick])), labels[pick])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        if log_every and step % log_every == 0:
            print(f"step {step:5d}  loss {loss.item():.3f}  {time.process_time() - start:.0f} s CPU", flush=True)
    net.eval()
    scales = fold_unit_rms(net, images[:512])
    record = {
        "classes": list(TEXTURE_CLASSES),
        "channels": list(net.channels),
        "accuracy": accuracy(net, held_images, held_labels),
        "train_accuracy": accuracy(net, images[:eval_n], labels[:eval_n]),
        "rms": scales,
        "train": {
            "n": n,
            "steps": steps,
            "batch": batch,
            "lr": lr,
            "size": size,
            "seed": seed,
            "channels": list(channels),
            "eval_seed": EVAL_SEED,
            "eval_n": eval_n,
            "cpu_seconds": round(time.process_time() - start, 1),
        },
    }
    return net, record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=8000, help="training images (default 8000)")
    parser.add_argument("--steps", type=int, default=2000, help="Adam steps (default 2000)")
    parser.add_argument("--channels", type=int, nargs=4, default=[16, 32, 64, 64], help="stage widths")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=ROOT / "lessons" / "weights" / SMALL_VGG_WEIGHTS)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    net, record = train(
        n=args.n, steps=args.steps, batch=args.batch, lr=args.lr, channels=tuple(args.channels), seed=args.seed
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": net.state_dict(), **record}, args.out)
    size = args.out.stat().st_size
    print(
        f"held-out accuracy {record['accuracy']:.3f} (train {record['train_accuracy']:.3f}); "
        f"{record['train']['cpu_seconds']} s CPU; wrote {args.out} ({size / 1e6:.2f} MB)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
