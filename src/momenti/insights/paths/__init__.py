"""Customer paths mined from the interaction log: directly-follows graph, variants, funnels, paths x loyalty."""
