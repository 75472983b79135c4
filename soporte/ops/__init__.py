"""Running Soporte for real: backup and restore, readiness, deployment checks."""
