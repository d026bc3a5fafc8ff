"""Loyalty: the battery, net shifts, the loyalty index, price-switch thresholds and the loyalty bank."""
