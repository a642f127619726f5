"""transit stage."""
