"""access stage."""
