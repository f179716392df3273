#!/bin/bash
# The official image's /opt/kafka/bin/kafka-topics.sh, for health checks and operators.
KAFKA_HEAP_OPTS=-Xmx128m LOG_COMPONENT=kafka-topics LOG_LEVEL=warn LOG_TARGET=SYSTEM_ERR \
  exec /opt/kafka/bin/run-class.sh org.apache.kafka.tools.TopicCommand "$@"
