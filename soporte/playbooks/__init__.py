"""Checklists for security and installation work, sub-tasks and remote sessions on tickets."""
