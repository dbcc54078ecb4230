"""Scheduling: releasing due messages and housekeeping."""
