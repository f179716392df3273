package cryptostream.batch;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.StructType;

/**
 * The processor's one JVM pass over a micro-batch's Kafka rows (processor/jvm_pass.py): the
 * batch's summary in the columns classify.summarise gives, one task per Kafka partition and
 * no shuffle; and, for the parity tests, each message's reason.
 */
public final class Summaries {
  private static final String ORDER = "STRUCT<event_time: BIGINT, partition: INT, offset: BIGINT>";
  private static final String AGES = "ARRAY<STRUCT<age: BIGINT, n: BIGINT>>";
  static final StructType SCHEMA = StructType.fromDDL(String.join(", ",
      "topic STRING", "partition INT", "symbol STRING", "window_start_ms BIGINT", "price_sum DECIMAL(38,8)",
      "sample_count BIGINT", "min_price DECIMAL(28,8)", "max_price DECIMAL(28,8)", "open_price DECIMAL(28,8)",
      "close_price DECIMAL(28,8)", "open_order " + ORDER, "close_order " + ORDER, "first_event_ms BIGINT",
      "last_event_ms BIGINT", "newest_ingest_ms BIGINT", "volume DECIMAL(30,8)", "notional DECIMAL(38,16)",
      "distinct_keys INT", "first_time_key_ms BIGINT", "last_time_key_ms BIGINT", "first_trade_id BIGINT",
      "last_trade_id BIGINT", "first_offset BIGINT", "next_offset BIGINT",
      "rejects ARRAY<STRUCT<topic: STRING, partition: INT, offset: BIGINT, record_ms: BIGINT, key: BINARY, "
          + "value: BINARY, value_length: INT, value_sha256: STRING, reason: STRING>>",
      "ingest_ages " + AGES, "trade_event_ages " + AGES));
  private static final StructType REASONS = StructType.fromDDL("partition INT, offset BIGINT, reason STRING");

  private Summaries() {}

  /** The summary of a batch of Kafka source rows under the rules (JSON, jvm_pass.py). */
  public static Dataset<Row> summarise(Dataset<Row> kafka, String rules) {
    return kafka.mapPartitions(new PartitionSummary(new Rules(rules)), Encoders.row(SCHEMA));
  }

  /** (partition, offset, reason or null) of every message: what the rules say of each, for tests. */
  public static Dataset<Row> reasons(Dataset<Row> kafka, String rules) {
    return kafka.mapPartitions(new Reasons(new Rules(rules)), Encoders.row(REASONS));
  }

  private static final class Reasons implements MapPartitionsFunction<Row, Row> {
    private static final long serialVersionUID = 1L;
    private final Rules rules;

    Reasons(Rules rules) {
      this.rules = rules;
    }

    @Override
    public Iterator<Row> call(Iterator<Row> rows) {
      List<Row> out = new ArrayList<>();
      Message message = new Message();
      while (rows.hasNext()) {
        Row row = rows.next();
        long recordMs = PartitionSummary.recordMs(row.getAs("timestamp"));
        out.add(RowFactory.create(row.<Integer>getAs("partition"), row.<Long>getAs("offset"),
            rules.check(row.getAs("value"), recordMs, message)));
      }
      return out.iterator();
    }
  }
}
