"""Network building blocks that are not in CompressAI."""

from gancodec.layers.fixed_point import FixedPointNet
from gancodec.layers.pointwise import PointwiseConv2d, PointwiseGDN, pointwise_conv

__all__ = ["FixedPointNet", "PointwiseConv2d", "PointwiseGDN", "pointwise_conv"]
