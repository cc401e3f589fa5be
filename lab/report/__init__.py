"""Renderers of the results dictionary (Report.as_dict()): terminal, JSON, JUnit XML, Gradescope and HTML;
how each status looks is in statuses.py."""
