"""Soporte: an open-source help desk and IT support platform."""

from .celery import app as celery_app

__all__ = ["celery_app"]
