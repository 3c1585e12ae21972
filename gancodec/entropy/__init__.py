"""Entropy coding pieces shared by the codecs (all through CompressAI's rANS coder)."""

from gancodec.entropy.guard import guarded
from gancodec.entropy.vectors import decode_vectors, encode_vectors

__all__ = ["decode_vectors", "encode_vectors", "guarded"]
