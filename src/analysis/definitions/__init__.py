"""Definitions: the populations, figures and indicators of the contract (section 3), from records."""
