"""Connectors land records from file exports and platform APIs in the warehouse's raw contract."""
