"""pna: reproducible Pharmaceutical Needs Assessments from open data."""

__version__ = "0.1.0"
