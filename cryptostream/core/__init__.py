"""The foundation every layer shares: configuration, JSON logs, metrics, log event names, the
MySQL connection and retry pacing. It imports nothing else from cryptostream."""
