"""Metrics from daily rollups, the supervisor dashboard, exports, weekly reports and
satisfaction surveys."""
