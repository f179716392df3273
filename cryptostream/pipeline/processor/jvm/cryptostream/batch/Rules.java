package cryptostream.batch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The validation rules of schema/rules.py (schema.problem) and the late rule of
 * processor/classify.py, for one batch. Every constant, pattern and name comes from the
 * Python side as JSON (processor/jvm_pass.py), so the rules have one source.
 */
final class Rules implements Serializable {
  private static final long serialVersionUID = 1L;
  private static final String CONTAINER_TEXT = "[...]";  // as rules._CONTAINER_TEXT: matches no pattern

  final long windowMs;
  final long nowMs;
  final int tickMs;
  final int fineMs;
  final int valuePrefix;
  final int keyPrefix;
  private final Map<String, String> reasons = new HashMap<>();
  private final Set<String> symbols = new HashSet<>();
  private final Pattern symbolPattern;
  private final Pattern sourcePattern;
  private final Pattern pricePattern;
  private final Pattern quantityPattern;
  private final int maxMessageBytes;
  private final int maxDepth;
  private final int maxDigits;
  private final long schemaVersion;
  private final long timeLimitMs;
  private final BigDecimal maxTradePrice;
  private final BigDecimal maxNotional;
  private final int priceScale;
  private final int quantityScale;
  private final long maxFutureMs;
  private final long watermarkMs;
  private final Map<String, Integer> fieldIndex = new HashMap<>();
  private final int[] fieldBits;  // 0: a text field; else the integer's width
  private final boolean[] required;
  private final int version, symbol, price, eventTime, ingestTime, source, tradeId, quantity;

  Rules(String json) {
    JsonNode r = parse(json);
    r.get("reasons").properties().forEach(e -> reasons.put(e.getKey(), e.getValue().asText()));
    r.get("symbols").forEach(s -> symbols.add(s.asText()));
    symbolPattern = Pattern.compile(r.get("symbol_pattern").asText());
    sourcePattern = Pattern.compile(r.get("source_pattern").asText());
    pricePattern = Pattern.compile(r.get("price_pattern").asText());
    quantityPattern = Pattern.compile(r.get("quantity_pattern").asText());
    maxMessageBytes = r.get("max_message_bytes").asInt();
    maxDepth = r.get("max_depth").asInt();
    maxDigits = r.get("max_number_digits").asInt();
    schemaVersion = r.get("schema_version").asLong();
    timeLimitMs = r.get("time_limit_ms").asLong();
    maxTradePrice = new BigDecimal(r.get("max_trade_price").asText());
    maxNotional = new BigDecimal(r.get("max_notional").asText());
    priceScale = r.get("price_scale").asInt();
    quantityScale = r.get("quantity_scale").asInt();
    windowMs = r.get("window_ms").asLong();
    maxFutureMs = r.get("max_future_ms").asLong();
    watermarkMs = r.get("watermark_ms").asLong();
    nowMs = r.get("now_ms").asLong();
    tickMs = r.get("tick_ms").asInt();
    fineMs = r.get("fine_ms").asInt();
    valuePrefix = r.get("value_prefix").asInt();
    keyPrefix = r.get("key_prefix").asInt();
    JsonNode fields = r.get("fields");  // [[name, bits (0: text), required], ...] in the schema's order
    fieldBits = new int[fields.size()];
    required = new boolean[fields.size()];
    for (int i = 0; i < fields.size(); i++) {
      fieldIndex.put(fields.get(i).get(0).asText(), i);
      fieldBits[i] = fields.get(i).get(1).asInt();
      required[i] = fields.get(i).get(2).asBoolean();
    }
    version = field("schema_version");
    symbol = field("symbol");
    price = field("price");
    eventTime = field("event_time");
    ingestTime = field("ingest_time");
    source = field("source");
    tradeId = field("trade_id");
    quantity = field("quantity");
  }

  private static JsonNode parse(String json) {
    try {
      return new ObjectMapper().readTree(json);
    } catch (IOException e) {
      throw new UncheckedIOException("bad rules JSON", e);
    }
  }

  private int field(String name) {
    Integer i = fieldIndex.get(name);
    if (i == null) {
      throw new IllegalArgumentException("the rules name no field " + name);
    }
    return i;
  }

  String reason(String name) {
    return reasons.get(name);
  }

  /**
   * Why the message may not be aggregated (a reason's text), or null with `out` holding it:
   * schema.problem()'s rules in its order, then the late rule.
   */
  String check(byte[] value, long recordMs, Message out) {
    if (value == null || value.length == 0) {
      return reasons.get("EMPTY");
    }
    if (value.length > maxMessageBytes) {
      return reasons.get("TOO_LARGE");
    }
    FirstValue first;
    try {
      first = FirstValue.read(new String(value, StandardCharsets.UTF_8), maxDepth, maxDigits);
    } catch (FirstValue.NotJson e) {
      return reasons.get("NOT_JSON");
    }
    if (first.kind != FirstValue.Kind.OBJECT) {
      return reasons.get(first.plain ? "WRONG_SHAPE" : "NOT_JSON");
    }
    Object[] data = new Object[fieldBits.length];
    if (wrongType(first, data)) {
      return reasons.get("WRONG_TYPE");
    }
    for (int i = 0; i < data.length; i++) {
      if (required[i] && data[i] == null) {
        return reasons.get("MISSING_FIELD");
      }
    }
    return content(data, recordMs, out);
  }

  /**
   * rules._fields: the schema fields into `data` (text or Long); whether a field has the wrong
   * type. The last occurrence of a repeated name gives the value; an integer occurrence that
   * does not fit makes the record wrong; a text field is "a number" when its last occurrence
   * that was a number or null was a number.
   */
  private boolean wrongType(FirstValue first, Object[] data) {
    boolean wrong = false;
    Boolean[] numeric = new Boolean[data.length];
    for (FirstValue.Pair pair : first.pairs) {
      Integer i = fieldIndex.get(pair.name());
      if (i == null) {
        continue;
      }
      FirstValue.ValueKind kind = pair.kind();
      if (fieldBits[i] == 0) {
        data[i] = text(pair);
        if (kind == FirstValue.ValueKind.INT || kind == FirstValue.ValueKind.FLOAT || kind == FirstValue.ValueKind.NULL) {
          numeric[i] = kind != FirstValue.ValueKind.NULL;
        }
      } else {
        boolean fits = kind == FirstValue.ValueKind.NULL || (kind == FirstValue.ValueKind.INT && fits(pair.value(), fieldBits[i]));
        wrong = wrong || !fits;
        data[i] = kind == FirstValue.ValueKind.INT ? pair.value() : null;
      }
    }
    for (Boolean number : numeric) {
      wrong = wrong || Boolean.TRUE.equals(number);
    }
    return wrong;
  }

  private static boolean fits(Object integer, int bits) {
    if (!(integer instanceof Long value)) {
      return ((BigInteger) integer).bitLength() < bits;
    }
    return bits >= 64 || (value >= -(1L << (bits - 1)) && value < (1L << (bits - 1)));
  }

  private static String text(FirstValue.Pair pair) {
    return switch (pair.kind()) {
      case STRING, FLOAT -> (String) pair.value();
      case BOOL -> (Boolean) pair.value() ? "true" : "false";
      case NULL -> null;
      case NESTED -> CONTAINER_TEXT;
      case INT -> pair.value().toString();
    };
  }

  /** rules._content_problem, then the late rule; fills `out` for a valid message. */
  private String content(Object[] data, long recordMs, Message out) {
    long v = (Long) data[version];
    if (v < 1 || v > schemaVersion) {
      return reasons.get("UNKNOWN_SCHEMA_VERSION");
    }
    String sym = (String) data[symbol];
    if (!symbolPattern.matcher(sym).lookingAt()) {
      return reasons.get("BAD_SYMBOL");
    }
    if (!symbols.contains(sym)) {
      return reasons.get("UNKNOWN_SYMBOL");
    }
    if (!sourcePattern.matcher((String) data[source]).lookingAt()) {
      return reasons.get("BAD_SOURCE");
    }
    String priceText = (String) data[price];
    if (!pricePattern.matcher(priceText).lookingAt()) {
      return reasons.get("BAD_PRICE");
    }
    BigDecimal priceValue = new BigDecimal(priceText).setScale(priceScale);
    if (priceValue.signum() <= 0) {
      return reasons.get("NON_POSITIVE_PRICE");
    }
    Long trade = (Long) data[tradeId];
    if (trade != null && trade < 0) {
      return reasons.get("BAD_TRADE_ID");
    }
    BigDecimal quantityValue = quantity((String) data[quantity], priceValue);
    if (data[quantity] != null && quantityValue == null) {
      return reasons.get("BAD_QUANTITY");
    }
    long event = (Long) data[eventTime];
    long ingest = (Long) data[ingestTime];
    if (event < 0 || event >= timeLimitMs || ingest < 0 || ingest >= timeLimitMs) {
      return reasons.get("BAD_TIME");
    }
    if (recordMs <= Long.MAX_VALUE - maxFutureMs && event > recordMs + maxFutureMs) {
      return reasons.get("FUTURE_EVENT_TIME");
    }
    long windowStart = event - Math.floorMod(event, windowMs);
    if (windowStart + windowMs <= watermarkMs) {
      return reasons.get("LATE");
    }
    out.set(sym, (String) data[source], priceValue, event, ingest, windowStart, trade, quantityValue);
    return null;
  }

  /** rules.quantity_problem: the quantity at its scale, or null when it is not a valid one at `at`. */
  private BigDecimal quantity(String text, BigDecimal at) {
    if (text == null || !quantityPattern.matcher(text).lookingAt()) {
      return null;
    }
    BigDecimal value = new BigDecimal(text).setScale(quantityScale);
    boolean valid = value.signum() > 0 && at.compareTo(maxTradePrice) < 0 && value.multiply(at).compareTo(maxNotional) < 0;
    return valid ? value : null;
  }
}
