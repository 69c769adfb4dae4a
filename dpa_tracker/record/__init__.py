"""Art. 30(2) record of processing (clause 4)."""
