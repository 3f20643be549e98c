"""Data simulation: room impulse responses, DNS-style mixing, and "real-like" degradations."""
