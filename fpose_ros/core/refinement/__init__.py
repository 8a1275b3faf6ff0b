"""Refiners: improve a batch of pose hypotheses by render-and-compare."""
