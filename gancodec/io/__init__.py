"""Video input and output (PyAV)."""

from gancodec.io.video import VideoReader, VideoWriter, output_format

__all__ = ["VideoReader", "VideoWriter", "output_format"]
