"""Sign-in, users, API tokens."""
