"""Tolerant models of what Meta sends us (webhooks): unknown fields are kept."""
