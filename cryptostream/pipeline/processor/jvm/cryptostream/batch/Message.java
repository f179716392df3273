package cryptostream.batch;

import java.math.BigDecimal;

/** A valid price message as the aggregation reads it; one instance reused for every message of a partition. */
final class Message {
  String symbol;
  String source;
  BigDecimal price;  // at the price scale
  long eventMs;
  long ingestMs;
  long windowStartMs;
  Long tradeId;
  BigDecimal quantity;  // at the quantity scale; null when the message carries none

  void set(String symbol, String source, BigDecimal price, long eventMs, long ingestMs, long windowStartMs,
      Long tradeId, BigDecimal quantity) {
    this.symbol = symbol;
    this.source = source;
    this.price = price;
    this.eventMs = eventMs;
    this.ingestMs = ingestMs;
    this.windowStartMs = windowStartMs;
    this.tradeId = tradeId;
    this.quantity = quantity;
  }

  /** schema.dedup_key less the symbol, as classify.dedup_key writes it: "<source>:t<trade id>" or "<source>:<event time>". */
  String dedupKey() {
    return tradeId != null ? source + ":t" + tradeId : source + ":" + eventMs;
  }
}
