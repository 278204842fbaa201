"""The benchmark's analytic FLOP count, checked against independently known figures."""
from benchmarks import flops

STYLE = ["conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"]


def test_vgg19_and_vgg16_conv_macs_at_224_match_the_published_figures():
    # Published multiply-accumulates of the conv layers at 224x224 (Simonyan & Zisserman's nets, as
    # tabulated by e.g. torchvision/ptflops): VGG16 15.35 GMAC, VGG19 19.51 GMAC (conv part only).
    for blocks, deepest, gmac in ((flops.VGG16_BLOCKS, "conv5_3", 15.35), (flops.VGG19_BLOCKS, "conv5_4", 19.51)):
        shapes = flops.conv_shapes(224, 224, blocks, deepest)
        macs = sum(h * w * 9 * ci * co for _, h, w, ci, co in shapes)
        assert abs(macs / 1e9 - gmac) < 0.05, (deepest, macs / 1e9)


def test_pooling_rounds_odd_sides_up_like_same_padding():
    shapes = dict((name, (h, w)) for name, h, w, _, _ in flops.conv_shapes(400, 300, deepest="conv5_1"))
    assert shapes["conv1_1"] == (300, 400)
    assert shapes["conv4_1"] == (38, 50)  # 75 -> 38, not 37
    assert shapes["conv5_1"] == (19, 25)


def test_course_step_count():
    work = flops.step_flops(400, 300, STYLE)
    # conv forward by hand: sum of 2*H*W*9*c_in*c_out over conv1_1..conv5_1 at 400x300
    by_hand = 2 * 9 * (300 * 400 * (3 * 64 + 64 * 64) + 150 * 200 * (64 * 128 + 128 * 128)
                       + 75 * 100 * (128 * 256 + 3 * 256 * 256) + 38 * 50 * (256 * 512 + 3 * 512 * 512)
                       + 19 * 25 * 512 * 512)
    assert work["conv_forward"] == work["conv_backward"] == by_hand
    gram = 2 * (64**2 * 120000 + 128**2 * 30000 + 256**2 * 7500 + 512**2 * 1900 + 512**2 * 475)
    assert work["gram_forward"] == gram
    assert 170e9 < work["total"] < 190e9  # the estimate: ~172 GFLOP


def test_winograd_step_count_by_hand():
    # F(4x4, 3x3): 36 products per 6x6 tile and channel pair, ceil(H/4) ceil(W/4) tiles per image;
    # F(6x6, 3x3): 64 per 8x8 tile, ceil(H/6) ceil(W/6) tiles.
    assert flops.winograd_conv_flops(75, 100, 256, 256) == 2 * 36 * (19 * 25) * 256 * 256
    assert flops.winograd_conv_flops(75, 100, 256, 256, tile=6) == 2 * 64 * (13 * 17) * 256 * 256
    work = flops.algorithm_flops(400, 300, STYLE)
    # at 400x300 every conv but conv1_1 (3 input channels) runs by Winograd: blocks 1-3 with 6x6
    # output tiles, blocks 4-5 with 4x4
    tiles6 = {(300, 400): 50 * 67, (150, 200): 25 * 34, (75, 100): 13 * 17}
    tiles4 = {(38, 50): 10 * 13, (19, 25): 5 * 7}
    by_hand = 2 * 9 * 300 * 400 * 3 * 64 + 2 * 64 * (
        tiles6[300, 400] * 64 * 64 + tiles6[150, 200] * (64 * 128 + 128 * 128)
        + tiles6[75, 100] * (128 * 256 + 3 * 256 * 256)) + 2 * 36 * (
        tiles4[38, 50] * (256 * 512 + 3 * 512 * 512) + tiles4[19, 25] * 512 * 512)
    assert work["conv_forward"] == work["conv_backward"] == by_hand
    assert work["total"] == 2 * by_hand + 2 * flops.step_flops(400, 300, STYLE)["gram_forward"]
    # without Winograd it is the direct count
    assert flops.algorithm_flops(400, 300, STYLE, winograd=False) == flops.step_flops(400, 300, STYLE)
