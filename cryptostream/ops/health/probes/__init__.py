"""Facts the runbook checks read, one module per source: the Spark checkpoint, supervisord,
the programs' JSON logs, MySQL and /proc. Each function reads one source and returns plain data."""
