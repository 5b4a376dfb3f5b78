"""Learning: paid answers become templates after a parameterization is suggested and reviewed."""

from engine.learning.body import Param, build_body, round_trip
from engine.learning.library import SuggestionView, TemplateLibrary, TemplateView
from engine.learning.review import Preview, check

__all__ = ["Param", "Preview", "SuggestionView", "TemplateLibrary", "TemplateView", "build_body", "check", "round_trip"]
