#!/bin/bash
# run-class.sh MAIN_CLASS [ARGS]: one of Kafka's Java main classes with JSON logging.
exec java ${KAFKA_HEAP_OPTS:--Xmx512m} -XX:+UseG1GC -Djava.awt.headless=true \
  -Dlog4j2.configurationFile=file:/opt/kafka/config/log4j2-kafka.properties \
  -Dcryptostream.conf=/opt/kafka/config -Dcryptostream.component="${LOG_COMPONENT:-kafka}" \
  -Dcryptostream.loglevel="${LOG_LEVEL:-info}" -Dcryptostream.logtarget="${LOG_TARGET:-SYSTEM_OUT}" \
  -cp '/opt/kafka/libs/*' "$@"
