"""Renderers: draw a batch of poses of one mesh through per-item pinhole cameras."""
