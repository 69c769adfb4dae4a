"""Clients (controllers) and the processor profile."""
