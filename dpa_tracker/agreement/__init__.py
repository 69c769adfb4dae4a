"""Agreements and their obligation checklist."""
