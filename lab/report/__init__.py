"""Renderers of a Report: terminal, JSON, JUnit XML, Gradescope and HTML."""
