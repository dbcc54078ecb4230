"""Infrastructure: AWS clients, settings, clock, credentials, queues, DynamoDB helpers, privacy.

The bottom tier: imports nothing else of wacloud.
"""
