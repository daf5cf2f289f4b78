"""Tests for lessons.cycle: CycleGAN losses, the image pool, the networks and one training step."""

from __future__ import annotations

import copy
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from lessons.cycle import (
    CycleGAN,
    ImagePool,
    ResnetBlock,
    cycle_consistency_loss,
    cycle_gan_step,
    gan_loss,
    identity_loss,
    image_pool_query,
    init_normal_,
    make_cycle_gan,
    output_diversity,
    patch_discriminator,
    patch_receptive_field,
    resnet_generator,
    translation_error,
)
from lessons.exercises import ExerciseFailure
from lessons.exercises.cycle import check_cycle_consistency_loss, check_image_pool_query


def _images(b: int, c: int = 3, h: int = 4, w: int = 4, *, seed: int = 0, dtype=torch.float32):
    return torch.rand(b, c, h, w, generator=torch.Generator().manual_seed(seed), dtype=dtype) * 2 - 1


def _count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


# ------------------------------------------------------------------------------------- GAN losses


def test_gan_loss_reference_values():
    # junyanz/pytorch-CycleGAN-and-pix2pix models/networks.py GANLoss: BCEWithLogits(0, 1) = ln 2; MSE(0, 1) = 1
    p = torch.zeros(1, 1, 30, 30)
    assert gan_loss(p, True, gan_mode="vanilla").item() == pytest.approx(math.log(2), abs=1e-6)
    assert gan_loss(p, False, gan_mode="vanilla").item() == pytest.approx(math.log(2), abs=1e-6)
    assert gan_loss(p, True, gan_mode="lsgan").item() == pytest.approx(1.0)
    assert gan_loss(p, False, gan_mode="lsgan").item() == 0.0
    assert gan_loss(p, True).item() == pytest.approx(1.0)  # lsgan is the default


@pytest.mark.parametrize("real", [True, False])
def test_gan_loss_against_formula(real):
    p = torch.randn(2, 1, 3, 5, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    t = 1.0 if real else 0.0
    values = p.flatten().tolist()
    sig = [1 / (1 + math.exp(-v)) for v in values]
    bce = -sum(t * math.log(s) + (1 - t) * math.log(1 - s) for s in sig) / len(values)
    mse = sum((v - t) ** 2 for v in values) / len(values)
    wgan = (-1 if real else 1) * sum(values) / len(values)
    assert gan_loss(p, real, gan_mode="vanilla").item() == pytest.approx(bce, rel=1e-12)
    assert gan_loss(p, real, gan_mode="lsgan").item() == pytest.approx(mse, rel=1e-12)
    assert gan_loss(p, real, gan_mode="wgangp").item() == pytest.approx(wgan, rel=1e-12)


@pytest.mark.parametrize("mode", ["vanilla", "lsgan", "wgangp"])
def test_gan_loss_gradcheck(mode):
    p = torch.randn(2, 1, 3, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda q: gan_loss(q, True, gan_mode=mode), (p,))
    assert torch.autograd.gradcheck(lambda q: gan_loss(q, False, gan_mode=mode), (p,))


def test_gan_loss_errors():
    p = torch.zeros(1, 1, 2, 2)
    with pytest.raises(ValueError, match="gan_mode: expected one of"):
        gan_loss(p, True, gan_mode="hinge")
    with pytest.raises(TypeError, match="target_is_real: expected a bool"):
        gan_loss(p, 1)
    with pytest.raises(TypeError, match="prediction: expected a floating-point tensor"):
        gan_loss(torch.zeros(1, 1, 2, 2, dtype=torch.long), True)
    with pytest.raises(TypeError, match="prediction: expected a torch.Tensor"):
        gan_loss([0.0], True)
    with pytest.raises(ValueError, match="prediction: expected at least one element"):
        gan_loss(torch.zeros(0, 1, 2, 2), True)


# ---------------------------------------------------------------------------- cycle and identity


def test_cycle_loss_against_formula_written_out():
    x, rx = _images(2, seed=1), _images(2, seed=2)
    y, ry = _images(3, 1, 5, 2, seed=3), _images(3, 1, 5, 2, seed=4)
    # weight * (mean |F(G(x)) - x| + mean |G(F(y)) - y|), the reference's nn.L1Loss (a mean)
    fwd = sum(abs(a - b) for a, b in zip(rx.flatten().tolist(), x.flatten().tolist())) / x.numel()
    bwd = sum(abs(a - b) for a, b in zip(ry.flatten().tolist(), y.flatten().tolist())) / y.numel()
    got = cycle_consistency_loss(x, rx, y, ry, weight=10.0)
    assert got.shape == ()
    assert got.item() == pytest.approx(10.0 * (fwd + bwd), rel=1e-5)
    assert cycle_consistency_loss(x, rx, y, ry).item() == pytest.approx(got.item())  # default 10
    assert cycle_consistency_loss(x, rx, y, ry, weight=0.0).item() == 0.0


def test_cycle_loss_hand_computed():
    x = torch.zeros(1, 1, 2, 2)
    rx = torch.tensor([[[[1.0, -1.0], [0.0, 2.0]]]])  # mean |.| = 1.0
    y = torch.ones(1, 1, 1, 2)
    ry = torch.tensor([[[[1.5, 1.0]]]])  # mean |.| = 0.25
    assert cycle_consistency_loss(x, rx, y, ry, weight=2.0).item() == pytest.approx(2.5)


def test_cycle_loss_zero_for_exact_inverses():
    # G(x) = 2x and F(y) = y / 2 are exact inverses in floating point
    def g(t):
        return 2 * t

    def f(t):
        return t / 2

    x, y = _images(4, seed=5), _images(2, seed=6)
    assert cycle_consistency_loss(x, f(g(x)), y, g(f(y))).item() == 0.0
    # and a non-inverse pair is penalized
    assert cycle_consistency_loss(x, g(g(x)), y, g(f(y))).item() > 0


def test_cycle_loss_gradcheck():
    x, y = _images(2, seed=7, dtype=torch.float64), _images(2, seed=8, dtype=torch.float64)
    rx = _images(2, seed=9, dtype=torch.float64).requires_grad_()
    ry = _images(2, seed=10, dtype=torch.float64).requires_grad_()
    assert torch.autograd.gradcheck(lambda a, b: cycle_consistency_loss(x, a, y, b, weight=3.0), (rx, ry))


@settings(max_examples=15, deadline=None)
@given(
    b=st.integers(1, 3),
    weight=st.floats(0.0, 20.0, allow_nan=False),
    seed=st.integers(0, 1000),
)
def test_cycle_loss_properties(b, weight, seed):
    x, rx, y, ry = (_images(b, seed=seed + k) for k in range(4))
    loss = cycle_consistency_loss(x, rx, y, ry, weight=weight)
    assert loss.item() >= 0
    # linear in the weight, symmetric in the two domains
    unit = cycle_consistency_loss(x, rx, y, ry, weight=1.0).item()
    assert loss.item() == pytest.approx(weight * unit, rel=1e-5, abs=1e-6)
    assert loss.item() == pytest.approx(cycle_consistency_loss(y, ry, x, rx, weight=weight).item(), rel=1e-6, abs=1e-6)


def test_identity_loss_default_weights_are_five():
    # models/cycle_gan_model.py: each identity term is weighted lambda * lambda_identity = 10 * 0.5 = 5
    x, y = _images(2, seed=1), _images(3, seed=2)
    assert identity_loss(x, x + 1, y, y).item() == pytest.approx(5.0)
    assert identity_loss(x, x, y, y - 0.5).item() == pytest.approx(2.5)
    assert identity_loss(x, x + 1, y, y + 1, weight=4.0, identity_weight=0.25).item() == pytest.approx(2.0)


def test_identity_loss_against_formula_and_gradcheck():
    x, fx = _images(2, seed=3, dtype=torch.float64), _images(2, seed=4, dtype=torch.float64)
    y, gy = _images(2, seed=5, dtype=torch.float64), _images(2, seed=6, dtype=torch.float64)
    want = 10 * 0.5 * ((fx - x).abs().sum() / x.numel() + (gy - y).abs().sum() / y.numel())
    assert identity_loss(x, fx, y, gy).item() == pytest.approx(want.item(), rel=1e-12)
    fx.requires_grad_()
    gy.requires_grad_()
    assert torch.autograd.gradcheck(lambda a, b: identity_loss(x, a, y, b), (fx, gy))


@pytest.mark.parametrize("loss", [cycle_consistency_loss, identity_loss])
def test_loss_errors(loss):
    x, y = _images(2), _images(2)
    with pytest.raises(ValueError, match=r"expected the same shape as real_x \(2, 3, 4, 4\), got \(2, 3, 4, 5\)"):
        loss(x, _images(2, w=5), y, y)
    with pytest.raises(ValueError, match=r"expected the same shape as real_y"):
        loss(x, x, y, _images(1))
    with pytest.raises(ValueError, match="weight: expected a non-negative number, got -1.0"):
        loss(x, x, y, y, weight=-1.0)
    with pytest.raises(TypeError, match="weight: expected a number"):
        loss(x, x, y, y, weight="10")
    with pytest.raises(ValueError, match=r"real_x: expected a tensor of shape \(B, C, H, W\)"):
        loss(x[0], x[0], y, y)
    with pytest.raises(TypeError, match="real_x: expected a floating-point tensor"):
        loss(x.long(), x, y, y)
    with pytest.raises(TypeError, match="real_y: expected a torch.Tensor"):
        loss(x, x, y.tolist(), y)
    with pytest.raises(TypeError, match="expected the same dtype"):
        loss(x, x.double(), y, y)
    with pytest.raises(ValueError, match="expected a non-empty batch"):
        loss(x[:0], x[:0], y, y)


def test_identity_loss_negative_identity_weight():
    x = _images(1)
    with pytest.raises(ValueError, match="identity_weight: expected a non-negative number"):
        identity_loss(x, x, x, x, identity_weight=-0.5)


# ------------------------------------------------------------------------------------- image pool


class _ReferencePool:
    """util/image_pool.py transcribed line by line, with its random calls swapped for torch draws."""

    def __init__(self, pool_size, generator):
        self.pool_size, self.generator = pool_size, generator
        self.num_imgs, self.images = 0, []

    def query(self, images):
        if self.pool_size == 0:
            return images
        return_images = []
        for image in images:
            image = torch.unsqueeze(image.data, 0)
            if self.num_imgs < self.pool_size:
                self.num_imgs = self.num_imgs + 1
                self.images.append(image)
                return_images.append(image)
            else:
                p = torch.rand((), generator=self.generator).item()  # random.uniform(0, 1)
                if p > 0.5:
                    random_id = int(torch.randint(self.pool_size, (), generator=self.generator))
                    tmp = self.images[random_id].clone()
                    self.images[random_id] = image
                    return_images.append(tmp)
                else:
                    return_images.append(image)
        return torch.cat(return_images, 0)


def _numbered(start: int, b: int) -> torch.Tensor:
    """Images whose every pixel holds their serial number, so we can tell which came back."""
    return torch.arange(start, start + b, dtype=torch.float32)[:, None, None, None].expand(b, 1, 2, 2).clone()


def test_pool_size_zero_is_identity():
    x = _images(5)
    pool = x.new_empty(0, 3, 4, 4)
    out, new_pool = image_pool_query(x, pool, pool_size=0)
    assert out is x and new_pool is pool
    p = ImagePool(0)
    assert p.query(x) is x and len(p) == 0


def test_pool_warm_up_returns_inputs_and_stores_them():
    x = _numbered(0, 3)
    out, pool = image_pool_query(x, x.new_empty(0, 1, 2, 2), pool_size=5)
    assert torch.equal(out, x) and torch.equal(pool, x)
    # filling up in the middle of a batch: the first two fill the pool, the next three are drawn
    out, pool = image_pool_query(_numbered(3, 5), pool, pool_size=5, seed=0)
    assert out.shape == (5, 1, 2, 2) and pool.shape == (5, 1, 2, 2)
    assert torch.equal(out[:2], _numbered(3, 2))


@pytest.mark.parametrize("pool_size", [1, 3, 50])
def test_pool_matches_reference_transcription(pool_size):
    ours = ImagePool(pool_size, seed=123)
    ref = _ReferencePool(pool_size, torch.Generator().manual_seed(123))
    serial = 0
    for b in [2, 1, 4, 3, 7, 1, 5, 6]:
        batch = _numbered(serial, b)
        serial += b
        got, want = ours.query(batch), ref.query(batch)
        assert got.shape == batch.shape  # as many images back as given
        assert torch.equal(got, want)
    assert len(ours) == min(pool_size, serial)
    assert torch.equal(ours.images, torch.cat(ref.images))


def test_pool_returns_history_half_the_time_once_full():
    pool = ImagePool(10, seed=0)
    pool.query(_numbered(0, 10))  # fill
    old = 0
    for step in range(200):
        batch = _numbered(10 + 4 * step, 4)
        out = pool.query(batch)
        old += int((out[:, 0, 0, 0] != batch[:, 0, 0, 0]).sum())
    frac = old / 800
    assert 0.44 < frac < 0.56  # binomial(800, 0.5): std 0.018


def test_pool_empty_batch():
    pool = _images(2)
    out, new_pool = image_pool_query(_images(0), pool, pool_size=3)
    assert out.shape == (0, 3, 4, 4) and torch.equal(new_pool, pool)


def test_pool_is_pure_deterministic_and_detached():
    x = _images(6, seed=3).requires_grad_()
    pool = _images(4, seed=4)
    before = pool.clone()
    a = image_pool_query(x, pool, pool_size=4, seed=9)
    b = image_pool_query(x, pool, pool_size=4, seed=9)
    assert torch.equal(pool, before)  # the caller's history is not modified
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not a[0].requires_grad and not a[1].requires_grad


def test_pool_errors():
    x = _images(2)
    empty = x.new_empty(0, 3, 4, 4)
    with pytest.raises(ValueError, match="pool_size: expected an int >= 0, got -1"):
        image_pool_query(x, empty, pool_size=-1)
    with pytest.raises(TypeError, match="pool_size: expected an int"):
        ImagePool(2.5)
    with pytest.raises(ValueError, match="pool: expected at most pool_size=1 images, got 2"):
        image_pool_query(x, x, pool_size=1)
    with pytest.raises(ValueError, match=r"pool: expected images of shape \(C, H, W\) = \(3, 4, 4\)"):
        image_pool_query(x, _images(1, 1), pool_size=3)
    with pytest.raises(TypeError, match="seed: expected an int or a torch.Generator"):
        image_pool_query(x, empty, pool_size=3, seed=0.5)
    with pytest.raises(ValueError, match=r"images: expected a tensor of shape \(B, C, H, W\)"):
        ImagePool(3).query(x[0])


# --------------------------------------------------------------------------------------- networks


def test_patch_discriminator_reference_numbers():
    # the reference's NLayerDiscriminator (pix2pix, BatchNorm, 6 input channels): 256x256 -> 30x30 and
    # 2,768,705 parameters: 4x4 kernels, a bias on the first and last conv, BatchNorm (2c) elsewhere
    assert patch_discriminator(6, norm="batch")(torch.zeros(1, 6, 256, 256)).shape == (1, 1, 30, 30)
    by_hand = (
        (6 * 64 * 16 + 64)
        + (64 * 128 * 16 + 2 * 128)
        + (128 * 256 * 16 + 2 * 256)
        + (256 * 512 * 16 + 2 * 512)
        + (512 * 1 * 16 + 1)
    )
    assert by_hand == 2_768_705
    assert _count(patch_discriminator(6, norm="batch")) == 2_768_705
    # instance norm (CycleGAN): no norm parameters, biases instead; counted by hand
    convs = [(3, 64, True), (64, 128, True), (128, 256, True), (256, 512, True), (512, 1, True)]
    assert _count(patch_discriminator(3)) == sum(i * o * 16 + o for i, o, _ in convs)


def test_patch_receptive_field_table_and_measured():
    assert [patch_receptive_field(n) for n in range(1, 6)] == [16, 34, 70, 142, 286]
    for n in (1, 2):
        d = patch_discriminator(1, ndf=2, n_layers=n, norm="none")
        x = torch.randn(1, 1, 64, 64, requires_grad=True)
        out = d(x)
        out[0, 0, out.shape[2] // 2, out.shape[3] // 2].backward()
        rows = x.grad[0, 0].abs().sum(dim=1).nonzero()
        assert int(rows.max() - rows.min() + 1) == patch_receptive_field(n)


def test_resnet_generator_resnet_9blocks_parameter_count():
    # counted by hand: c7s1-64, d128, d256, 9 residual blocks of two 3x3 convs, u128, u64, c7s1-3
    def conv(i, o, k):
        return i * o * k * k + o

    want = conv(3, 64, 7) + conv(64, 128, 3) + conv(128, 256, 3) + 9 * 2 * conv(256, 256, 3)
    want += conv(256, 128, 3) + conv(128, 64, 3) + conv(64, 3, 7)
    assert _count(resnet_generator()) == want == 11_378_179


@pytest.mark.parametrize("n_downsampling", [0, 1, 2])
def test_resnet_generator_shape_and_range(n_downsampling):
    g = resnet_generator(3, 2, ngf=4, n_blocks=1, n_downsampling=n_downsampling)
    out = g(_images(2, 3, 16, 16) * 5)
    assert out.shape == (2, 2, 16, 16)
    assert out.abs().max() <= 1


def test_resnet_block_with_zero_convolutions_is_identity():
    block = ResnetBlock(4)
    for p in block.parameters():
        nn.init.zeros_(p)
    x = _images(2, 4, 5, 5)
    assert torch.equal(block(x), x)


def test_init_normal():
    net = init_normal_(patch_discriminator(3, ndf=16, norm="batch"), seed=0)
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    weights = torch.cat([m.weight.flatten() for m in convs])
    assert abs(weights.mean().item()) < 2e-3 and weights.std().item() == pytest.approx(0.02, rel=0.05)
    assert all(m.bias is None or torch.all(m.bias == 0) for m in convs)
    bn = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    assert all(torch.all(m.bias == 0) and (m.weight - 1).abs().max() < 0.1 for m in bn)


def test_network_errors():
    with pytest.raises(ValueError, match="norm: expected one of"):
        resnet_generator(norm="layer")
    with pytest.raises(ValueError, match="ngf: expected an int >= 1, got 0"):
        resnet_generator(ngf=0)
    with pytest.raises(ValueError, match="n_blocks: expected an int >= 0, got -1"):
        resnet_generator(n_blocks=-1)
    with pytest.raises(TypeError, match="in_channels: expected an int"):
        patch_discriminator(3.0)
    with pytest.raises(ValueError, match="n_layers: expected an int >= 1, got 0"):
        patch_discriminator(n_layers=0)
    with pytest.raises(ValueError, match="n_layers: expected an int >= 1"):
        patch_receptive_field(0)
    with pytest.raises(ValueError, match="std: expected a positive number"):
        init_normal_(nn.Conv2d(1, 1, 1), std=0.0)


# --------------------------------------------------------------------------------------- training


def _toy_batches(seed: int, b: int = 4):
    g = torch.Generator().manual_seed(seed)
    x = -torch.ones(b, 3, 16, 16)
    y = torch.ones(b, 3, 16, 16)
    for i in range(b):  # one coloured square per image, at a random place
        r, c, k = (int(v) for v in torch.randint(0, 10, (3,), generator=g))
        x[i, :, r : r + 6, c : c + 6] = -1
        x[i, k % 3, r : r + 6, c : c + 6] = 1
        r, c, k = (int(v) for v in torch.randint(0, 10, (3,), generator=g))
        y[i, :, r : r + 6, c : c + 6] = -1
        y[i, k % 3, r : r + 6, c : c + 6] = 1
    return x, y


def test_training_lowers_the_cycle_loss():
    torch.manual_seed(0)
    model = make_cycle_gan(seed=0, lr=2e-3)
    x_eval, y_eval = _toy_batches(100, b=8)

    def cycle_error():
        with torch.no_grad():
            rec_x, rec_y = model.f(model.g(x_eval)), model.g(model.f(y_eval))
            return cycle_consistency_loss(x_eval, rec_x, y_eval, rec_y, weight=1.0).item()

    before = cycle_error()
    for step in range(12):
        cycle_gan_step(model, *_toy_batches(step), identity_weight=0.0)
    after = cycle_error()
    assert after < 0.5 * before, (before, after)


def test_step_matches_manual_reference_order():
    """Gradients left by one step equal those of the reference's losses computed by hand."""
    torch.manual_seed(0)
    model = make_cycle_gan(seed=3, pool_size=2)
    x, y = _toy_batches(7, b=3)
    twin = copy.deepcopy(model)  # the state before the step
    out = cycle_gan_step(model, x, y, weight=10.0, identity_weight=0.5, gan_mode="lsgan")

    g, f, dx, dy = twin.g, twin.f, twin.d_x, twin.d_y
    fake_y, fake_x = g(x), f(y)
    rec_x, rec_y = f(fake_y), g(fake_x)
    mse = nn.MSELoss()
    l1 = nn.L1Loss()
    loss_g = (
        mse(dy(fake_y), torch.ones_like(dy(fake_y)))
        + mse(dx(fake_x), torch.ones_like(dx(fake_x)))
        + 10 * l1(rec_x, x)
        + 10 * l1(rec_y, y)
        + 10 * 0.5 * l1(g(y), y)
        + 10 * 0.5 * l1(f(x), x)
    )
    gen_params = list(g.parameters()) + list(f.parameters())
    grads = torch.autograd.grad(loss_g, gen_params)
    for ours, want in zip(list(model.g.parameters()) + list(model.f.parameters()), grads):
        assert torch.allclose(ours.grad, want, atol=1e-6)
    assert out["total_G"] == pytest.approx(loss_g.item(), rel=1e-5)
    assert out["cycle_x"] == pytest.approx(l1(rec_x, x).item(), rel=1e-5)

    # discriminators: pools are still warming up (size 2 < 3 images), so they see two of the
    # current fakes... and then one drawn; replay the same pools on the copies
    pooled_y = twin.pool_y.query(fake_y.detach())
    loss_dy = 0.5 * (mse(dy(y), torch.ones_like(dy(y))) + mse(dy(pooled_y), torch.zeros_like(dy(pooled_y))))
    pooled_x = twin.pool_x.query(fake_x.detach())
    loss_dx = 0.5 * (mse(dx(x), torch.ones_like(dx(x))) + mse(dx(pooled_x), torch.zeros_like(dx(pooled_x))))
    disc_params = list(dx.parameters()) + list(dy.parameters())
    grads = torch.autograd.grad(loss_dx + loss_dy, disc_params)
    for ours, want in zip(list(model.d_x.parameters()) + list(model.d_y.parameters()), grads):
        assert torch.allclose(ours.grad, want, atol=1e-6)
    assert out["D_Y"] == pytest.approx(loss_dy.item(), rel=1e-5)
    assert out["D_X"] == pytest.approx(loss_dx.item(), rel=1e-5)


def test_step_without_cycle_loss_only_measures_it():
    model = make_cycle_gan(seed=1)
    x, y = _toy_batches(2)
    twin = copy.deepcopy(model)
    out = cycle_gan_step(model, x, y, weight=0.0)
    assert out["identity"] == 0.0 and out["cycle_x"] > 0
    g, f, dx, dy = twin.g, twin.f, twin.d_x, twin.d_y
    py, px = dy(g(x)), dx(f(y))
    loss = nn.MSELoss()(py, torch.ones_like(py)) + nn.MSELoss()(px, torch.ones_like(px))
    assert out["total_G"] == pytest.approx(loss.item(), rel=1e-5)


def test_step_updates_all_four_networks():
    model = make_cycle_gan(seed=2)
    before = [copy.deepcopy(n.state_dict()) for n in (model.g, model.f, model.d_x, model.d_y)]
    cycle_gan_step(model, *_toy_batches(3))
    for net, old in zip((model.g, model.f, model.d_x, model.d_y), before):
        assert any(not torch.equal(p, old[k]) for k, p in net.state_dict().items())


def test_step_errors():
    model = make_cycle_gan(seed=0, x_channels=1, y_channels=3)
    x, y = torch.zeros(2, 1, 16, 16), torch.zeros(2, 3, 16, 16)
    with pytest.raises(ValueError, match="identity_weight: the identity loss .* needs as many channels"):
        cycle_gan_step(model, x, y)
    cycle_gan_step(model, x, y, identity_weight=0.0)  # fine without it
    with pytest.raises(TypeError, match="model: expected a CycleGAN"):
        cycle_gan_step(model.g, x, y)
    with pytest.raises(ValueError, match="weight: expected a non-negative number"):
        cycle_gan_step(model, x, y, weight=-1.0)
    with pytest.raises(ValueError, match="gan_mode: expected one of"):
        cycle_gan_step(model, x, y, gan_mode="hinge", identity_weight=0.0)
    with pytest.raises(ValueError, match=r"real_x: expected a tensor of shape \(B, C, H, W\)"):
        cycle_gan_step(model, x[0], y, identity_weight=0.0)
    with pytest.raises(TypeError, match="seed: expected an int"):
        make_cycle_gan(seed=1.5)
    assert isinstance(model, CycleGAN)


# -------------------------------------------------------------------------------------- measuring


def test_translation_error_and_diversity_against_loops():
    a, b = _images(4, seed=1), _images(4, seed=2)
    err = translation_error(a, b)
    assert err.shape == (4,)
    for i in range(4):
        assert err[i].item() == pytest.approx((a[i] - b[i]).abs().mean().item(), rel=1e-6)
    pairs = [(a[i] - a[j]).abs().mean().item() for i in range(4) for j in range(4) if i != j]
    assert output_diversity(a).item() == pytest.approx(sum(pairs) / len(pairs), rel=1e-6)
    assert output_diversity(a[:1].expand(5, -1, -1, -1)).item() == 0.0


def test_measuring_errors():
    with pytest.raises(ValueError, match="images: expected at least 2 images"):
        output_diversity(_images(1))
    with pytest.raises(ValueError, match="outputs: expected the same shape as targets"):
        translation_error(_images(2), _images(3))
    with pytest.raises(ValueError, match="outputs: expected the same shape as targets"):
        translation_error(_images(2, 1), _images(2))


# -------------------------------------------------------------------------------------- exercises


def _stub(*args, **kwargs):
    raise NotImplementedError("Exercise 11.x: ... (see the hint above)")


def test_check_cycle_consistency_loss_reference_stub_and_wrong(capsys):
    assert check_cycle_consistency_loss(cycle_consistency_loss).passed
    assert check_cycle_consistency_loss(_stub).status == "not attempted"
    assert "not attempted yet" in capsys.readouterr().out

    def summed(real_x, reconstructed_x, real_y, reconstructed_y, *, weight=10.0):
        return weight * ((reconstructed_x - real_x).abs().sum() + (reconstructed_y - real_y).abs().sum())

    def forward_only(real_x, reconstructed_x, real_y, reconstructed_y, *, weight=10.0):
        return weight * (reconstructed_x - real_x).abs().mean()

    def squared(real_x, reconstructed_x, real_y, reconstructed_y, *, weight=10.0):
        return weight * (((reconstructed_x - real_x) ** 2).mean() + ((reconstructed_y - real_y) ** 2).mean())

    def unweighted(real_x, reconstructed_x, real_y, reconstructed_y, *, weight=10.0):
        return (reconstructed_x - real_x).abs().mean() + (reconstructed_y - real_y).abs().mean()

    def as_float(real_x, reconstructed_x, real_y, reconstructed_y, *, weight=10.0):
        return float(cycle_consistency_loss(real_x, reconstructed_x, real_y, reconstructed_y, weight=weight))

    for wrong, where in [
        (summed, "case 2"),
        (forward_only, "case 2"),
        (squared, "case 2"),
        (unweighted, "case 3"),
        (as_float, "case 1"),
    ]:
        with pytest.raises(ExerciseFailure, match=where):
            check_cycle_consistency_loss(wrong)


def test_check_cycle_consistency_loss_reports_a_crash():
    def crashes(real_x, reconstructed_x, real_y, reconstructed_y, *, weight=10.0):
        return real_x @ reconstructed_y

    with pytest.raises(ExerciseFailure, match="your function raised RuntimeError"):
        check_cycle_consistency_loss(crashes)
    with pytest.raises(TypeError, match="pass the function itself"):
        check_cycle_consistency_loss(cycle_consistency_loss(*(_images(1),) * 4))


def test_check_image_pool_query_reference_stub_and_wrong(capsys):
    assert check_image_pool_query(image_pool_query).passed
    assert check_image_pool_query(_stub).status == "not attempted"
    assert "Exercise 11.2 (image_pool_query): not attempted yet" in capsys.readouterr().out

    def never_swaps(images, pool, *, pool_size=50, seed=0):
        if pool_size == 0:
            return images, pool
        room = max(0, pool_size - pool.shape[0])
        return images.clone(), torch.cat([pool, images[:room]])

    def slot_first(images, pool, *, pool_size=50, seed=0):
        generator = torch.Generator().manual_seed(seed)
        if pool_size == 0:
            return images, pool
        stored, returned = list(pool.clone()), []
        for image in images:
            if len(stored) < pool_size:
                stored.append(image.clone())
                returned.append(image)
                continue
            slot = int(torch.randint(pool_size, (), generator=generator))  # drawn before u: out of step
            if torch.rand((), generator=generator).item() > 0.5:
                returned.append(stored[slot])
                stored[slot] = image.clone()
            else:
                returned.append(image)
        return torch.stack(returned), torch.stack(stored)

    def in_place(images, pool, *, pool_size=50, seed=0):
        returned, new_pool = image_pool_query(images, pool, pool_size=pool_size, seed=seed)
        if new_pool.shape == pool.shape:
            pool.copy_(new_pool)  # modifies the caller's history
        return returned, new_pool

    with pytest.raises(ExerciseFailure, match="case 3 of 6"):
        check_image_pool_query(never_swaps)
    with pytest.raises(ExerciseFailure, match="case 3 of 6"):
        check_image_pool_query(slot_first)
    with pytest.raises(ExerciseFailure, match="changed its input arg 1 in place"):
        check_image_pool_query(in_place)
    with pytest.raises(TypeError, match="pass the function itself"):
        check_image_pool_query(None)


# ------------------------------------------------------------------- experiments (lessons.experiments.cycle)

from lessons.data.domains import decode_domain, make_unpaired_domains, render_domain  # noqa: E402
from lessons.experiments.cycle import (  # noqa: E402
    colour_confusion,
    colour_inside,
    experiment_cycle_losses,
    experiment_hidden_information,
    experiment_image_pool,
    score_translation,
    train_cycle_gan,
)


def test_colour_inside_against_loop_and_by_hand():
    images = torch.rand(5, 3, 6, 6, generator=torch.Generator().manual_seed(3)) * 2 - 1
    masks = torch.rand(5, 6, 6, generator=torch.Generator().manual_seed(4)) > 0.5
    expected = []
    for im, m in zip(images, masks):  # the definition: the channel with the highest mean inside the mask
        means = [sum(im[c][m].tolist()) / max(int(m.sum()), 1) for c in range(3)]
        expected.append(max(range(3), key=lambda c: means[c]))
    assert colour_inside(images, masks).tolist() == expected
    dim_green = torch.full((1, 3, 4, 4), -1.0)
    dim_green[0, 1, 1:3, 1:3] = -0.6  # a dim green square: decode_domain sees no shape, colour_inside does
    square = torch.zeros(1, 4, 4, dtype=torch.bool)
    square[0, 1:3, 1:3] = True
    assert decode_domain(dim_green, "x")[1].item() == -1
    assert colour_inside(dim_green, square).item() == 1


def test_colour_confusion_and_scores_by_hand():
    conf = colour_confusion(torch.tensor([0, 0, 1, 2, 2]), torch.tensor([1, 1, 1, -1, 2]))
    assert conf.tolist() == [[0, 2, 0, 0], [0, 1, 0, 0], [0, 0, 1, 1]]
    d = make_unpaired_domains(12, seed=3)
    truth = render_domain(d.x_params, "y")
    row, confusion = score_translation(truth, truth, real_x=d.x, recovered=d.x)
    assert row["error"] == 0 and row["IoU"] == 1 and row["colour ok"] == 1 and row["recoverable"] == 1
    assert row["|F(G(x))-x|"] == 0 and row["F colour ok"] == 1
    assert confusion[:, 3].sum() == 0 and confusion.sum() == 12
    # every input painted the same colour: recoverable = share of the commonest input colour
    same = render_domain(d.x_params._replace(colour=torch.zeros(12, dtype=torch.long)), "y")
    row, _ = score_translation(same, truth)
    assert row["colours"] == 1
    assert row["recoverable"] == pytest.approx(torch.bincount(d.x_params.colour).max().item() / 12)
    assert math.isnan(row["|F(G(x))-x|"])


def test_train_cycle_gan_is_seeded_and_validates():
    d = make_unpaired_domains(16, seed=0)
    a, ha = train_cycle_gan(d, steps=2, batch=2, seed=5)
    b, hb = train_cycle_gan(d, steps=2, batch=2, seed=5)
    assert len(ha) == 2 and ha == hb
    assert all(torch.equal(p, q) for p, q in zip(a.g.parameters(), b.g.parameters()))
    with pytest.raises(ValueError, match="steps"):
        train_cycle_gan(d, steps=0)
    with pytest.raises(TypeError, match="batch"):
        train_cycle_gan(d, batch=2.0)
    with pytest.raises(ValueError, match="lr"):
        train_cycle_gan(d, lr=0.0)
    with pytest.raises(TypeError, match="seed"):
        train_cycle_gan(d, steps=1, seed="0")


def test_experiments_return_their_numbers():
    r = experiment_cycle_losses(seed=1, steps=2, n_train=16, n_test=6)
    assert set(r.scores) == {"GAN only", "GAN + cycle", "GAN + cycle + identity", "truth", "random real Y image"}
    assert r.scores["truth"]["error"] == 0 and r.confusion["GAN only"].sum() == 6
    assert all(len(h) == 2 for h in r.histories.values())
    h = experiment_hidden_information(seed=1, steps=2, n_train=16, n_test=6, noise=(0.1,))
    assert h.test.y.shape == (6, 3, 16, 16) and set(h.noise) == {0.1}
    for v in (h.colour_from_output, h.colour_from_visible, h.colour_from_true_grey, h.chance):
        assert 0.0 <= v <= 1.0
    assert h.cycle_error > 0 and h.cycle_error_visible > 0


def test_image_pool_experiment_matches_the_expected_rates():
    r = experiment_image_pool(seed=0, steps=300)
    # after warm-up each fake is swapped for an old one with probability 1/2
    assert abs(r["old share"] - 0.5) < 0.05 and min(r["ages"]) > 0  # in steps; a fake of this batch: 1/8
    # a pool of one, batches of one: an old image waits for a swap, 2 steps on average (geometric, p = 1/2)
    one = experiment_image_pool(seed=0, steps=2000, batch=1, pool_size=1)
    assert abs(one["old share"] - 0.5) < 0.05 and abs(one["mean age"] - 2.0) < 0.2
    assert experiment_image_pool(seed=3, steps=50) == experiment_image_pool(seed=3, steps=50)
    with pytest.raises(ValueError, match="pool_size"):
        experiment_image_pool(pool_size=0)


def test_seed_may_be_a_generator():
    a = make_cycle_gan(seed=torch.Generator().manual_seed(4))
    b = make_cycle_gan(seed=torch.Generator().manual_seed(4))
    assert all(torch.equal(p, q) for p, q in zip(a.g.parameters(), b.g.parameters()))
    d = make_unpaired_domains(8, seed=torch.Generator().manual_seed(1))
    model, history = train_cycle_gan(d, steps=1, batch=2, seed=torch.Generator().manual_seed(2))
    assert len(history) == 1 and isinstance(model, CycleGAN)
    with pytest.raises(TypeError, match="seed: expected an int or a torch.Generator"):
        make_cycle_gan(seed=1.0)


def test_resnet_block_checks_its_input():
    block = ResnetBlock(4)
    with pytest.raises(ValueError, match=r"x: expected a tensor of shape \(B, 4, H, W\)"):
        block(torch.zeros(4, 8, 8))  # unbatched: reflection padding would accept it silently
    with pytest.raises(ValueError, match=r"x: expected shape \(B, 4, H, W\)"):
        block(torch.zeros(1, 3, 8, 8))
    with pytest.raises(TypeError, match="x: expected a floating-point tensor"):
        block(torch.zeros(1, 4, 8, 8, dtype=torch.long))


def test_init_normal_takes_an_int_or_a_generator():
    a = init_normal_(patch_discriminator(3, ndf=4), seed=torch.Generator().manual_seed(5))
    c = init_normal_(patch_discriminator(3, ndf=4), seed=5)
    assert all(torch.equal(p, r) for p, r in zip(a.parameters(), c.parameters()))
    with pytest.raises(TypeError):
        init_normal_(patch_discriminator(3, ndf=4), generator=torch.Generator().manual_seed(5))
    with pytest.raises(TypeError, match="seed: expected an int or a torch.Generator"):
        init_normal_(patch_discriminator(3, ndf=4), seed="0")


def test_split_modules_keep_the_old_import_paths():
    import lessons.cycle
    import lessons.gan_networks
    import lessons.image_pool

    for name in ("image_pool_query", "ImagePool"):
        assert getattr(lessons.cycle, name) is getattr(lessons.image_pool, name)
    for name in (
        "NORMS",
        "ResnetBlock",
        "resnet_generator",
        "patch_discriminator",
        "patch_receptive_field",
        "init_normal_",
    ):
        assert getattr(lessons.cycle, name) is getattr(lessons.gan_networks, name)
