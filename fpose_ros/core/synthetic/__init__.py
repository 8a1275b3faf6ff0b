"""Synthetic RGB-D scenes with ground truth: assets, textures, motion, sensor noise, composition, sequences."""
