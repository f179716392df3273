"""The runbook's checks (daily, weekly, monthly, alerts, status) and the probes they read."""
