"""Evaluations of new hardware and software: test plans, results, recommendations."""
