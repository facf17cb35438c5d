"""Billing's domain: policies and pricing, payments and late fees, vouchers and the
contribution record. Pure: no I/O, no framework."""
