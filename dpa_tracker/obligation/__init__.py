"""Obligations: status engine, services and pages."""
