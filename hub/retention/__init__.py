"""Retention deadlines, legal hold and crypto-shredding."""
