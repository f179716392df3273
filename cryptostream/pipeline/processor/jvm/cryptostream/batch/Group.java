package cryptostream.batch;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;

/**
 * One (topic, partition, symbol, window) group of classify.summarise, built message by
 * message: the valid prices' partial aggregate, or (symbol null) the partition's rejects.
 * Sums are exact (BigDecimal); open/close are the prices first/last by (event time,
 * partition, offset), as in Spark's min_by/max_by over the same order.
 */
final class Group {
  private final String topic;
  private final int partition;
  private final String symbol;
  private final long windowStartMs;
  private long count;
  private BigDecimal priceSum;
  private BigDecimal minPrice;
  private BigDecimal maxPrice;
  private BigDecimal openPrice;
  private BigDecimal closePrice;
  private long[] openOrder;  // {event ms, partition, offset}
  private long[] closeOrder;
  private long firstEventMs = Long.MAX_VALUE;
  private long lastEventMs = Long.MIN_VALUE;
  private long newestIngestMs = Long.MIN_VALUE;
  private BigDecimal volume;
  private BigDecimal notional;
  private final Set<String> keys = new HashSet<>();
  private Long firstTimeKeyMs;
  private Long lastTimeKeyMs;
  private Long firstTradeId;
  private Long lastTradeId;
  private long firstOffset = Long.MAX_VALUE;
  private long lastOffset = Long.MIN_VALUE;
  private final Map<Long, long[]> ingestAges = new HashMap<>();
  private final Map<Long, long[]> tradeEventAges = new HashMap<>();
  private final List<Row> rejects = new ArrayList<>();

  Group(String topic, int partition, String symbol, long windowStartMs) {
    this.topic = topic;
    this.partition = partition;
    this.symbol = symbol;
    this.windowStartMs = windowStartMs;
  }

  void add(Message m, long offset, Rules rules) {
    count++;
    priceSum = priceSum == null ? m.price : priceSum.add(m.price);
    minPrice = minPrice == null || m.price.compareTo(minPrice) < 0 ? m.price : minPrice;
    maxPrice = maxPrice == null || m.price.compareTo(maxPrice) > 0 ? m.price : maxPrice;
    long[] order = {m.eventMs, partition, offset};
    if (openOrder == null || Arrays.compare(order, openOrder) < 0) {
      openOrder = order;
      openPrice = m.price;
    }
    if (closeOrder == null || Arrays.compare(order, closeOrder) > 0) {
      closeOrder = order;
      closePrice = m.price;
    }
    firstEventMs = Math.min(firstEventMs, m.eventMs);
    lastEventMs = Math.max(lastEventMs, m.eventMs);
    newestIngestMs = Math.max(newestIngestMs, m.ingestMs);
    if (m.quantity != null) {
      volume = volume == null ? m.quantity : volume.add(m.quantity);
      BigDecimal product = m.price.multiply(m.quantity);
      notional = notional == null ? product : notional.add(product);
    }
    keys.add(m.dedupKey());
    if (m.tradeId == null) {
      firstTimeKeyMs = firstTimeKeyMs == null ? m.eventMs : Math.min(firstTimeKeyMs, m.eventMs);
      lastTimeKeyMs = lastTimeKeyMs == null ? m.eventMs : Math.max(lastTimeKeyMs, m.eventMs);
    } else {
      firstTradeId = firstTradeId == null ? m.tradeId : Math.min(firstTradeId, m.tradeId);
      lastTradeId = lastTradeId == null ? m.tradeId : Math.max(lastTradeId, m.tradeId);
      countAge(tradeEventAges, rules.nowMs - m.eventMs, rules);
    }
    countAge(ingestAges, rules.nowMs - m.ingestMs, rules);
    offset(offset);
  }

  void reject(Row reject, long offset) {
    rejects.add(reject);
    offset(offset);
  }

  private void offset(long offset) {
    firstOffset = Math.min(firstOffset, offset);
    lastOffset = Math.max(lastOffset, offset);
  }

  /** The group as a row of Summaries.SCHEMA. */
  Row toRow() {
    boolean valid = count > 0;
    return RowFactory.create(topic, partition, symbol, valid ? windowStartMs : null, priceSum, count,
        minPrice, maxPrice, openPrice, closePrice, order(openOrder), order(closeOrder),
        valid ? firstEventMs : null, valid ? lastEventMs : null, valid ? newestIngestMs : null, volume, notional,
        keys.size(), firstTimeKeyMs, lastTimeKeyMs, firstTradeId, lastTradeId, firstOffset, lastOffset + 1,
        rejects.toArray(new Row[0]), ages(ingestAges), ages(tradeEventAges));
  }

  private static Row order(long[] order) {
    return order == null ? null : RowFactory.create(order[0], (int) order[1], order[2]);
  }

  private static void countAge(Map<Long, long[]> ages, long ageMs, Rules rules) {
    ages.computeIfAbsent(ageEdge(ageMs, rules.tickMs, rules.fineMs), edge -> new long[1])[0]++;
  }

  /** age_columns.age_edge: the upper edge of an age's bucket; 0 for an age at or below 0. */
  static long ageEdge(long ageMs, int tickMs, int fineMs) {
    if (ageMs <= 0) {
      return 0;
    }
    if (ageMs <= fineMs) {
      return (ageMs + tickMs - 1) / tickMs * tickMs;
    }
    long width = 1;
    for (long rest = ageMs; rest >= 100; rest /= 10) {
      width *= 10;  // a tenth of the age's decade
    }
    return (ageMs + width - 1) / width * width;
  }

  /** [(age, n)] sorted by age, as age_columns.age_counts gives them. */
  private static Row[] ages(Map<Long, long[]> ages) {
    return ages.entrySet().stream().sorted(Map.Entry.comparingByKey())
        .map(e -> RowFactory.create(e.getKey(), e.getValue()[0])).toArray(Row[]::new);
  }
}
