"""Bounds for CompressAI's rANS decoder, which does no bounds checks of its own."""


def guarded(string: bytes, num_symbols: int) -> bytes:
    """Appends zero words so that the rANS decoder never reads past its buffer.

    CompressAI's decoder does no bounds checks: a damaged or hostile string makes it read on
    past the end (at most about one 32-bit word per symbol, plus bypass-coded escapes, which stop
    at the first zero word). Valid strings never reach the padding, so decoding is unchanged.
    """
    return string + bytes(8 * num_symbols + 4096)
