"""Score metrics: NPS, CSAT, CES per group and period with intervals; segments; comparisons between periods."""
