"""runwatch: a terminal dashboard for ML runs on the ABEJA Platform Run API."""

__version__ = "0.1.0"
