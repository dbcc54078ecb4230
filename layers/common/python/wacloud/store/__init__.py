"""DynamoDB access: one module per aggregate, all in the single state table.

Key layout (README, "State"): every partition key starts with the business phone
number id (or the WABA id for WABA-level records), so tenants never share a
partition and one stack can serve many numbers.
"""
