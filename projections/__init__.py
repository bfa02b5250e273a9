"""Read models built from the event log: rosters, schedules, interest, counts, history."""
