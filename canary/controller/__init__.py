"""The control loop: watch → cache → queue → reconcile(key) → act → one status write."""
