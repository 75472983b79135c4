"""Suggested category, priority and team; duplicates and incident storms."""
