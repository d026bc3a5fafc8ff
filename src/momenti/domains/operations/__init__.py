"""Operating a deployment: backups and restores."""
