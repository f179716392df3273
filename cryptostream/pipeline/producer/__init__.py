"""The producer: the REST poller and the trade stream fetch prices, the publisher hands them to Kafka."""
