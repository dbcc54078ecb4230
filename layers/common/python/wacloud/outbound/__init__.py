"""Outbound: the sender, its batch processor, policy, throughput and reconcile."""
