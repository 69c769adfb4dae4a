"""Clause 10: disclosures to third parties and transfers outside the EU/EEA."""
