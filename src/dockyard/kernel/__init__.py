"""The only package that touches the system: namespaces, netlink, nftables, sysctls.

Everything above it computes plans and values; this package applies them.
"""
