"""Database infrastructure: engine, the unit of work, the base model and migrations.

Infrastructure: imports no feature package.
"""
