"""Message templates: sync from Meta and the webhook mirror."""
