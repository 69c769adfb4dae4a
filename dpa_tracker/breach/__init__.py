"""Personal data breaches (clause 8): the register, each client's notification clock, the notices."""
