"""Sub-processors and change notices (clause 6)."""
