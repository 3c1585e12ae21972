"""The decoder's 1x1 convolutions give the same floats for any thread count (layers/pointwise.py).

Before 0.17.0 a cars stream at quality 5 decoded to different pixels with --threads 1 and 2: PyTorch
ran the inverse GDN's 1x1 convolution through oneDNN with 2 threads and through its own GEMM with 1.
"""

from __future__ import annotations

import pytest
import torch
from compressai.layers import GDN

from gancodec.layers import PointwiseConv2d, PointwiseGDN
from gancodec.models.intra import IntraCodec, IntraConfig


def _at_threads(threads: int, fn):
    old = torch.get_num_threads()
    try:
        torch.set_num_threads(threads)
        with torch.no_grad():
            return fn()
    finally:
        torch.set_num_threads(old)


@pytest.mark.parametrize("inverse", [False, True])
def test_gdn_same_for_one_and_two_threads_and_equal_to_compressai(inverse):
    torch.manual_seed(0)
    layer = PointwiseGDN(192, inverse=inverse)
    with torch.no_grad():
        layer.gamma.add_(torch.rand_like(layer.gamma) * 0.05)  # a trained-like, dense gamma
    x = torch.randn(1, 192, 36, 44)
    one, two = _at_threads(1, lambda: layer(x)), _at_threads(2, lambda: layer(x))
    assert torch.equal(one, two)
    reference = GDN(192, inverse=inverse)
    reference.load_state_dict(layer.state_dict())  # same parameters and keys
    torch.testing.assert_close(two, _at_threads(2, lambda: reference(x)), rtol=1e-5, atol=1e-6)


def test_pointwise_conv_same_for_one_and_two_threads():
    torch.manual_seed(1)
    conv = PointwiseConv2d(128, 256)
    x = torch.randn(2, 128, 30, 40)
    assert torch.equal(_at_threads(1, lambda: conv(x)), _at_threads(2, lambda: conv(x)))
    torch.testing.assert_close(conv(x), torch.nn.functional.conv2d(x, conv.weight, conv.bias))


def test_pointwise_layers_train():
    conv, gdn = PointwiseConv2d(4, 4), PointwiseGDN(4)
    gdn(conv(torch.randn(1, 4, 5, 5))).square().mean().backward()
    assert conv.weight.grad is not None and gdn.gamma.grad is not None


def test_the_codec_uses_the_pointwise_gdn():
    codec = IntraCodec(IntraConfig())
    gdns = [m for m in codec.modules() if isinstance(m, GDN)]
    assert gdns and all(isinstance(m, PointwiseGDN) for m in gdns)
