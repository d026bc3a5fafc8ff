"""Retention: customer outcomes, Kaplan-Meier curves, log-rank tests and Cox models."""
