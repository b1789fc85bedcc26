"""Test modules, one per client library."""
