"""Evidence: the file store, services and pages."""
