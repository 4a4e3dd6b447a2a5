"""Oneprovider clusters: each registered provider's cluster, with the provider's id.

- `details`: a cluster's protected view and the versions its services report.
"""
