"""Inference-time scaling: reducers over k sampled judgments, the meta-RM, the curve."""
