"""Frozen values the engine reasons about; no I/O here."""
