"""Moments-of-truth drivers: key-driver analysis, penalty-reward, quadrant, dissonance, weakest link."""
