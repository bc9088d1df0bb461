"""Reading and validation: files in the canonical form to a validated Dataset, with clear errors."""
