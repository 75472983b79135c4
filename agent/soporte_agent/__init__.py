"""Soporte's inventory agent: the standard library and psutil, nothing else."""

__version__ = "1.0.0"
