"""Inbound: webhooks received, split, checked and dispatched to one handler per kind."""
