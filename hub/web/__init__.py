"""The web application for the people at the table (ADR 0015)."""
