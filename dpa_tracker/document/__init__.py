"""Supporting documents (transfer safeguards, measure documents, sub-processor guarantees and flow-downs)."""
