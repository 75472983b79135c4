"""Courses and training sessions: invitations, attendance, feedback, certificates."""
