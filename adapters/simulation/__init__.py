"""Synthetic Splash programs and their seeding into a store, for the demo, the benchmarks and tests."""
