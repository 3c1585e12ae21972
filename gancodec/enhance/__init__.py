"""Restoration of video already damaged by a conventional codec (x264/x265/AV1)."""
