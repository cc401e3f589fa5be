"""The "likes" sample app that students deploy throughout the lab."""

__version__ = "1.0.0"
