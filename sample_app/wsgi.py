"""The WSGI entry point: `gunicorn sample_app.wsgi:application`."""

from .app import app as application

__all__ = ["application"]
