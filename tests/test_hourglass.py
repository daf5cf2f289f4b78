"""Tests for lessons.hourglass: the blocks, parity with pytorch-pose's HourglassNet, the loss, and
the empirical receptive field.

The reference network below is a transcription, written for this test, of the published
architecture of ``bearpaw/pytorch-pose`` (``pose/models/hourglass.py``: ``Bottleneck`` with
expansion 2, ``Hourglass`` with its ``hg[n-1][0..3]`` residual lists, ``HourglassNet`` with its stem
``conv7x7 s2 -> bn -> relu -> layer1 -> maxpool -> layer2 -> layer3``, per-stack
``hg -> res -> fc -> score`` and the remapping ``x + fc_(y) + score_(score)``). The stem widths
(64, 128) and ``num_feats`` (128) are parameters here so that the structure can also be compared
at a small width.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from lessons.hourglass import (
    Hourglass,
    Residual,
    StackedHourglass,
    conv_receptive_field,
    count_parameters,
    heatmap_cross_entropy,
    heatmap_mse,
    intermediate_loss,
    receptive_field,
)

# ----------------------------------------------------------------------------- the reference


class RefBottleneck(nn.Module):
    expansion = 2

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(inplanes)
        self.conv1 = nn.Conv2d(inplanes, planes, kernel_size=1, bias=True)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=stride, padding=1, bias=True)
        self.bn3 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 2, kernel_size=1, bias=True)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        residual = x
        out = self.conv1(self.relu(self.bn1(x)))
        out = self.conv2(self.relu(self.bn2(out)))
        out = self.conv3(self.relu(self.bn3(out)))
        if self.downsample is not None:
            residual = self.downsample(x)
        return out + residual


class RefHourglass(nn.Module):
    def __init__(self, block, num_blocks, planes, depth):
        super().__init__()
        self.depth = depth
        hg = []
        for i in range(depth):
            res = [self._make_residual(block, num_blocks, planes) for _ in range(3)]
            if i == 0:
                res.append(self._make_residual(block, num_blocks, planes))
            hg.append(nn.ModuleList(res))
        self.hg = nn.ModuleList(hg)

    @staticmethod
    def _make_residual(block, num_blocks, planes):
        return nn.Sequential(*[block(planes * block.expansion, planes) for _ in range(num_blocks)])

    def _forward(self, n, x):
        up1 = self.hg[n - 1][0](x)
        low1 = self.hg[n - 1][1](F.max_pool2d(x, 2, stride=2))
        low2 = self._forward(n - 1, low1) if n > 1 else self.hg[n - 1][3](low1)
        low3 = self.hg[n - 1][2](low2)
        return up1 + F.interpolate(low3, scale_factor=2)

    def forward(self, x):
        return self._forward(self.depth, x)


class RefHourglassNet(nn.Module):
    def __init__(
        self, block, num_stacks=2, num_blocks=4, num_classes=16, inplanes=64, num_feats=128, in_channels=3, depth=4
    ):
        super().__init__()
        self.inplanes, self.num_feats, self.num_stacks = inplanes, num_feats, num_stacks
        self.conv1 = nn.Conv2d(in_channels, self.inplanes, kernel_size=7, stride=2, padding=3, bias=True)
        self.bn1 = nn.BatchNorm2d(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = self._make_residual(block, self.inplanes, 1)
        self.layer2 = self._make_residual(block, self.inplanes, 1)
        self.layer3 = self._make_residual(block, self.num_feats, 1)
        self.maxpool = nn.MaxPool2d(2, stride=2)
        ch = self.num_feats * block.expansion
        hg, res, fc, score, fc_, score_ = [], [], [], [], [], []
        for i in range(num_stacks):
            hg.append(RefHourglass(block, num_blocks, self.num_feats, depth))
            res.append(self._make_residual(block, self.num_feats, num_blocks))
            fc.append(nn.Sequential(nn.Conv2d(ch, ch, kernel_size=1, bias=True), nn.BatchNorm2d(ch), self.relu))
            score.append(nn.Conv2d(ch, num_classes, kernel_size=1, bias=True))
            if i < num_stacks - 1:
                fc_.append(nn.Conv2d(ch, ch, kernel_size=1, bias=True))
                score_.append(nn.Conv2d(num_classes, ch, kernel_size=1, bias=True))
        self.hg, self.res, self.fc = nn.ModuleList(hg), nn.ModuleList(res), nn.ModuleList(fc)
        self.score, self.fc_, self.score_ = nn.ModuleList(score), nn.ModuleList(fc_), nn.ModuleList(score_)

    def _make_residual(self, block, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * block.expansion, kernel_size=1, stride=stride, bias=True)
            )
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        out = []
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer1(x)
        x = self.maxpool(x)
        x = self.layer3(self.layer2(x))
        for i in range(self.num_stacks):
            y = self.fc[i](self.res[i](self.hg[i](x)))
            score = self.score[i](y)
            out.append(score)
            if i < self.num_stacks - 1:
                x = x + self.fc_[i](y) + self.score_[i](score)
        return out


def reference_name(name: str, depth: int) -> str:
    """Our parameter name -> pytorch-pose's: the recursion ``low2.`` becomes the level index."""
    parts = name.split(".")
    if parts[0] != "hg":
        if parts[0].startswith("layer") and parts[1] == "downsample":
            return ".".join([parts[0], "0", "downsample", "0", *parts[2:]])  # Sequential(block) / Sequential(conv)
        if parts[0].startswith("layer"):
            return ".".join([parts[0], "0", *parts[1:]])
        return name
    stack, rest = parts[1], parts[2:]
    level = depth
    while rest[0] == "low2" and level > 1:
        rest, level = rest[1:], level - 1
    slot = {"up1": 0, "low1": 1, "low3": 2, "low2": 3}[rest[0]]
    return ".".join(["hg", stack, "hg", str(level - 1), str(slot), *rest[1:]])


def ref_bottleneck_params(inplanes, planes, projection):
    mid, out = planes, 2 * planes
    p = 2 * inplanes + inplanes * mid + mid  # bn1, conv1
    p += 2 * mid + 9 * mid * mid + mid  # bn2, conv2
    p += 2 * mid + mid * out + out  # bn3, conv3
    return p + (inplanes * out + out if projection else 0)


# ----------------------------------------------------------------------------- parity with pytorch-pose


@pytest.mark.parametrize("num_stacks,num_blocks", [(1, 1), (2, 2), (3, 1)])
def test_parameter_count_equals_pytorch_pose(num_stacks, num_blocks):
    ours = StackedHourglass(num_stacks, 16, 256, 4, in_channels=3, num_blocks=num_blocks)
    ref = RefHourglassNet(RefBottleneck, num_stacks=num_stacks, num_blocks=num_blocks, num_classes=16)
    assert count_parameters(ours) == count_parameters(ref)
    # the same tensors, one by one, under the mapped names
    ref_shapes = {k: v.shape for k, v in ref.named_parameters()}
    ours_shapes = {reference_name(k, 4): v.shape for k, v in ours.named_parameters()}
    assert ours_shapes == ref_shapes


def test_parameter_count_by_formula_hg2():
    """hg2 (2 stacks, 1 block, 16 joints) counted from the architecture by hand, bottleneck by bottleneck."""
    c, k = 256, 16
    res_cc = ref_bottleneck_params(c, c // 2, False)
    stem = 3 * 49 * 64 + 64 + 2 * 64  # conv1 + bn1
    # layer1: 64 -> 128; layer2 is built with planes = inplanes = 128: 128 -> 256; layer3: 256 -> 256
    stem += ref_bottleneck_params(64, 64, True) + ref_bottleneck_params(128, 128, True)
    stem += ref_bottleneck_params(256, 128, False)
    hourglass = (3 * 4 + 1) * res_cc
    head = res_cc + (c * c + c + 2 * c) + (c * k + k)
    remap = (c * c + c) + (k * c + c)
    expected = stem + 2 * (hourglass + head) + remap
    ours = StackedHourglass(2, k, c, 4, in_channels=3)
    assert count_parameters(ours) == expected
    assert 6_700_000 < expected < 6_800_000  # pytorch-pose's hg2 is the "6.7M parameter" model


@pytest.mark.parametrize("num_stacks,num_blocks,depth", [(1, 1, 2), (2, 2, 3)])
def test_same_function_as_pytorch_pose_with_copied_weights(num_stacks, num_blocks, depth):
    torch.manual_seed(0)
    ref = RefHourglassNet(
        RefBottleneck, num_stacks, num_blocks, num_classes=5, inplanes=4, num_feats=8, in_channels=1, depth=depth
    ).double()
    ours = StackedHourglass(num_stacks, 5, 16, depth, in_channels=1, num_blocks=num_blocks).double()
    ref_params = dict(ref.named_parameters())
    ref_buffers = dict(ref.named_buffers())
    with torch.no_grad():
        for name, p in ours.named_parameters():
            p.copy_(ref_params[reference_name(name, depth)])
        for m in ref.modules():  # non-trivial running statistics, to test eval mode too
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
        for name, b in ours.named_buffers():
            b.copy_(ref_buffers[reference_name(name, depth)])
    x = torch.randn(3, 1, 32, 32, dtype=torch.float64)
    for train in (True, False):
        ref.train(train)
        ours.train(train)
        got, want = ours(x), ref(x)
        assert len(got) == len(want) == num_stacks
        for g, w in zip(got, want):
            assert g.shape == (3, 5, 8, 8)
            torch.testing.assert_close(g, w, rtol=1e-10, atol=1e-10)


# ----------------------------------------------------------------------------- blocks


def test_residual_formula_written_out():
    torch.manual_seed(1)
    block = Residual(4, 6).double().eval()
    x = torch.randn(2, 4, 5, 5, dtype=torch.float64)

    def bn_relu(bn, t):
        mean, var = bn.running_mean[None, :, None, None], bn.running_var[None, :, None, None]
        w, b = bn.weight[None, :, None, None], bn.bias[None, :, None, None]
        return torch.clamp((t - mean) / torch.sqrt(var + bn.eps) * w + b, min=0)

    h = F.conv2d(bn_relu(block.bn1, x), block.conv1.weight, block.conv1.bias)
    h = F.conv2d(bn_relu(block.bn2, h), block.conv2.weight, block.conv2.bias, padding=1)
    h = F.conv2d(bn_relu(block.bn3, h), block.conv3.weight, block.conv3.bias)
    want = h + F.conv2d(x, block.downsample.weight, block.downsample.bias)
    torch.testing.assert_close(block(x), want)
    assert block.conv1.out_channels == 3 and block.conv2.kernel_size == (3, 3)
    assert Residual(6, 6).downsample is None


def test_residual_gradcheck():
    torch.manual_seed(2)
    block = Residual(2, 4).double().eval()
    x = torch.randn(1, 2, 4, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(block, (x,))


def test_hourglass_recursion_by_hand_depth_one():
    """depth 1 on a 2x2 map, merge add: out = Res(x) + upsample(Res(Res(Res(pool(x)))))."""
    torch.manual_seed(3)
    hg = Hourglass(1, 4).double().eval()
    x = torch.randn(1, 4, 2, 2, dtype=torch.float64)
    low = hg.low3(hg.low2(hg.low1(x.amax(dim=(-2, -1), keepdim=True))))  # (1, 4, 1, 1)
    torch.testing.assert_close(hg(x), hg.up1(x) + low.expand(1, 4, 2, 2))


def test_hourglass_merges():
    torch.manual_seed(4)
    x = torch.randn(2, 8, 8, 8, dtype=torch.float64)
    add = Hourglass(2, 8).double().eval()
    none = Hourglass(2, 8, merge="none").double().eval()
    concat = Hourglass(2, 8, merge="concat").double().eval()
    assert none.up1 is None and none.low2.up1 is None
    assert concat.fuse.in_channels == 16 and concat.fuse.out_channels == 8
    for hg in (add, none, concat):
        assert hg(x).shape == x.shape
    # merge="none" is the add hourglass with its skip branches removed
    none.load_state_dict({k: v for k, v in add.state_dict().items() if "up1" not in k})
    with torch.no_grad():
        inner = add.low2.low3(add.low2.low2(add.low2.low1(F.max_pool2d(add.low1(F.max_pool2d(x, 2)), 2))))
        want = F.interpolate(add.low3(F.interpolate(inner, scale_factor=2)), scale_factor=2)
    torch.testing.assert_close(none(x), want)
    # the channel count at the join: C for add, 2C for concat
    assert [r["join_channels"] for r in add.levels(8)] == [8, 8, 0]
    assert [r["join_channels"] for r in concat.levels(8)] == [16, 16, 0]
    assert [r["resolution"] for r in add.levels((8, 16))] == [(8, 16), (4, 8), (2, 4)]
    assert sum(r["parameters"] for r in add.levels(8)) == count_parameters(add)
    assert sum(r["parameters"] for r in concat.levels(8)) == count_parameters(concat)
    assert count_parameters(concat) - count_parameters(add) == 2 * (16 * 8 + 8)


def test_receptive_field_moves_with_the_output_pixel():
    """Property: for a stack of unpadded convolutions, moving the output pixel by d moves the field by d."""
    torch.manual_seed(5)
    convs = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Conv2d(2, 2, 5), nn.Conv2d(2, 1, 3))
    a = receptive_field(convs, 40, location=(10, 12))
    b = receptive_field(convs, 40, location=(13, 5))
    assert a.size == b.size == (9, 9)
    assert torch.equal(torch.roll(a.mask, shifts=(-7, 3), dims=(0, 1)), b.mask)


def test_stacked_hourglass_outputs_and_remap():
    torch.manual_seed(6)
    net = StackedHourglass(3, 5, 8, 2, in_channels=1).eval()
    out = net(torch.randn(2, 1, 32, 32))
    assert len(out) == 3 and all(o.shape == (2, 5, 8, 8) for o in out)
    assert len(net.fc_) == len(net.score_) == 2


# ----------------------------------------------------------------------------- loss


def test_heatmap_mse_is_joints_mse_loss_when_all_labelled():
    g = torch.Generator().manual_seed(7)
    pred, target = torch.rand(3, 4, 5, 6, generator=g), torch.rand(3, 4, 5, 6, generator=g)
    w = torch.ones(3, 4, 1)
    # pytorch-pose JointsMSELoss: (1/K) sum_k 0.5 * mean_b,pixels((pred_k * w_k - gt_k * w_k)^2)
    p, t = pred.reshape(3, 4, -1), target.reshape(3, 4, -1)
    ref = sum(0.5 * F.mse_loss(p[:, k] * w[:, k], t[:, k] * w[:, k]) for k in range(4)) / 4
    torch.testing.assert_close(heatmap_mse(pred, target), ref)


def test_heatmap_mse_ignores_unlabelled_maps():
    pred, target = torch.zeros(1, 2, 2, 2), torch.zeros(1, 2, 2, 2)
    pred[0, 1] = 10.0  # a wrong map for an unlabelled keypoint
    pred[0, 0, 0, 0] = 2.0  # one pixel off by 2 on the labelled one: 0.5 * 4 / 4 = 0.5
    visible = torch.tensor([[True, False]])
    assert heatmap_mse(pred, target, visible).item() == pytest.approx(0.5)


def test_intermediate_loss_sums_stacks_by_hand_and_gradcheck():
    t = torch.zeros(1, 1, 2, 2, dtype=torch.float64)
    outs = [t + 1.0, t + 3.0]
    assert intermediate_loss(outs, t).item() == pytest.approx(0.5 * 1 + 0.5 * 9)
    g = torch.Generator().manual_seed(8)
    a = torch.rand(2, 3, 4, 4, generator=g, dtype=torch.float64, requires_grad=True)
    b = torch.rand(2, 3, 4, 4, generator=g, dtype=torch.float64, requires_grad=True)
    target = torch.rand(2, 3, 4, 4, generator=g, dtype=torch.float64)
    vis = torch.tensor([[True, False, True], [True, True, True]])
    assert torch.autograd.gradcheck(lambda x, y: intermediate_loss([x, y], target, vis), (a, b))
    # the gradient reaches the first stack only through its own term
    loss = intermediate_loss([a, b], target, vis)
    (ga,) = torch.autograd.grad(loss, a)
    assert ga[0, 1].abs().sum() == 0 and ga[0, 0].abs().sum() > 0


def test_heatmap_cross_entropy_against_torch_soft_target_cross_entropy():
    g = torch.Generator().manual_seed(12)
    pred = torch.randn(2, 3, 4, 5, generator=g, dtype=torch.float64)
    target = torch.rand(2, 3, 4, 5, generator=g, dtype=torch.float64)
    vis = torch.tensor([[True, True, False], [True, False, True]])
    probs = target.flatten(2) / target.flatten(2).sum(-1, keepdim=True)
    per_map = F.cross_entropy(pred.flatten(2)[vis], probs[vis], reduction="none")  # soft-label cross-entropy
    torch.testing.assert_close(heatmap_cross_entropy(pred, target, vis), per_map.mean())
    torch.testing.assert_close(intermediate_loss([pred, pred], target, vis, loss="cross-entropy"), 2 * per_map.mean())
    # invariant to the target's scale and to a constant added to the logits
    torch.testing.assert_close(heatmap_cross_entropy(pred + 3.0, 5 * target, vis), per_map.mean())
    x = pred.clone().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda p: heatmap_cross_entropy(p, target, vis), (x,))


# ----------------------------------------------------------------------------- receptive field


def conv_stack_rf(layers):
    """Textbook receptive field of a conv stack: r += (k - 1) * jump; jump *= stride."""
    r, jump = 1, 1
    for k, s in layers:
        r += (k - 1) * jump
        jump *= s
    return r


@pytest.mark.parametrize(
    "layers",
    [[(3, 1)], [(3, 1)] * 4, [(7, 2), (3, 1), (3, 2), (3, 1)], [(5, 1), (1, 1), (3, 2), (3, 2), (3, 1)]],
)
def test_receptive_field_of_conv_stacks(layers):
    torch.manual_seed(9)
    convs = nn.Sequential(*[nn.Conv2d(2 if i else 1, 2, k, stride=s) for i, (k, s) in enumerate(layers)])
    want = conv_stack_rf(layers)
    assert conv_receptive_field(layers) == want
    rf = receptive_field(convs, 64)
    assert rf.size == (want, want)
    x0, y0, x1, y1 = rf.box
    assert rf.mask.sum() == want * want and rf.mask[y0 : y1 + 1, x0 : x1 + 1].all()


def test_receptive_field_with_relu_and_maxpool_is_united_over_trials():
    torch.manual_seed(10)
    net = nn.Sequential(
        nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(4, 4, 3), nn.ReLU(), nn.Conv2d(4, 1, 3)
    )
    assert receptive_field(net, 48, trials=8).size == (conv_stack_rf([(3, 1), (2, 2), (3, 1), (3, 1)]),) * 2


def test_receptive_field_grows_with_hourglass_depth_and_restores_mode():
    sizes = []
    for depth in (1, 2, 3):
        torch.manual_seed(11)
        net = StackedHourglass(1, 2, 4, depth, in_channels=1)
        assert net.training
        sizes.append(receptive_field(net, 384, trials=2).size[0])
        assert net.training  # put back in training mode
    assert sizes[0] < sizes[1] < sizes[2] < 384


def test_receptive_field_location_and_corner():
    convs = nn.Sequential(nn.Conv2d(1, 1, 3, padding=1), nn.Conv2d(1, 1, 3, padding=1))
    rf = receptive_field(convs, (10, 12), location=(0, 0))
    assert rf.location == (0, 0) and rf.box == (0, 0, 2, 2) and rf.size == (3, 3)


# ----------------------------------------------------------------------------- bad inputs


def test_bad_inputs():
    with pytest.raises(ValueError, match="out_ch"):
        Residual(4, 5)
    with pytest.raises(TypeError, match="in_ch"):
        Residual(4.0, 4)
    with pytest.raises(ValueError, match="depth"):
        Hourglass(0, 8)
    with pytest.raises(ValueError, match="merge"):
        Hourglass(2, 8, merge="mul")
    with pytest.raises(ValueError, match="channels"):
        StackedHourglass(1, 5, 10, 2)
    with pytest.raises(ValueError, match="num_stacks"):
        StackedHourglass(0, 5, 8, 2)
    net = StackedHourglass(1, 5, 8, 2, in_channels=1)
    with pytest.raises(ValueError, match="images"):
        net(torch.zeros(1, 1, 24, 24))
    with pytest.raises(TypeError, match="images"):
        net(torch.zeros(1, 1, 32, 32, dtype=torch.long))
    with pytest.raises(ValueError, match="images"):
        net(torch.zeros(1, 32, 32))
    t = torch.zeros(1, 2, 4, 4)
    with pytest.raises(TypeError, match="outputs"):
        intermediate_loss(t, t)
    with pytest.raises(TypeError, match="outputs"):
        intermediate_loss([], t)
    with pytest.raises(ValueError, match=r"outputs\[1\]"):
        intermediate_loss([t, torch.zeros(1, 2, 4, 5)], t)
    with pytest.raises(ValueError, match="visible"):
        intermediate_loss([t], t, torch.ones(1, 3, dtype=torch.bool))
    with pytest.raises(TypeError, match="visible"):
        heatmap_mse(t, t, torch.ones(1, 2))
    with pytest.raises(ValueError, match="target"):
        heatmap_mse(t[0], t[0])
    with pytest.raises(TypeError, match="module"):
        receptive_field(lambda x: x, 8)
    with pytest.raises(ValueError, match="input_size"):
        receptive_field(nn.Identity(), 0)
    with pytest.raises(ValueError, match="location"):
        receptive_field(nn.Identity(), 8, location=(8, 0))
    with pytest.raises(TypeError, match="seed"):
        receptive_field(nn.Identity(), 8, seed=1.5)
    with pytest.raises(TypeError, match="module"):
        count_parameters("net")
    with pytest.raises(ValueError, match="loss"):
        intermediate_loss([t], t, loss="l1")
    with pytest.raises(TypeError, match="layers"):
        conv_receptive_field(3)
    with pytest.raises(ValueError, match=r"layers\[1\]"):
        conv_receptive_field([(3, 1), (0, 1)])
