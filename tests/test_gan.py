"""Tests for lessons.gan: pix2pix's U-Net, conditional PatchGAN and losses, receptive fields, SR, metrics."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lessons.cycle import gan_loss, patch_discriminator
from lessons.experiments.gan import (
    high_frequency_energy,
    mode_accuracy,
    nearest_distance,
    psnr,
    radial_power_spectrum,
    sharpness_ratio,
    spectral_gap,
)
from lessons.gan import (
    ConditionalMLP,
    ConditionalPatchGAN,
    SRGenerator,
    UNetGenerator,
    discriminator_input,
    gan_step,
    make_pix2pix,
    measure_receptive_field,
    patchgan_receptive_field,
    pix2pix_discriminator_loss,
    pix2pix_generator_loss,
    pix2pix_losses,
    pix2pix_step,
    receptive_field,
    super_resolution_loss,
)

PUBLISHED_FIELDS = {1: 16, 2: 34, 3: 70, 4: 142, 5: 286}


# ------------------------------------------------------------------ reference test vectors (GANLoss, PatchGAN)


def test_ganloss_test_vectors():
    zeros = torch.zeros(1, 1, 30, 30)
    assert gan_loss(zeros, True, gan_mode="vanilla").item() == pytest.approx(math.log(2), abs=1e-6)
    assert gan_loss(zeros, True, gan_mode="lsgan").item() == 1.0


def test_patchgan_output_shape_and_parameters_of_the_reference():
    d = ConditionalPatchGAN(3, 3, norm="batch")  # 6-channel input, BatchNorm, ndf 64, 3 layers
    assert sum(p.numel() for p in d.parameters()) == 2_768_705
    with torch.no_grad():
        assert d(torch.zeros(1, 3, 256, 256), torch.zeros(1, 3, 256, 256)).shape == (1, 1, 30, 30)


@pytest.mark.parametrize("n_layers", [1, 2, 3, 4, 5])
def test_patchgan_receptive_field_computed_and_measured_equal_the_published(n_layers):
    field = patchgan_receptive_field(n_layers)
    assert field == PUBLISHED_FIELDS[n_layers]
    net = patch_discriminator(1, ndf=2, n_layers=n_layers, norm="none")
    assert measure_receptive_field(net, 1, field + 2**n_layers * 4) == (field, field)


def test_receptive_field_against_the_measurement_for_other_chains():
    net = nn.Sequential(
        nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Conv2d(2, 2, 5, stride=2), nn.MaxPool2d(2), nn.Conv2d(2, 1, 3, dilation=2)
    )
    field = receptive_field(net)
    assert measure_receptive_field(net, 1, 64) == (field, field)
    assert receptive_field(nn.Sequential(nn.Conv2d(1, 1, 3))) == 3  # hand: one 3x3 layer sees 3x3
    assert receptive_field(nn.Sequential(nn.Conv2d(1, 1, 3, stride=2), nn.Conv2d(1, 1, 3))) == 7  # (3-1)*2+3


def test_measure_receptive_field_rejects_a_too_small_input():
    with pytest.raises(ValueError, match="size"):
        measure_receptive_field(patch_discriminator(1, ndf=2, n_layers=3, norm="none"), 1, 40)


# ------------------------------------------------------------------------------------- U-Net


def test_unet_shapes_range_and_reference_size():
    g = UNetGenerator(2, 3, num_downs=4, ngf=4)
    out = g(torch.randn(5, 2, 32, 32))
    assert out.shape == (5, 3, 32, 32) and out.abs().max() <= 1
    assert sum(p.numel() for p in UNetGenerator().parameters()) == 54_413_955  # unet_256, batch norm


def test_unet_skip_connection_carries_the_input_to_the_output():
    torch.manual_seed(0)
    g = UNetGenerator(1, 1, num_downs=3, ngf=4, norm="none").double()
    x = torch.zeros(1, 1, 16, 16, dtype=torch.float64, requires_grad=True)
    g(x)[0, 0, 3, 3].backward()
    # the outermost level sees the input through a single 4x4 down-conv + 4x4 up-conv path as well
    assert x.grad.abs().sum() > 0


def test_unet_rejects_bad_sizes():
    with pytest.raises(ValueError, match="a"):
        UNetGenerator(1, 1, num_downs=3, ngf=4)(torch.zeros(1, 1, 12, 12))
    with pytest.raises(TypeError, match="num_downs"):
        UNetGenerator(1, 1, num_downs=2.0)
    with pytest.raises(ValueError, match="norm"):
        UNetGenerator(norm="group")


# ------------------------------------------------------------------------------ discriminator


def test_discriminator_input_is_cat_a_then_b():
    a, b = torch.randn(2, 1, 4, 4), torch.randn(2, 3, 4, 4)
    x = discriminator_input(a, b)
    assert torch.equal(x[:, :1], a) and torch.equal(x[:, 1:], b)
    d = ConditionalPatchGAN(1, 3, ndf=4, n_layers=1, norm="none")
    a16, b16 = torch.randn(2, 1, 16, 16), torch.randn(2, 3, 16, 16)
    assert torch.equal(d(a16, b16), d.net(torch.cat([a16, b16], 1)))
    with pytest.raises(ValueError, match="b"):
        discriminator_input(a, torch.randn(3, 3, 4, 4))
    with pytest.raises(TypeError, match="a"):
        discriminator_input(torch.zeros(2, 1, 4, 4, dtype=torch.long), b)


# ------------------------------------------------------------------------------------- losses


def test_generator_loss_against_the_formula_written_out():
    g = torch.Generator().manual_seed(0)
    pred, fake, real = (
        torch.randn(3, 1, 5, 5, generator=g),
        torch.randn(3, 2, 8, 8, generator=g),
        torch.randn(3, 2, 8, 8, generator=g),
    )
    expected = F.binary_cross_entropy_with_logits(pred, torch.ones_like(pred)) + 100 * nn.L1Loss()(fake, real)
    assert pix2pix_generator_loss(pred, fake, real).item() == pytest.approx(expected.item(), rel=1e-6)
    only_l1 = pix2pix_generator_loss(pred, fake, real, gan_weight=0.0)
    assert only_l1.item() == pytest.approx(100 * (fake - real).abs().mean().item(), rel=1e-6)


def test_generator_loss_hand_computed():
    b = torch.zeros(1, 1, 2, 2)
    fake = torch.tensor([[[[0.5, -0.5], [0.0, 0.0]]]])
    assert pix2pix_generator_loss(torch.zeros(1, 1, 1, 1), fake, b, lambda_l1=1.0).item() == pytest.approx(
        math.log(2) + 0.25
    )


def test_discriminator_loss_is_half_the_sum():
    real, fake = torch.randn(2, 1, 3, 3), torch.randn(2, 1, 3, 3)
    expected = 0.5 * (
        F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
        + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake))
    )
    assert pix2pix_discriminator_loss(real, fake).item() == pytest.approx(expected.item(), rel=1e-6)
    assert pix2pix_discriminator_loss(torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 2, 2)).item() == pytest.approx(
        math.log(2)
    )


def test_losses_gradcheck_float64():
    g = torch.Generator().manual_seed(1)
    pred = torch.randn(2, 1, 3, 3, generator=g, dtype=torch.float64, requires_grad=True)
    fake = torch.randn(2, 1, 4, 4, generator=g, dtype=torch.float64, requires_grad=True)
    real = torch.randn(2, 1, 4, 4, generator=g, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda p, f: pix2pix_generator_loss(p, f, real, lambda_l1=3.0), (pred, fake))
    assert torch.autograd.gradcheck(
        lambda f, p: super_resolution_loss(f, real, p, adversarial_weight=0.5), (fake, pred)
    )


def test_pix2pix_losses_detach_the_fake_for_d():
    torch.manual_seed(0)
    d = ConditionalPatchGAN(1, 1, ndf=4, n_layers=1, norm="none")
    a, b = torch.randn(2, 1, 8, 8), torch.randn(2, 1, 8, 8)
    fake = torch.randn(2, 1, 8, 8, requires_grad=True)
    losses = pix2pix_losses(d, a, b, fake, lambda_l1=10.0)
    (grad_d,) = torch.autograd.grad(losses.discriminator, fake, allow_unused=True)
    assert grad_d is None  # D's loss does not reach G
    expected = losses.generator_gan + 10.0 * losses.generator_l1
    assert losses.generator.item() == pytest.approx(expected.item(), rel=1e-6)


def test_loss_bad_inputs():
    with pytest.raises(ValueError, match="fake_b"):
        pix2pix_generator_loss(torch.zeros(1, 1, 1, 1), torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 3, 3))
    with pytest.raises(ValueError, match="lambda_l1"):
        pix2pix_generator_loss(
            torch.zeros(1, 1, 1, 1), torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 2, 2), lambda_l1=-1.0
        )
    with pytest.raises(ValueError, match="gan_mode"):
        pix2pix_discriminator_loss(torch.zeros(1), torch.zeros(1), gan_mode="hinge")
    with pytest.raises(ValueError, match="pixel_loss"):
        super_resolution_loss(torch.zeros(1, 1, 3, 3), torch.zeros(1, 1, 3, 3), pixel_loss="l3")


# -------------------------------------------------------------------------------- training steps


def test_pix2pix_step_trains_both_and_reports():
    model = make_pix2pix(seed=0)
    a, b = torch.randn(4, 1, 16, 16), torch.randn(4, 1, 16, 16)
    d_before = [p.clone() for p in model.d.parameters()]
    out = pix2pix_step(model, a, b)
    assert set(out) == {"G_GAN", "G_L1", "G", "D"} and math.isfinite(out["D"])
    assert out["G"] == pytest.approx(out["G_GAN"] + 100 * out["G_L1"], rel=1e-5)
    assert any(not torch.equal(p, q) for p, q in zip(d_before, model.d.parameters()))
    l1_only = pix2pix_step(model, a, b, gan_weight=0.0)
    assert math.isnan(l1_only["D"])
    with pytest.raises(TypeError, match="model"):
        pix2pix_step(object(), a, b)


def test_conditional_mlp_uses_the_condition_and_gan_step_runs():
    torch.manual_seed(0)
    gen = ConditionalMLP(2, 2, n_classes=3)
    z = torch.randn(4, 2)
    assert not torch.allclose(gen(z, torch.zeros(4, dtype=torch.long)), gen(z, torch.ones(4, dtype=torch.long)))
    disc = ConditionalMLP(2, 1, n_classes=3)
    out = gan_step(
        gen,
        disc,
        torch.optim.Adam(gen.parameters()),
        torch.optim.Adam(disc.parameters()),
        torch.randn(4, 2),
        z,
        torch.tensor([0, 1, 2, 0]),
    )
    assert set(out) == {"G", "D"}
    with pytest.raises(ValueError, match="labels"):
        gen(z)


# ------------------------------------------------------------------------------------- metrics


def test_mode_accuracy_and_nearest_distance_against_loops():
    g = torch.Generator().manual_seed(3)
    points, centres = torch.randn(50, 2, generator=g), torch.randn(4, 2, generator=g)
    labels = torch.randint(4, (50,), generator=g)
    hits = sum(int(min(range(4), key=lambda k: float((points[n] - centres[k]).norm())) == labels[n]) for n in range(50))
    assert mode_accuracy(points, labels, centres).item() == pytest.approx(hits / 50)
    outputs, answers = torch.randn(6, 3, 1, 5, generator=g), torch.randn(4, 3, 1, 5, generator=g)
    slow = torch.tensor([min(((o - a) ** 2).mean().sqrt().item() for a in answers) for o in outputs])
    assert torch.allclose(nearest_distance(outputs, answers), slow, atol=1e-5)
    with pytest.raises(ValueError, match="labels"):
        mode_accuracy(points, labels[:3], centres)
    with pytest.raises(ValueError, match="points"):
        mode_accuracy(torch.full((50, 2), float("nan")), labels, centres)


def test_psnr_formula_and_hand_case():
    pred, target = torch.rand(3, 3, 8, 8), torch.rand(3, 3, 8, 8)
    mse = ((pred - target) ** 2).mean(dim=(1, 2, 3))
    assert torch.allclose(psnr(pred, target), 10 * torch.log10(1 / mse))
    assert psnr(torch.full((1, 1, 2, 2), 0.1), torch.zeros(1, 1, 2, 2)).item() == pytest.approx(20.0)
    with pytest.raises(ValueError, match="data_range"):
        psnr(pred, target, data_range=0.0)


def test_high_frequency_energy_against_a_loop_and_properties():
    x = torch.rand(2, 3, 6, 7)
    slow = torch.zeros(2)
    for b in range(2):
        values = [
            (x[b, c, i - 1, j] + x[b, c, i + 1, j] + x[b, c, i, j - 1] + x[b, c, i, j + 1] - 4 * x[b, c, i, j]) ** 2
            for c in range(3)
            for i in range(1, 5)
            for j in range(1, 6)
        ]
        slow[b] = torch.stack(values).mean()
    assert torch.allclose(high_frequency_energy(x), slow, rtol=1e-5)
    ramp = torch.arange(8.0).view(1, 1, 1, 8).expand(1, 1, 8, 8)
    assert high_frequency_energy(ramp).item() == 0.0  # a linear ramp has no detail
    blurred = F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)
    assert sharpness_ratio(blurred, x).item() < 1.0  # blur removes detail
    assert sharpness_ratio(3 * x, 3 * x).item() == pytest.approx(1.0)
    assert sharpness_ratio(x + 0.5 * torch.randn_like(x), x).item() > 1.0  # noise is not detail
    with pytest.raises(ValueError, match="target"):
        sharpness_ratio(x, torch.zeros_like(x))
    with pytest.raises(ValueError, match="images"):
        high_frequency_energy(torch.zeros(1, 1, 2, 9))


def _slow_radial_power(x: torch.Tensor) -> torch.Tensor:
    """The definition with an explicit DFT sum and explicit rings, for small images."""
    b_, c_, h, w = x.shape
    n_rings = min(h, w) // 2 + 1
    out = torch.zeros(b_, n_rings, dtype=torch.float64)
    for b in range(b_):
        sums, counts = [0.0] * n_rings, [0] * n_rings
        for u in range(h):
            for v in range(w):
                fu = u if u < (h + 1) // 2 else u - h  # torch.fft.fftfreq's order: 0, 1, .., -1
                fv = v if v < (w + 1) // 2 else v - w
                k = round(math.sqrt(fu * fu + fv * fv))
                if k >= n_rings:
                    continue
                power = 0.0
                for c in range(c_):
                    img = (x[b, c].double() - x[b, c].double().mean()).tolist()
                    re = im = 0.0
                    for i in range(h):
                        for j in range(w):
                            angle = -2 * math.pi * (u * i / h + v * j / w)
                            re += img[i][j] * math.cos(angle)
                            im += img[i][j] * math.sin(angle)
                    power += (re * re + im * im) / c_
                sums[k] += power
                counts[k] += 1
        out[b] = torch.tensor([s / n for s, n in zip(sums, counts)], dtype=torch.float64)
    return out


def test_radial_power_spectrum_against_the_definition_and_a_hand_case():
    x = torch.rand(2, 2, 6, 8, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert torch.allclose(radial_power_spectrum(x), _slow_radial_power(x), rtol=1e-9, atol=1e-9)
    # hand case: a cosine of 2 cycles across an 8 x 8 image puts all its power on ring 2, at (0, +-2):
    # |FFT| there is 8 * 8 / 2 = 32, power 1024; ring 2 holds the 12 frequencies with round(|f|) = 2:
    # (+-2, 0), (0, +-2) and the 8 of (+-1, +-2), (+-2, +-1) (|f| = 2.24)
    j = torch.arange(8.0)
    stripes = torch.cos(2 * math.pi * 2 * j / 8).expand(8, 8)[None, None]  # varies along x
    spectrum = radial_power_spectrum(stripes)
    expected = torch.zeros(1, 5)
    expected[0, 2] = 2 * 1024 / 12
    assert torch.allclose(spectrum, expected, atol=1e-3)


def test_spectral_gap_properties():
    g = torch.Generator().manual_seed(1)
    x = torch.rand(4, 3, 16, 16, generator=g)
    shifted = torch.roll(x, shifts=(3, 5), dims=(-2, -1))  # same detail, other place
    assert spectral_gap(shifted, x, min_frequency=3).item() == pytest.approx(0.0, abs=1e-5)
    assert psnr(shifted, x).mean().item() < 20  # ... which PSNR does see
    assert spectral_gap(2 * x, x, min_frequency=3).item() == pytest.approx(math.log10(4), rel=1e-5)
    blurred = F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)
    noisy = x + 0.5 * torch.randn(x.shape, generator=g)
    assert spectral_gap(blurred, x, min_frequency=3).item() > 0.3  # too little power: blur
    assert spectral_gap(noisy, x, min_frequency=3).item() > 0.3  # too much power: noise is not rewarded
    assert sharpness_ratio(noisy, x).item() > 1.0
    with pytest.raises(ValueError, match="min_frequency"):
        spectral_gap(x, x, min_frequency=9)
    with pytest.raises(ValueError, match="min_frequency"):
        spectral_gap(x, x, min_frequency=0)
    with pytest.raises(ValueError, match="pred"):
        spectral_gap(x[:, :, :8], x, min_frequency=2)
    with pytest.raises(ValueError, match="images"):
        radial_power_spectrum(x[0])


def test_sr_generator_shapes_and_bilinear_start():
    sr = SRGenerator(3, scale=4, nf=4, n_blocks=1)
    nn.init.zeros_(sr.tail.weight)
    nn.init.zeros_(sr.tail.bias)
    lr = torch.rand(2, 3, 8, 8)
    expected = F.interpolate(lr, scale_factor=4, mode="bilinear", align_corners=False)
    assert torch.allclose(sr(lr), expected)  # with a zero tail it is bilinear upsampling
    with pytest.raises(ValueError, match="scale"):
        SRGenerator(scale=3)
    hr = torch.rand(2, 3, 32, 32)
    assert super_resolution_loss(expected, hr, pixel_loss="l2").item() == pytest.approx(
        ((expected - hr) ** 2).mean().item()
    )
