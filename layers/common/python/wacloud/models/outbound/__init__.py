"""Strict models of what we send to Meta: conflicts and limits are errors."""
