"""statements stage."""
