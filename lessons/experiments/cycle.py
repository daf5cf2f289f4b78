"""The experiments of notebook 11 (CycleGAN), as functions that train, measure and return numbers.

Paper: Jun-Yan Zhu, Taesung Park, Phillip Isola, Alexei A. Efros, "Unpaired Image-to-Image
Translation using Cycle-Consistent Adversarial Networks", ICCV 2017, arXiv:1703.10593; and Casey
Chu, Andrey Zhmoginov, Mark Sandler, "CycleGAN, a Master of Steganography", NIPS 2017 workshop,
arXiv:1712.02950 (the generator hides information about its input in faint signals of its output).

- :func:`experiment_cycle_losses` trains three small CycleGANs that differ only in their loss
  weights (GAN only; GAN + cycle; GAN + cycle + identity) and scores ``G`` and ``F`` on held-out
  images whose true translation is known (:mod:`lessons.data.domains`).
- :func:`experiment_hidden_information` trains GAN + cycle from colour (X) to grey (a many-to-one
  translation) and measures what ``F`` reads from ``G(x)`` beyond what ``G(x)`` visibly shows.
- :func:`experiment_image_pool` measures how many of the fakes a discriminator sees are old, and how
  old, for the reference's ``ImagePool(50)``.

Every experiment takes a keyword-only ``seed``: it seeds the data (training set ``2 * seed``,
held-out set ``2 * seed + 1``), the weight initialization and the order of the batches, so that
``claims/claims_11.py`` can rerun the notebook's experiment for other seeds and thread counts.

Deviations from the paper: 16x16 images, networks with 8 filters, 120-240 steps of batches of 8 and
``lr = 2e-3`` (ten times the reference's ``2e-4``, no decay) — small enough for a laptop CPU.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from lessons._checks import as_generator, check_int, check_positive
from lessons.cycle import CycleGAN, ImagePool, cycle_gan_step, make_cycle_gan, output_diversity, translation_error
from lessons.data.domains import UnpairedDomains, decode_domain, make_unpaired_domains, render_domain, snap_to_palette

__all__ = [
    "SETTINGS",
    "train_cycle_gan",
    "colour_confusion",
    "colour_inside",
    "score_translation",
    "CycleLossesResult",
    "experiment_cycle_losses",
    "HiddenInformation",
    "experiment_hidden_information",
    "experiment_image_pool",
]

#: The three runs of :func:`experiment_cycle_losses`: name -> (λ of the cycle loss, λ_identity).
SETTINGS: dict[str, tuple[float, float]] = {
    "GAN only": (0.0, 0.0),
    "GAN + cycle": (10.0, 0.0),
    "GAN + cycle + identity": (10.0, 0.5),
}


def _seed_int(seed: int | torch.Generator) -> int:
    """An int to derive data and model seeds from (a generator gives its next 31-bit draw)."""
    gen = as_generator("seed", seed)
    return int(seed) if isinstance(seed, int) else int(torch.randint(2**31 - 1, (), generator=gen))


def train_cycle_gan(
    data: UnpairedDomains,
    *,
    weight: float = 10.0,
    identity_weight: float = 0.5,
    steps: int = 120,
    batch: int = 8,
    lr: float = 2e-3,
    seed: int | torch.Generator = 0,
) -> tuple[CycleGAN, list[dict[str, float]]]:
    """Train a :func:`~lessons.cycle.make_cycle_gan` model with ``steps`` calls of ``cycle_gan_step``.

    Each step draws ``batch`` X images and, independently, ``batch`` Y images (unpaired).

    Args:
        data (UnpairedDomains): the training sets ``data.x`` and ``data.y``.
        weight (float): λ of the cycle loss, ``>= 0``. Default: ``10.0``.
        identity_weight (float): ``lambda_identity``, ``>= 0``. Default: ``0.5``.
        steps (int): training steps, ``>= 1``. Default: ``120``.
        batch (int): images per domain per step, ``>= 1``. Default: ``8``.
        lr (float): Adam learning rate, ``> 0``. Default: ``2e-3``.
        seed (int | torch.Generator): seeds the weights (``torch.manual_seed``, as the networks'
            layers draw from torch's global generator before :func:`~lessons.cycle.init_normal_`
            overwrites them), the pools and the batches. Default: ``0``.

    Returns:
        tuple[CycleGAN, list[dict[str, float]]]: the trained model and the losses of every step.
    """
    steps = check_int("steps", steps, minimum=1)
    batch = check_int("batch", batch, minimum=1)
    check_positive("lr", lr)
    s = _seed_int(seed)
    torch.manual_seed(s)
    model = make_cycle_gan(lr=lr, seed=s)
    gen = torch.Generator().manual_seed(s)
    history = []
    for _ in range(steps):
        ix = torch.randint(len(data.x), (batch,), generator=gen)
        iy = torch.randint(len(data.y), (batch,), generator=gen)
        history.append(cycle_gan_step(model, data.x[ix], data.y[iy], weight=weight, identity_weight=identity_weight))
    return model, history


def colour_confusion(true_colour: Tensor, colour: Tensor) -> Tensor:
    """Counts of (true colour, output colour): ``Tensor[3, 4]``, the last column "no shape" (``-1``)."""
    confusion = torch.zeros(3, 4, dtype=torch.long)
    confusion.index_put_((true_colour, colour % 4), torch.ones_like(colour), accumulate=True)
    return confusion  # (3, 4)


def colour_inside(images: Tensor, masks: Tensor) -> Tensor:
    """The colour of X-style images read inside known shape masks: ``Tensor[N]`` in {0, 1, 2}.

    The channel (0 red, 1 green, 2 blue) with the highest mean over the mask's pixels. Unlike
    :func:`~lessons.data.domains.decode_domain` it needs no palette match, so a dim or tinted
    reconstruction ``F(G(x))`` still gets a colour.
    """
    m = masks[:, None].to(images.dtype)  # (N, 1, H, W)
    means = (images * m).sum((2, 3)) / m.sum((2, 3)).clamp(min=1)  # (N, 3)
    return means.argmax(dim=1)


def _recoverable(confusion: Tensor) -> float:
    """Share of inputs whose colour the best rule "output colour -> most frequent input colour" guesses."""
    return (confusion.max(dim=0).values.sum() / confusion.sum()).item()


def score_translation(
    fake: Tensor, truth: Tensor, *, real_x: Tensor | None = None, recovered: Tensor | None = None
) -> tuple[dict[str, float], Tensor]:
    """Score translated images ``G(x)`` against their true translations (both Y images).

    Returns ``(row, confusion)``: ``row`` has ``error`` (mean |G(x) - truth|), ``IoU`` (decoded
    shape vs true shape), ``colour ok`` (decoded colour = true colour), ``colours`` (distinct output
    colours), ``recoverable`` (how often the best rule from output colour to input colour guesses the
    input's colour: what the *visible* colour tells about the input), ``diversity``
    (:func:`~lessons.cycle.output_diversity`) and, given ``real_x`` and ``recovered = F(G(x))``,
    ``|F(G(x))-x|`` and ``F colour ok`` (``F(G(x))`` has the input's colour inside the input's
    shape, :func:`colour_inside`); ``confusion`` is
    :func:`colour_confusion` of the true and output colours.
    """
    true_mask, true_colour = decode_domain(truth, "y")
    mask, colour = decode_domain(fake, "y")
    confusion = colour_confusion(true_colour, colour)
    iou = ((mask & true_mask).sum((1, 2)) / (mask | true_mask).sum((1, 2)).clamp(min=1)).mean()
    row = {
        "error": translation_error(fake, truth).mean().item(),
        "IoU": iou.item(),
        "colour ok": (colour == true_colour).float().mean().item(),
        "colours": float(len(set(colour.tolist()) - {-1})),
        "recoverable": _recoverable(confusion),
        "diversity": output_diversity(fake).item(),
        "|F(G(x))-x|": float("nan"),
        "F colour ok": float("nan"),
    }
    if real_x is not None and recovered is not None:
        row["|F(G(x))-x|"] = (recovered - real_x).abs().mean().item()
        row["F colour ok"] = (colour_inside(recovered, true_mask) == true_colour).float().mean().item()
    return row, confusion


class CycleLossesResult(NamedTuple):
    """What :func:`experiment_cycle_losses` measured.

    Attributes:
        scores (dict[str, dict[str, float]]): per run (and the rows ``"truth"`` and
            ``"random real Y image"``), the numbers of :func:`score_translation`.
        confusion (dict[str, Tensor[3, 4]]): per run, true colour x output colour counts.
        curves (dict[str, dict[str, float]]): per run, the mean over the first and the last 20 steps
            of the adversarial loss of G (``adv first``, ``adv last``) and of the cycle error
            ``|F(G(x))-x| + |G(F(y))-y|`` (``cycle first``, ``cycle last``).
        histories (dict[str, list[dict[str, float]]]): per run, the losses of every step.
        models (dict[str, CycleGAN]): the trained models, for figures.
        test (UnpairedDomains): the held-out sets the scores were measured on.
    """

    scores: dict[str, dict[str, float]]
    confusion: dict[str, Tensor]
    curves: dict[str, dict[str, float]]
    histories: dict[str, list[dict[str, float]]]
    models: dict[str, CycleGAN]
    test: UnpairedDomains


def experiment_cycle_losses(
    *,
    seed: int | torch.Generator = 0,
    steps: int = 120,
    batch: int = 8,
    lr: float = 2e-3,
    n_train: int = 512,
    n_test: int = 128,
) -> CycleLossesResult:
    """Train the three :data:`SETTINGS` from one seed on the same batches and score them held out.

    Args:
        seed (int | torch.Generator): data (training set ``2 * seed``, held-out ``2 * seed + 1``),
            weights and batches. Default: ``0``.
        steps, batch, lr: see :func:`train_cycle_gan`. Defaults: ``120``, ``8``, ``2e-3``.
        n_train (int): training images per domain. Default: ``512``.
        n_test (int): held-out images per domain. Default: ``128``.

    Returns:
        CycleLossesResult: scores, confusion matrices, loss summaries, histories, models, test set.
    """
    s = _seed_int(seed)
    train = make_unpaired_domains(check_int("n_train", n_train, minimum=1), seed=2 * s)
    test = make_unpaired_domains(check_int("n_test", n_test, minimum=2), seed=2 * s + 1)
    truth = render_domain(test.x_params, "y")  # the true translation of each held-out X image
    scores, confusion, curves, histories, models = {}, {}, {}, {}, {}
    for name, (weight, identity_weight) in SETTINGS.items():
        model, history = train_cycle_gan(
            train, weight=weight, identity_weight=identity_weight, steps=steps, batch=batch, lr=lr, seed=s
        )
        with torch.no_grad():
            fake = model.g(test.x)  # (N, 3, H, W)
            scores[name], confusion[name] = score_translation(fake, truth, real_x=test.x, recovered=model.f(fake))
        k = min(20, len(history))
        adv = [h["G"] for h in history]
        cyc = [h["cycle_x"] + h["cycle_y"] for h in history]
        curves[name] = {
            "adv first": sum(adv[:k]) / k,
            "adv last": sum(adv[-k:]) / k,
            "cycle first": sum(cyc[:k]) / k,
            "cycle last": sum(cyc[-k:]) / k,
        }
        histories[name], models[name] = history, model
    scores["truth"], _ = score_translation(truth, truth)
    scores["random real Y image"], _ = score_translation(test.y, truth)
    return CycleLossesResult(scores, confusion, curves, histories, models, test)


class HiddenInformation(NamedTuple):
    """What :func:`experiment_hidden_information` measured (colour accuracies are shares of images).

    Attributes:
        visible_colours (float): how many colours ``decode_domain(G(x), "grey")`` sees (1: grey).
        hidden_amplitude (float): mean ``|G(x) - snap_to_palette(G(x))|`` over the pixels of the
            input's shape: the size of what the palette does not explain (black to white is 2.0).
        background_amplitude (float): the same over the other pixels.
        colour_from_output (float): ``F(G(x))`` has the input's colour (:func:`colour_inside`).
        colour_from_visible (float): ``F(snap_to_palette(G(x)))`` has the input's colour.
        colour_from_true_grey (float): ``F`` of the true grey rendering has the input's colour.
        chance (float): the share of the most frequent colour (the best blind guess).
        cycle_error (float): ``mean|F(G(x)) - x|``.
        cycle_error_visible (float): ``mean|F(snap_to_palette(G(x))) - x|``.
        noise (dict[float, float]): per noise std, ``F(G(x) + noise)`` has the input's colour.
        model (CycleGAN): the trained model, for figures.
        test (UnpairedDomains): the held-out sets (``test.y`` are grey images).
    """

    visible_colours: float
    hidden_amplitude: float
    background_amplitude: float
    colour_from_output: float
    colour_from_visible: float
    colour_from_true_grey: float
    chance: float
    cycle_error: float
    cycle_error_visible: float
    noise: dict[float, float]
    model: CycleGAN
    test: UnpairedDomains


def experiment_hidden_information(
    *,
    seed: int | torch.Generator = 0,
    steps: int = 240,
    batch: int = 8,
    lr: float = 2e-3,
    n_train: int = 512,
    n_test: int = 128,
    noise: tuple[float, ...] = (0.02, 0.05, 0.1, 0.2),
) -> HiddenInformation:
    """Train GAN + cycle (no identity loss) from colour (X) to grey, and read what ``F`` relies on.

    X -> grey forgets the colour, yet the cycle loss asks ``F(G(x)) = x``, colour included: the
    only way to satisfy it is to leave the colour in ``G(x)`` in some form the grey discriminator
    tolerates. We compare ``F``'s colour on ``G(x)`` with its colour on ``snap_to_palette(G(x))``
    (every pixel set to white or grey: only what is visible kept) and on ``G(x)`` plus Gaussian noise.

    Args:
        seed (int | torch.Generator): data, weights and batches, as in :func:`experiment_cycle_losses`.
            Default: ``0``.
        steps, batch, lr: see :func:`train_cycle_gan`. Defaults: ``240``, ``8``, ``2e-3``.
        n_train, n_test (int): images per domain. Defaults: ``512``, ``128``.
        noise (tuple[float, ...]): standard deviations of the added noise. Default:
            ``(0.02, 0.05, 0.1, 0.2)``.

    Returns:
        HiddenInformation: the measurements, the model and the held-out sets.
    """
    s = _seed_int(seed)
    train = make_unpaired_domains(check_int("n_train", n_train, minimum=1), seed=2 * s, y_domain="grey")
    test = make_unpaired_domains(check_int("n_test", n_test, minimum=2), seed=2 * s + 1, y_domain="grey")
    model, _ = train_cycle_gan(train, weight=10.0, identity_weight=0.0, steps=steps, batch=batch, lr=lr, seed=s)
    true_mask, true_colour = decode_domain(test.x, "x")

    def colour_ok(images: Tensor) -> float:  # F(images) has the input's colour inside its shape
        return (colour_inside(model.f(images), true_mask) == true_colour).float().mean().item()

    with torch.no_grad():
        fake = model.g(test.x)  # (N, 3, H, W)
        visible = snap_to_palette(fake, "grey")
        colour = decode_domain(fake, "grey")[1]
        gap = (fake - visible).abs().mean(dim=1)  # (N, H, W)
        noise_gen = torch.Generator().manual_seed(s + 7)
        noisy = {float(std): colour_ok(fake + std * torch.randn(fake.shape, generator=noise_gen)) for std in noise}
        return HiddenInformation(
            visible_colours=float(len(set(colour.tolist()) - {-1})),
            hidden_amplitude=gap[true_mask].mean().item(),
            background_amplitude=gap[~true_mask].mean().item(),
            colour_from_output=colour_ok(fake),
            colour_from_visible=colour_ok(visible),
            colour_from_true_grey=colour_ok(render_domain(test.x_params, "grey")),
            chance=(torch.bincount(true_colour, minlength=3).max() / len(true_colour)).item(),
            cycle_error=(model.f(fake) - test.x).abs().mean().item(),
            cycle_error_visible=(model.f(visible) - test.x).abs().mean().item(),
            noise=noisy,
            model=model,
            test=test,
        )


def experiment_image_pool(
    *, seed: int | torch.Generator = 0, steps: int = 500, batch: int = 8, pool_size: int = 50
) -> dict[str, float]:
    """Feed ``steps`` batches of numbered fakes to an ``ImagePool`` and measure what comes back.

    Returns:
        dict[str, float]: ``old share`` (the share of returned images that are not this step's,
        counted once the pool is full), ``mean age``, ``median age`` and ``max age`` in steps.
    """
    steps = check_int("steps", steps, minimum=1)
    batch = check_int("batch", batch, minimum=1)
    pool = ImagePool(check_int("pool_size", pool_size, minimum=1), seed=seed)
    full_from = -(-pool_size // batch)  # the first step that finds the pool full
    ages, shown_total = [], 0
    for step in range(steps):
        fresh = torch.arange(batch * step, batch * step + batch, dtype=torch.float32)  # serial numbers
        shown = pool.query(fresh[:, None, None, None]).flatten()  # (batch,)
        if step >= full_from:
            shown_total += batch
            ages += ((fresh - shown)[shown != fresh] / batch).tolist()  # in training steps
    a = torch.tensor(ages) if ages else torch.zeros(1)
    return {
        "old share": len(ages) / max(shown_total, 1),
        "mean age": a.mean().item(),
        "median age": a.median().item(),
        "max age": a.max().item(),
        "ages": ages,
    }
