#!/bin/bash
# Writes server.properties from KAFKA_* variables (the official image's convention: strip the
# prefix, lower-case, '___' -> '-', '__' -> '_', '_' -> '.'), formats the storage once, runs.
set -euo pipefail
properties=/opt/kafka/config/server.properties
: > "$properties"
while IFS='=' read -r name value; do
  case "$name" in
    KAFKA_HEAP_OPTS|KAFKA_OPTS|KAFKA_LOG4J_OPTS|KAFKA_JVM_PERFORMANCE_OPTS) continue ;;
    KAFKA_*) key="${name#KAFKA_}"; key="${key,,}"; key="${key//___/-}"; key="${key//__/@}"
             key="${key//_/.}"; echo "${key//@/_}=${value}" >> "$properties" ;;
  esac
done < <(env)
data_dir="$(sed -n 's/^log\.dirs=//p' "$properties")"
data_dir="${data_dir:-/var/lib/kafka/data}"
if [ ! -f "$data_dir/meta.properties" ]; then
  : "${CLUSTER_ID:?set CLUSTER_ID to format new storage}"
  # a static quorum (controller.quorum.voters) is formatted as is; a dynamic one as standalone
  grep -q '^controller\.quorum\.voters=' "$properties" && quorum=() || quorum=(--standalone)
  LOG_COMPONENT=kafka-format /opt/kafka/bin/run-class.sh kafka.tools.StorageTool format \
    --cluster-id="$CLUSTER_ID" -c "$properties" "${quorum[@]}" --ignore-formatted
fi
exec /opt/kafka/bin/run-class.sh kafka.Kafka "$properties"
