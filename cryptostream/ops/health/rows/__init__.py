"""The rows of bin/daily-check, bin/status and bin/check-alerts, one module per component; each
row is a function of a Facts that returns one checks.Result."""
