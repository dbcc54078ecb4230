"""The Graph API client and its errors: the only code that talks to Meta.

Imports only ``wacloud.infra``.
"""
