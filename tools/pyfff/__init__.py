"""pyfff: Python tools for the FFF file format (checkpoint import, IDX data, conversion)."""
