"""gancodec: learned video compression with a GAN-trained decoder."""

__version__ = "0.23.0"
