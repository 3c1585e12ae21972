"""Training (never imported by the inference path)."""
