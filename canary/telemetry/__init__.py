"""Logs, operator metrics and health endpoints: how the operator reports on itself."""
