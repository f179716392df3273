package cryptostream.batch;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;

/**
 * classify.summarise over one task's Kafka rows in one pass: each message checked by the
 * rules, the valid ones aggregated per (topic, partition, symbol, window), the others kept
 * as bounded reject rows (classify._reject) in their partition's group.
 */
final class PartitionSummary implements MapPartitionsFunction<Row, Row> {
  private static final long serialVersionUID = 1L;
  private final Rules rules;

  PartitionSummary(Rules rules) {
    this.rules = rules;
  }

  private record Key(String topic, int partition, String symbol, long windowStartMs) {}

  @Override
  public Iterator<Row> call(Iterator<Row> rows) {
    Map<Key, Group> groups = new LinkedHashMap<>();
    KafkaColumns columns = null;
    Message message = new Message();
    MessageDigest sha256 = sha256();
    while (rows.hasNext()) {
      Row row = rows.next();
      columns = columns == null ? new KafkaColumns(row) : columns;
      String topic = row.getString(columns.topic);
      int partition = row.getInt(columns.partition);
      long offset = row.getLong(columns.offset);
      byte[] value = (byte[]) row.get(columns.value);
      long recordMs = recordMs(row.get(columns.timestamp));
      String reason = rules.check(value, recordMs, message);
      if (reason == null) {
        Key key = new Key(topic, partition, message.symbol, message.windowStartMs);
        groups.computeIfAbsent(key, k -> new Group(topic, partition, k.symbol(), k.windowStartMs()))
            .add(message, offset, rules);
      } else {
        Row reject = RowFactory.create(topic, partition, offset, recordMs, prefix((byte[]) row.get(columns.key), rules.keyPrefix),
            prefix(value, rules.valuePrefix), value == null ? null : value.length,
            value == null ? null : HexFormat.of().formatHex(sha256.digest(value)), reason);
        groups.computeIfAbsent(new Key(topic, partition, null, 0), k -> new Group(topic, partition, null, 0))
            .reject(reject, offset);
      }
    }
    return groups.values().stream().map(Group::toRow).iterator();
  }

  /** Where each Kafka source column is, looked up once per task. */
  private static final class KafkaColumns {
    final int topic, partition, offset, key, value, timestamp;

    KafkaColumns(Row row) {
      topic = row.fieldIndex("topic");
      partition = row.fieldIndex("partition");
      offset = row.fieldIndex("offset");
      key = row.fieldIndex("key");
      value = row.fieldIndex("value");
      timestamp = row.fieldIndex("timestamp");
    }
  }

  /** The Kafka timestamp in epoch ms, as parse.py's record_ms. */
  static long recordMs(Object timestamp) {
    return timestamp instanceof Instant instant ? instant.toEpochMilli() : ((Timestamp) timestamp).getTime();
  }

  private static byte[] prefix(byte[] bytes, int length) {
    return bytes == null || bytes.length <= length ? bytes : Arrays.copyOf(bytes, length);
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("no SHA-256 in this JVM", e);
    }
  }
}
