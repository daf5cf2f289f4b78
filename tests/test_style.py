"""Tests for lessons.style: Gram matrices, style / feature / TV losses, the loss network, transform net."""

from __future__ import annotations

import pickle
import re

import pytest
import torch
import torch.nn.functional as F
import torchvision
from hypothesis import given, settings
from hypothesis import strategies as st

from lessons.style import (
    VGG16_CONV_INDICES,
    VGG16_LAYERS,
    VGG16_POOL_INDICES,
    VGG16_WEIGHTS_FILE,
    WEIGHTS_ENV,
    LossNetwork,
    RandomMultiScaleFeatures,
    TransformNet,
    feature_reconstruction_loss,
    find_vgg16_weights,
    gram_matrix,
    gram_matrix_loop,
    imagenet_normalize,
    optimize_image,
    style_loss,
    style_transfer,
    synthesize_texture,
    total_variation,
    vgg16_features,
)


@pytest.fixture
def no_local_weights(monkeypatch, tmp_path):
    """An empty torch hub directory and no environment variable: only the random network is left."""
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    monkeypatch.delenv(WEIGHTS_ENV, raising=False)
    return tmp_path


def randn(*shape, seed=0, dtype=torch.float64):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


# ------------------------------------------------------------------------------------------------
# Gram matrix
# ------------------------------------------------------------------------------------------------


def test_gram_matrix_references_value():
    # channel rows 0..5 and 6..11: products 55, 145, 451, divided by C*H*W = 12
    got = gram_matrix(torch.arange(12.0).view(1, 2, 2, 3))
    want = torch.tensor([[[4.5833, 12.0833], [12.0833, 37.5833]]])
    torch.testing.assert_close(got, want, atol=1e-4, rtol=0)
    # by hand: channel 0 = 0..5, channel 1 = 6..11; sum 0^2..5^2 = 55, / (C*H*W = 12)
    assert got[0, 0, 0].item() == pytest.approx(55 / 12)


def test_gram_matrix_equals_the_loop_and_the_unnormalized_convention():
    x = randn(2, 3, 4, 5)
    torch.testing.assert_close(gram_matrix(x), gram_matrix_loop(x))
    torch.testing.assert_close(gram_matrix(x, normalize=False), gram_matrix_loop(x) * (3 * 4 * 5))
    # the einsum form F F^T, written independently of bmm
    flat = x.flatten(2)
    torch.testing.assert_close(gram_matrix(x), torch.einsum("bik,bjk->bij", flat, flat) / 60)


@settings(max_examples=20, deadline=None)
@given(
    b=st.integers(1, 3),
    c=st.integers(1, 6),
    h=st.integers(1, 5),
    w=st.integers(1, 5),
    seed=st.integers(0, 10_000),
)
def test_gram_matrix_is_symmetric_positive_semidefinite(b, c, h, w, seed):
    gram = gram_matrix(randn(b, c, h, w, seed=seed))
    assert gram.shape == (b, c, c)
    torch.testing.assert_close(gram, gram.transpose(1, 2))
    eigenvalues = torch.linalg.eigvalsh(gram)
    assert bool((eigenvalues >= -1e-10).all()), eigenvalues


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_gram_matrix_ignores_where_things_are_but_the_feature_loss_does_not(seed):
    x = randn(2, 4, 5, 6, seed=seed)
    perm = torch.randperm(30, generator=torch.Generator().manual_seed(seed + 1))
    if bool((perm == torch.arange(30)).all()):
        perm = perm.roll(1)
    shuffled = x.flatten(2)[:, :, perm].view_as(x)  # the same pixel shuffle for every channel
    torch.testing.assert_close(gram_matrix(shuffled), gram_matrix(x))
    assert feature_reconstruction_loss(shuffled, x).item() > 1e-3


def test_gram_matrix_gradcheck():
    x = randn(2, 3, 3, 4).requires_grad_(True)
    assert torch.autograd.gradcheck(gram_matrix, (x,))
    assert torch.autograd.gradcheck(lambda t: gram_matrix(t, normalize=False), (x,))


def test_gram_normalization_makes_sizes_comparable():
    # a texture and a 2x2 tiling of it have the same normalized Gram matrix, not the same raw one
    x = randn(1, 3, 4, 4)
    tiled = x.repeat(1, 1, 2, 2)
    torch.testing.assert_close(gram_matrix(tiled), gram_matrix(x))
    torch.testing.assert_close(gram_matrix(tiled, normalize=False), 4 * gram_matrix(x, normalize=False))


def test_gatys_johnson_and_pytorch_examples_conventions():
    x, target = randn(1, 2, 2, 3, seed=1), randn(1, 2, 2, 3, seed=2)
    n, m = 2, 6
    raw_diff = gram_matrix(x, normalize=False) - gram_matrix(target, normalize=False)
    gatys = (raw_diff**2).sum() / (4 * n**2 * m**2)
    # for N = 2 and M = 6 the Gatys factor is 1 / (4 * 4 * 36)
    assert 1 / (4 * n**2 * m**2) == pytest.approx(0.0017361, abs=1e-7)
    johnson = style_loss([x], [gram_matrix(target)])  # eq. 4: squared Frobenius norm
    torch.testing.assert_close(gatys, johnson / 4)
    examples = F.mse_loss(gram_matrix(x), gram_matrix(target))  # pytorch/examples: a mean over C*C
    torch.testing.assert_close(examples, johnson / n**2)


# ------------------------------------------------------------------------------------------------
# Losses
# ------------------------------------------------------------------------------------------------


def _style_loss_loop(features, grams, weights):
    """Sum over layers of w * (1 / B) * sum_{b,i,j} (G[b,i,j] - A[i,j])^2 (eq. 4), written out."""
    total = 0.0
    for key, feat in features.items():
        b, c, h, w = feat.shape
        target = grams[key]
        acc = 0.0
        for n in range(b):
            for i in range(c):
                for j in range(c):
                    g = sum(feat[n, i, y, x].item() * feat[n, j, y, x].item() for y in range(h) for x in range(w)) / (
                        c * h * w
                    )
                    a = target[n if target.shape[0] > 1 else 0, i, j].item()
                    acc += (g - a) ** 2
        total += weights[key] * acc / b
    return total


def test_style_loss_equals_the_formula_written_out():
    features = {"relu1_2": randn(2, 3, 4, 4, seed=1), "relu2_2": randn(2, 4, 2, 2, seed=2)}
    grams = {"relu1_2": gram_matrix(randn(1, 3, 5, 5, seed=3)), "relu2_2": gram_matrix(randn(2, 4, 3, 3, seed=4))}
    weights = {"relu1_2": 0.5, "relu2_2": 2.0}
    got = style_loss(features, grams, weights=weights)
    assert got.item() == pytest.approx(_style_loss_loop(features, grams, weights), rel=1e-10)
    # the squared Frobenius norm per image with torch.linalg.matrix_norm, averaged over the batch
    ref = sum(
        weights[k] * torch.linalg.matrix_norm(gram_matrix(features[k]) - grams[k], ord="fro").pow(2).mean()
        for k in features
    )
    torch.testing.assert_close(got, ref)


def test_style_loss_accepts_lists_and_defaults_to_unit_weights():
    feats = [randn(1, 2, 3, 3, seed=1), randn(1, 3, 2, 2, seed=2)]
    grams = [gram_matrix(randn(1, 2, 3, 3, seed=3)), gram_matrix(randn(1, 3, 2, 2, seed=4))]
    as_dict = style_loss({"a": feats[0], "b": feats[1]}, {"a": grams[0], "b": grams[1]})
    torch.testing.assert_close(style_loss(feats, grams), as_dict)
    torch.testing.assert_close(style_loss(feats, grams, weights=[1.0, 0.0]), style_loss(feats[:1], grams[:1]))
    assert style_loss(feats, [gram_matrix(f) for f in feats]).item() == 0.0


def test_losses_gradcheck():
    feats = [randn(2, 2, 3, 3, seed=1).requires_grad_(True), randn(2, 3, 2, 2, seed=2).requires_grad_(True)]
    grams = [gram_matrix(randn(1, 2, 3, 3, seed=3)), gram_matrix(randn(1, 3, 2, 2, seed=4))]
    assert torch.autograd.gradcheck(lambda a, b: style_loss([a, b], grams, weights=[0.7, 1.3]), tuple(feats))
    target = randn(2, 2, 3, 3, seed=5)
    assert torch.autograd.gradcheck(lambda a: feature_reconstruction_loss(a, target), (feats[0],))
    image = randn(2, 3, 4, 5, seed=6).requires_grad_(True)
    assert torch.autograd.gradcheck(total_variation, (image,))
    assert torch.autograd.gradcheck(lambda t: total_variation(t, reduction="sum"), (image,))


def test_feature_reconstruction_loss_is_the_mean_square():
    a, b = randn(2, 3, 4, 5, seed=1), randn(2, 3, 4, 5, seed=2)
    want = ((a - b) ** 2).sum() / (2 * 3 * 4 * 5)  # eq. 2: 1/(CHW) ||.||^2, averaged over the batch
    torch.testing.assert_close(feature_reconstruction_loss(a, b), want)
    assert feature_reconstruction_loss(a, a).item() == 0.0


def test_total_variation_written_out():
    x = randn(2, 3, 4, 5, seed=3)
    sum_ = 0.0
    per_image = []
    for n in range(2):
        sx = sum((x[n, c, i, j + 1] - x[n, c, i, j]).item() ** 2 for c in range(3) for i in range(4) for j in range(4))
        sy = sum((x[n, c, i + 1, j] - x[n, c, i, j]).item() ** 2 for c in range(3) for i in range(3) for j in range(5))
        sum_ += sx + sy
        per_image.append(sx / (3 * 4 * 4) + sy / (3 * 3 * 5))
    assert total_variation(x, reduction="sum").item() == pytest.approx(sum_)
    torch.testing.assert_close(total_variation(x, reduction="none"), torch.tensor(per_image, dtype=x.dtype))
    assert total_variation(x).item() == pytest.approx(sum(per_image) / 2)
    assert total_variation(torch.full((1, 3, 4, 4), 0.3)).item() == 0.0
    assert total_variation(torch.ones(1, 1, 1, 4) * torch.arange(4.0)).item() == pytest.approx(1.0)


def test_imagenet_normalize_matches_the_example_in_0_255():
    x = torch.rand(2, 3, 4, 4, generator=torch.Generator().manual_seed(0))
    y = x.mul(255)  # the example's transform, then normalize_batch: /255, -mean, /std
    mean = torch.tensor([0.485, 0.456, 0.406]).view(-1, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(-1, 1, 1)
    torch.testing.assert_close(imagenet_normalize(x), (y / 255.0 - mean) / std)
    before = x.clone()
    imagenet_normalize(x)
    assert torch.equal(x, before)  # out of place, unlike the example


# ------------------------------------------------------------------------------------------------
# VGG16 layers and the loading path
# ------------------------------------------------------------------------------------------------


def test_layer_indices_match_torchvision_vgg16():
    with torch.device("meta"):
        reference = torchvision.models.vgg16().features  # no weights, nothing allocated
    assert VGG16_LAYERS == {"relu1_2": 3, "relu2_2": 8, "relu3_3": 15, "relu4_3": 22}
    assert [i for i, m in enumerate(reference) if isinstance(m, torch.nn.Conv2d)] == list(VGG16_CONV_INDICES)
    assert [i for i, m in enumerate(reference) if isinstance(m, torch.nn.MaxPool2d)] == list(VGG16_POOL_INDICES)
    for index in VGG16_LAYERS.values():  # each named layer is the ReLU right before a max-pool
        assert isinstance(reference[index], torch.nn.ReLU)
        assert isinstance(reference[index + 1], torch.nn.MaxPool2d)
    ours = vgg16_features()
    assert len(ours) == 23
    for mine, theirs in zip(ours, reference[:23]):
        assert type(mine) is type(theirs)
        if isinstance(mine, torch.nn.Conv2d):
            assert mine.weight.shape == theirs.weight.shape
            assert (mine.kernel_size, mine.padding) == (theirs.kernel_size, theirs.padding)
    assert {k for k in ours.state_dict()} == {k for k in reference[:23].state_dict()}


def _write_vgg16_state(path, *, prefix="features.", seed=0, extra=True):
    """A VGG16 state dict written by the test: torchvision's own features module, random weights."""
    torch.manual_seed(seed)
    features = torchvision.models.vgg.make_layers(torchvision.models.vgg.cfgs["D"])[:23]
    state = {f"{prefix}{k}": v for k, v in features.state_dict().items()}
    if extra:
        state["classifier.6.bias"] = torch.zeros(1000)  # ignored, as in the real file
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, path)
    return features.eval()


def test_loads_local_weights_from_the_torch_hub_cache(no_local_weights, monkeypatch):
    def no_download(*args, **kwargs):
        raise AssertionError("a download was attempted")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_download)
    monkeypatch.setattr(torch.hub, "download_url_to_file", no_download)
    file = no_local_weights / "hub" / "checkpoints" / VGG16_WEIGHTS_FILE
    reference = _write_vgg16_state(file)
    assert find_vgg16_weights() == file
    net = LossNetwork()  # "auto" prefers local VGG16 weights
    assert net.pretrained and net.network == "vgg16" and net.source == f"VGG16 ImageNet weights from {file}"
    assert net.channels == {"relu1_2": 64, "relu2_2": 128, "relu3_3": 256, "relu4_3": 512}
    x = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    got = net(x)
    with torch.no_grad():
        normalized = imagenet_normalize(x)
        for name, index in VGG16_LAYERS.items():
            torch.testing.assert_close(got[name], reference[: index + 1](normalized))
    assert got["relu4_3"].shape == (2, 512, 2, 2)


def test_weights_path_and_environment_variable(no_local_weights, monkeypatch):
    bare = no_local_weights / "bare.pth"
    reference = _write_vgg16_state(bare, prefix="", extra=False, seed=1)  # a features-only state dict
    net = LossNetwork(["relu2_2"], weights_path=bare)
    x = torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        torch.testing.assert_close(net(x)["relu2_2"], reference[:9](imagenet_normalize(x)))
    assert len(net.slices) == 2 and list(net(x)) == ["relu2_2"]
    monkeypatch.setenv(WEIGHTS_ENV, str(bare))
    assert find_vgg16_weights() == bare
    assert LossNetwork(["relu1_2"]).network == "vgg16"
    assert LossNetwork(["relu1_2"], network="random").network == "random"  # forced random
    assert LossNetwork(["relu1_2"], network="course").network == "course"


def test_weights_loading_errors(no_local_weights, monkeypatch):
    with pytest.raises(FileNotFoundError, match="network='vgg16': no local VGG16 weights"):
        LossNetwork(network="vgg16")
    with pytest.raises(FileNotFoundError, match="path: expected a VGG16 state-dict file"):
        LossNetwork(weights_path=no_local_weights / "missing.pth")
    monkeypatch.setenv(WEIGHTS_ENV, str(no_local_weights / "missing.pth"))
    with pytest.raises(FileNotFoundError, match=WEIGHTS_ENV):
        find_vgg16_weights()
    monkeypatch.delenv(WEIGHTS_ENV)
    partial = no_local_weights / "partial.pth"
    torch.save({"features.0.weight": torch.zeros(64, 3, 3, 3)}, partial)
    with pytest.raises(ValueError, match="key 'features.0.bias', it is missing"):
        LossNetwork(weights_path=partial)
    wrong = no_local_weights / "wrong.pth"
    torch.save({"features.0.weight": torch.zeros(64, 1, 3, 3), "features.0.bias": torch.zeros(64)}, wrong)
    with pytest.raises(ValueError, match=r"'features.0.weight' of shape \(64, 3, 3, 3\)"):
        LossNetwork(["relu1_2"], weights_path=wrong)
    not_a_dict = no_local_weights / "list.pth"
    torch.save([torch.zeros(1)], not_a_dict)
    with pytest.raises(ValueError, match="expected a state dict"):
        LossNetwork(weights_path=not_a_dict)


class _Payload:
    pass


def test_weights_are_loaded_with_weights_only(no_local_weights):
    file = no_local_weights / "pickled.pth"
    torch.save({"features.0.weight": _Payload()}, file)  # arbitrary objects are refused
    with pytest.raises(pickle.UnpicklingError):
        LossNetwork(weights_path=file)


# ------------------------------------------------------------------------------------------------
# The random loss network and LossNetwork's behaviour
# ------------------------------------------------------------------------------------------------


def test_course_network_without_local_weights_and_the_random_network(no_local_weights, monkeypatch):
    def no_download(*args, **kwargs):
        raise AssertionError("a download was attempted")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_download)
    course = LossNetwork()  # "auto" falls back to the shipped course network
    assert course.network == "course" and course.pretrained and course.min_size == 8
    assert course.channels == {"relu1_2": 16, "relu2_2": 32, "relu3_3": 64, "relu4_3": 64}
    net = LossNetwork(network="random")
    assert not net.pretrained and net.source == "random multi-scale filters (seed 0)"
    assert net.channels == {"relu1_2": 32, "relu2_2": 64, "relu3_3": 64, "relu4_3": 64}
    x = torch.rand(2, 3, 32, 48, generator=torch.Generator().manual_seed(0), requires_grad=True)
    out = net(x)
    assert list(out) == list(VGG16_LAYERS)
    for name, stride in zip(VGG16_LAYERS, (1, 2, 4, 8)):
        assert out[name].shape == (2, net.channels[name], 32 // stride, 48 // stride)
        assert bool((out[name] >= 0).all())  # after a ReLU
    assert all(not p.requires_grad for p in net.parameters()) and not net.training
    net.train()
    assert not net.training  # stays fixed
    out["relu4_3"].sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0  # gradients reach the image
    again = LossNetwork(network="random", seed=0)(x.detach())
    other = LossNetwork(network="random", seed=1)(x.detach())
    torch.testing.assert_close(again["relu3_3"], out["relu3_3"].detach())
    assert not torch.allclose(other["relu3_3"], again["relu3_3"])


def test_random_network_is_multiscale_and_calibrated():
    rnet = RandomMultiScaleFeatures(seed=3)
    conv = rnet.stages[1][1]
    assert conv.weight.shape == (64, 32, 7, 7)
    support = conv.weight.abs().sum(dim=1)  # (C_out, 7, 7)
    widths = [int((s.sum(0) > 0).sum()) for s in support]  # width of each filter's support
    assert widths[:3] == [3, 5, 7] and [widths.count(k) for k in (3, 5, 7)] == [22, 21, 21]
    # the constructor draws its calibration image first; every stage then has unit RMS on it
    x = imagenet_normalize(torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(3)))
    with torch.no_grad():
        for stage in rnet.stages:
            x = stage(x)
            assert x.pow(2).mean().sqrt().item() == pytest.approx(1.0, rel=1e-4)


def test_loss_network_errors(no_local_weights):
    with pytest.raises(ValueError, match="layers: expected at least one"):
        LossNetwork([])
    with pytest.raises(ValueError, match="layers: expected one of"):
        LossNetwork(["relu5_3"])
    with pytest.raises(ValueError, match="distinct"):
        LossNetwork(["relu1_2", "relu1_2"])
    with pytest.raises(TypeError, match="layers: expected a list or tuple"):
        LossNetwork("relu1_2")
    with pytest.raises(ValueError, match="network: expected one of"):
        LossNetwork(network="vgg19")
    net = LossNetwork(network="random")
    with pytest.raises(ValueError, match=r"images: expected H, W >= 32"):
        net(torch.rand(1, 3, 16, 16))
    with pytest.raises(ValueError, match=r"images: expected RGB images \(B, 3, H, W\)"):
        net(torch.rand(1, 1, 32, 32))
    with pytest.raises(ValueError, match=r"images: expected a tensor of shape \(B, C, H, W\)"):
        net(torch.rand(3, 32, 32))
    with pytest.raises(ValueError, match="channels: expected 4 stage widths"):
        RandomMultiScaleFeatures(channels=(8, 8))
    with pytest.raises(ValueError, match="kernel_sizes: expected odd"):
        RandomMultiScaleFeatures(kernel_sizes=(2, 4))


# ------------------------------------------------------------------------------------------------
# Transform net, texture synthesis, style transfer
# ------------------------------------------------------------------------------------------------


def test_transform_net_shapes_and_range():
    torch.manual_seed(0)
    net = TransformNet()
    y = net(torch.rand(2, 3, 16, 20))
    assert y.shape == (2, 3, 16, 20) and bool(((y >= 0) & (y <= 1)).all())
    sr = TransformNet(upscale=4, channels=(4, 4, 8), num_residual=1, outer_kernel=3)
    x = torch.rand(1, 3, 6, 5)
    bicubic = F.interpolate(x, scale_factor=4, mode="bicubic", align_corners=False).clamp(0, 1)
    torch.testing.assert_close(sr(x), bicubic)  # the untrained SR net is bicubic upsampling
    with pytest.raises(ValueError, match="divisible by 4"):
        net(torch.rand(1, 3, 10, 12))
    with pytest.raises(ValueError, match="upscale: expected a power of two"):
        TransformNet(upscale=3)
    with pytest.raises(ValueError, match="channels: expected 3 positive widths"):
        TransformNet(channels=(8, 16))
    with pytest.raises(ValueError, match="outer_kernel: expected an odd int"):
        TransformNet(outer_kernel=4)
    with pytest.raises(ValueError, match="num_residual: expected an int >= 0"):
        TransformNet(num_residual=-1)


def test_texture_synthesis_and_style_transfer_reduce_their_losses(no_local_weights):
    net = LossNetwork(["relu1_2", "relu2_2"], network="random")
    style = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    image, history = synthesize_texture(style, net, size=16, steps=15, lr=0.05, seed=1)
    again, _ = synthesize_texture(style, net, size=16, steps=15, lr=0.05, seed=torch.Generator().manual_seed(1))
    torch.testing.assert_close(again, image)  # an int seed and a generator seeded with it agree
    assert image.shape == (1, 3, 16, 16) and len(history["total"]) == 16
    assert history["total"][-1] < 0.5 * history["total"][0]
    assert history["style/relu1_2"][-1] < history["style/relu1_2"][0]
    assert bool(((image >= 0) & (image <= 1)).all())
    only_first, h1 = synthesize_texture(
        style, net, size=(16, 24), steps=2, layer_weights={"relu1_2": 1.0, "relu2_2": 0}
    )
    assert only_first.shape == (1, 3, 16, 24) and "style/relu2_2" not in h1
    content = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(2))
    out, hist = style_transfer(content, style, net, steps=10, content_weight=1.0, style_weight=1e4, lr=0.01)
    assert out.shape == content.shape and hist["content"][0] == 0.0  # starts at the content image
    assert hist["style"][-1] < hist["style"][0] and hist["total"][-1] < hist["total"][0]


def test_optimization_errors(no_local_weights):
    net = LossNetwork(["relu1_2"], network="random")
    style = torch.rand(1, 3, 8, 8)
    with pytest.raises(TypeError, match="seed: expected an int or a torch.Generator"):
        synthesize_texture(style, net, seed=0.5)
    with pytest.raises(ValueError, match="layer_weights: expected layers among"):
        synthesize_texture(style, net, layer_weights={"relu2_2": 1.0})
    with pytest.raises(ValueError, match="at least one positive weight"):
        synthesize_texture(style, net, layer_weights={"relu1_2": 0.0})
    with pytest.raises(ValueError, match="steps: expected an int >= 1"):
        synthesize_texture(style, net, steps=0)
    with pytest.raises(ValueError, match="content_layer"):
        style_transfer(style, style, net, content_layer="relu2_2")
    with pytest.raises(ValueError, match="tv_weight: expected a non-negative number"):
        style_transfer(style, style, net, content_layer="relu1_2", tv_weight=-1.0)
    two = torch.rand(2, 3, 8, 8)  # documented as one image: a batch is refused, not half-supported
    with pytest.raises(ValueError, match=r"content: expected one image, shape \(1, 3, H, W\)"):
        style_transfer(two, style, net, content_layer="relu1_2")
    with pytest.raises(ValueError, match="style: expected one image"):
        style_transfer(style, two, net, content_layer="relu1_2")
    with pytest.raises(ValueError, match="style: expected one image"):
        synthesize_texture(two, net)
    with pytest.raises(TypeError, match="steps: expected an int"):
        synthesize_texture(style, net, steps=2.0)


# ------------------------------------------------------------------------------------------------
# Error paths of the pure functions
# ------------------------------------------------------------------------------------------------


def test_gram_and_loss_errors():
    with pytest.raises(ValueError, match=r"features: expected a tensor of shape \(B, C, H, W\), got shape \(2, 3, 4\)"):
        gram_matrix(torch.rand(2, 3, 4))
    with pytest.raises(ValueError, match="features: expected a non-empty feature map"):
        gram_matrix(torch.rand(1, 2, 0, 3))
    with pytest.raises(TypeError, match="features: expected a floating-point tensor"):
        gram_matrix(torch.ones(1, 2, 3, 3, dtype=torch.long))
    with pytest.raises(TypeError, match="features: expected a torch.Tensor"):
        gram_matrix([[1.0]])
    f = {"a": torch.rand(2, 3, 4, 4)}
    g = {"a": gram_matrix(torch.rand(1, 3, 4, 4))}
    with pytest.raises(ValueError, match="features: expected at least one layer, got an empty dict"):
        style_loss({}, {})
    with pytest.raises(ValueError, match="style_grams: expected the same layers"):
        style_loss(f, {"b": g["a"]})
    with pytest.raises(ValueError, match="mismatched batch sizes"):
        style_loss(f, {"a": gram_matrix(torch.rand(3, 3, 4, 4))})
    with pytest.raises(ValueError, match=r"style_grams\['a'\]: expected shape \(B, 3, 3\)"):
        style_loss(f, {"a": torch.rand(1, 2, 2)})
    with pytest.raises(ValueError, match=r"style_grams\['a'\]: expected a tensor of shape \(B, C, C\)"):
        style_loss(f, {"a": torch.rand(3, 3)})
    with pytest.raises(ValueError, match=r"weights\['a'\]: expected a non-negative number"):
        style_loss(f, g, weights={"a": -1.0})
    with pytest.raises(ValueError, match="weights: expected the layers"):
        style_loss(f, g, weights={"b": 1.0})
    with pytest.raises(TypeError, match="features: expected a dict"):
        style_loss(torch.rand(1, 3, 4, 4), g)
    with pytest.raises(ValueError, match=r"features\['a'\]: expected a tensor of shape \(B, C, H, W\)"):
        style_loss({"a": torch.rand(3, 4, 4)}, g)
    a = torch.rand(2, 3, 4, 4)
    with pytest.raises(ValueError, match="mismatched batch sizes"):
        feature_reconstruction_loss(a, torch.rand(1, 3, 4, 4))
    with pytest.raises(ValueError, match="must be of the same size"):
        feature_reconstruction_loss(a, torch.rand(2, 3, 4, 5))
    with pytest.raises(TypeError, match="target: expected the same dtype"):
        feature_reconstruction_loss(a, a.double())
    with pytest.raises(ValueError, match="reduction: expected one of"):
        total_variation(a, reduction="max")


# ------------------------------------------------------------------------------------------------
# Exercise checks (notebook 12)
# ------------------------------------------------------------------------------------------------


def test_check_gram_matrix(capsys):
    from lessons.exercises import ExerciseFailure
    from lessons.exercises.style import check_gram_matrix

    assert check_gram_matrix(gram_matrix).passed
    assert "✅ Exercise 12.1" in capsys.readouterr().out

    def stub(features):
        raise NotImplementedError("Exercise 12.1: write gram_matrix (see the hint above)")

    assert check_gram_matrix(stub).status == "not attempted"
    assert "not attempted" in capsys.readouterr().out

    def unnormalized(features):
        flat = features.flatten(2)
        return flat @ flat.transpose(1, 2)

    def by_positions_only(features):
        b, c, h, w = features.shape
        flat = features.reshape(b, c, h * w)
        return flat @ flat.transpose(1, 2) / (h * w)

    def positions_gram(features):  # F^T F: (B, HW, HW) instead of (B, C, C)
        flat = features.flatten(2)
        return flat.transpose(1, 2) @ flat / flat.shape[1:].numel()

    def crashes(features):
        return features.view(features.shape[0], -1, 0)

    def mixes_the_batch(features):
        b, c, h, w = features.shape
        flat = features.transpose(0, 1).reshape(c, b * h * w)  # all images in one Gram matrix
        return (flat @ flat.T / (c * h * w * b)).expand(b, c, c)

    for wrong, message, hint in [
        (unnormalized, "case 2 of 8", "divided by the number of values"),
        (by_positions_only, "case 3 of 8", "counts the channels too"),
        (positions_gram, "case 2 of 8", r"C x C \(here 1 x 1"),
        (mixes_the_batch, "case 6 of 8", "do not mix the images"),
        (crashes, "your function raised", ""),
    ]:
        with pytest.raises(ExerciseFailure, match=message) as failure:
            check_gram_matrix(wrong)
        assert re.search(hint, str(failure.value))


def test_check_style_loss(capsys):
    from lessons.exercises import ExerciseFailure
    from lessons.exercises.style import check_style_loss

    assert check_style_loss(style_loss).passed
    assert "✅ Exercise 12.2" in capsys.readouterr().out

    def stub(features, style_grams, weights):
        raise NotImplementedError("Exercise 12.2: write style_loss (see the hint above)")

    assert check_style_loss(stub).status == "not attempted"
    assert "not attempted" in capsys.readouterr().out

    def norm_not_squared(features, style_grams, weights):
        return sum(
            weights[k] * torch.linalg.matrix_norm(gram_matrix(f) - style_grams[k]).mean() for k, f in features.items()
        )

    def mean_over_entries(features, style_grams, weights):  # the pytorch/examples convention
        return sum(weights[k] * ((gram_matrix(f) - style_grams[k]) ** 2).mean() for k, f in features.items())

    def unweighted(features, style_grams, weights):
        return sum(((gram_matrix(f) - style_grams[k]) ** 2).sum((1, 2)).mean() for k, f in features.items())

    def summed_over_batch(features, style_grams, weights):
        return sum(weights[k] * ((gram_matrix(f) - style_grams[k]) ** 2).sum() for k, f in features.items())

    def first_image_only(features, style_grams, weights):
        return sum(weights[k] * ((gram_matrix(f[:1]) - style_grams[k]) ** 2).sum() for k, f in features.items())

    for wrong, message, hint in [
        (norm_not_squared, "case 2 of 7", "no square root"),
        (mean_over_entries, "case 3 of 7", "a mean over them"),
        (unweighted, "case 4 of 7", "by its weight"),
        (summed_over_batch, "case 6 of 7", "mean over the batch, not the sum"),
        (first_image_only, "case 6 of 7", "every image of the batch"),
    ]:
        with pytest.raises(ExerciseFailure, match=message) as failure:
            check_style_loss(wrong)
        assert hint in str(failure.value)


def test_optimize_image_is_torch_adam_with_a_clamp():
    target = torch.rand(1, 3, 5, 5, generator=torch.Generator().manual_seed(0)) * 1.4 - 0.2  # partly outside [0, 1]
    start = torch.full((1, 3, 5, 5), 0.5)

    def loss_fn(x):
        return {"fit": ((x - target) ** 2).sum(), "pull": 0.1 * x.sum()}

    ours, history = optimize_image(start, loss_fn, steps=7, lr=0.05)
    x = start.clone().requires_grad_(True)
    adam = torch.optim.Adam([x], lr=0.05)
    for _ in range(7):
        adam.zero_grad()
        sum(loss_fn(x).values()).backward()
        adam.step()
        with torch.no_grad():
            x.clamp_(0.0, 1.0)
    torch.testing.assert_close(ours, x.detach())
    assert len(history["total"]) == 8 and set(history) == {"total", "fit", "pull"}
    assert history["total"][-1] == pytest.approx(sum(v.item() for v in loss_fn(ours).values()), rel=1e-5)
    assert torch.equal(start, torch.full((1, 3, 5, 5), 0.5))  # the start image is not modified
    with pytest.raises(TypeError, match="loss_fn: expected a scalar Tensor"):
        optimize_image(start, lambda x: x, steps=1)


# ------------------------------------------------------------------------------------------------
# Band-pass detail: the super-resolution measure
# ------------------------------------------------------------------------------------------------


def test_band_pass_is_a_difference_of_torchvision_gaussian_blurs():
    from torchvision.transforms.functional import gaussian_blur

    from lessons.style import band_pass

    x = randn(2, 3, 20, 17, seed=3)
    want = gaussian_blur(x, kernel_size=5, sigma=0.5) - gaussian_blur(x, kernel_size=13, sigma=2.0)
    torch.testing.assert_close(band_pass(x), want)  # radius ceil(3 sigma): kernels 5 and 13


def test_band_error_hand_case_and_what_it_rewards():
    from lessons.style import band_error

    target = randn(1, 3, 24, 24, seed=1)
    flat = torch.zeros(1, 3, 24, 24, dtype=torch.float64)
    result = band_error(torch.cat([target, flat, 2 * target]), target)
    torch.testing.assert_close(result.energy_ratio, torch.tensor([1.0, 0.0, 4.0], dtype=torch.float64))
    torch.testing.assert_close(result.error, torch.tensor([0.0, 1.0, 1.0], dtype=torch.float64))
    # a smooth image: blurring lowers the band energy; adding noise raises it AND the error
    smooth = F.avg_pool2d(F.interpolate(randn(1, 3, 8, 8, seed=2), size=(32, 32), mode="bilinear"), 3, 1, 1)
    blurred = F.avg_pool2d(smooth, 5, 1, 2, count_include_pad=False)
    noisy = smooth + 0.05 * randn(1, 3, 32, 32, seed=4)
    assert band_error(blurred, smooth).energy_ratio.item() < 0.7
    noisy_result = band_error(noisy, smooth)
    assert noisy_result.energy_ratio.item() > 1.0 and noisy_result.error.item() > 0.0
    # unlike total variation, which calls the noisy image "sharper" than the true one
    assert total_variation(noisy).item() > total_variation(smooth).item()


def test_band_error_gradcheck_and_errors():
    from lessons.style import band_error, band_pass

    x = randn(1, 2, 9, 9, seed=5).requires_grad_(True)
    target = randn(1, 2, 9, 9, seed=6)
    assert torch.autograd.gradcheck(lambda t: band_error(t, target, sigmas=(0.5, 1.0)).error, (x,))
    assert torch.autograd.gradcheck(lambda t: band_pass(t, sigmas=(0.5, 1.0)), (x,))
    with pytest.raises(ValueError, match="sigmas: expected sigma_1 < sigma_2"):
        band_pass(target, sigmas=(1.0, 0.5))
    with pytest.raises(TypeError, match="sigmas: expected a pair"):
        band_pass(target, sigmas=1.0)
    with pytest.raises(ValueError, match="sigmas: expected a positive"):
        band_pass(target, sigmas=(0.0, 1.0))
    with pytest.raises(ValueError, match="images: expected H, W > 6"):
        band_pass(randn(1, 2, 6, 6), sigmas=(0.5, 2.0))
    with pytest.raises(ValueError, match="target: expected shape"):
        band_error(randn(2, 3, 16, 16), randn(2, 3, 16, 15))
    with pytest.raises(TypeError, match="images"):
        band_pass(torch.ones(1, 3, 16, 16, dtype=torch.long))
