"""The operator API's HTTP layer (issue #13): routes, authentication and error mapping.

The top tier: it uses the features through their packages, as a feature uses another
feature, and nothing below imports it. `functions/operator_api/app.py` only hands the
event to `app.resolve`. Built on Powertools' APIGatewayHttpResolver: request
validation and the OpenAPI document come from the route signatures.
"""
