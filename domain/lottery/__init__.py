"""The lottery: a pure, seeded, reproducible assignment algorithm and its statistics."""
