"""Network building blocks that are not in CompressAI."""

from gancodec.layers.fixed_point import FixedPointNet

__all__ = ["FixedPointNet"]
