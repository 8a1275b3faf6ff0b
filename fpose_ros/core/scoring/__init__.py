"""Scorers: rank refined pose hypotheses."""
