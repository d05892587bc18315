"""Heaters: a job server that turns long source videos into reviewed, searchable clips."""

__version__ = "0.1.0"
