"""Evaluation shared by the offline benchmark, the live benchmark and ``fpose-replay``."""
