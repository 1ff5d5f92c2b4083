"""Checks: common-signature schemas and lint rules over a read-only view of a module."""
