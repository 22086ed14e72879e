"""Unit tests of the registry's pure domain (services/registry/domain)."""
