"""Aggregates, events, rules, the lottery and the application: stdlib and eventsourcing only."""
