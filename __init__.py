"""regledger: event-sourced class registration for ESP-style programs."""
