"""Reusable widgets (nouns): the mode bar, scope picker, budget gauge, pipeline log, code view."""
