"""Alerts: pure rules from mart rows to `Alert` records, an outbox in the warehouse, and delivery."""
