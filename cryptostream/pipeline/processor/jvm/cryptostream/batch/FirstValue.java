package cryptostream.batch;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The first JSON value of a message, read the way schema/json_reader.py reads it (its Java
 * twin: the same limits, the same idea of what is JSON, what follows the value ignored).
 * tests/integration/test_parity.py holds the two to the same answers on generated input.
 */
final class FirstValue {
  enum Kind { OBJECT, ARRAY, STRING, NUMBER, LITERAL }

  /** What a field of the root object holds; the names json_reader.py gives them. */
  enum ValueKind { STRING, INT, FLOAT, BOOL, NULL, NESTED }

  /** A field of the root object: an INT's value is a Long or, when it does not fit one, a BigInteger. */
  record Pair(String name, ValueKind kind, Object value) {}

  static final class NotJson extends Exception {
    private static final long serialVersionUID = 1L;

    NotJson(String why) {
      super(why, null, false, false);  // thrown for every bad message: no stack trace
    }
  }

  final Kind kind;
  final List<Pair> pairs = new ArrayList<>();
  /** No repeated name in any object and no lone surrogate in any string (for a non-object). */
  boolean plain = true;

  private FirstValue(Kind kind) {
    this.kind = kind;
  }

  static FirstValue read(String text, int maxDepth, int maxDigits) throws NotJson {
    int at = skipSpace(text, 0);
    if (at == text.length()) {
      throw new NotJson("no JSON value");
    }
    char c = text.charAt(at);
    if (c == '{' || c == '[') {
      return new Reader(text, maxDepth, maxDigits).container(at);
    }
    if (c == '"') {
      FirstValue string = new FirstValue(Kind.STRING);
      string.plain = !hasLoneSurrogate(new Reader(text, maxDepth, maxDigits).string(at));
      return string;
    }
    return rootScalar(text, at);
  }

  /** A number or literal at the root, followed by whitespace or the end of the text. */
  private static FirstValue rootScalar(String text, int at) throws NotJson {
    int end = numberEnd(text, at, null);
    Kind kind = Kind.NUMBER;
    if (end < 0) {
      end = literalEnd(text, at);
      kind = Kind.LITERAL;
      if (end < 0) {
        throw new NotJson("not a JSON value");
      }
    }
    if (end < text.length() && !isSpace(text.charAt(end))) {
      throw new NotJson("no space after a root-level value");
    }
    return new FirstValue(kind);
  }

  /** The reader of one object or array, with an explicit stack (deep nesting cannot exhaust Java's). */
  private static final class Reader {
    private static final int VALUE = 0, VALUE_OR_CLOSE = 1, NAME = 2, NAME_OR_CLOSE = 3, COLON = 4, AFTER = 5;
    private final String text;
    private final int maxDepth;
    private final int maxDigits;
    private final StringBuilder chars = new StringBuilder();
    private int at;

    Reader(String text, int maxDepth, int maxDigits) {
      this.text = text;
      this.maxDepth = maxDepth;
      this.maxDigits = maxDigits;
    }

    FirstValue container(int start) throws NotJson {
      FirstValue first = new FirstValue(text.charAt(start) == '{' ? Kind.OBJECT : Kind.ARRAY);
      boolean rootObject = first.kind == Kind.OBJECT;
      boolean names = !rootObject;  // repeated names matter only to a non-object's plainness
      List<Set<String>> stack = new ArrayList<>();  // per open container: its names, or null for an array
      List<Boolean> isObject = new ArrayList<>();
      int state = VALUE;
      String name = "";
      at = start;
      while (true) {
        at = skipSpace(text, at);
        if (at == text.length()) {
          throw new NotJson("unexpected end of JSON");
        }
        char c = text.charAt(at);
        boolean valueState = state == VALUE || state == VALUE_OR_CLOSE;
        if (valueState && (c == '{' || c == '[')) {
          if (stack.size() == maxDepth) {
            throw new NotJson("nested too deeply");
          }
          if (stack.size() == 1 && rootObject) {
            first.pairs.add(new Pair(name, ValueKind.NESTED, null));
          }
          stack.add(c == '{' && names ? new HashSet<>() : null);
          isObject.add(c == '{');
          state = c == '{' ? NAME_OR_CLOSE : VALUE_OR_CLOSE;
          at++;
        } else if ((state == VALUE_OR_CLOSE && c == ']') || (state == NAME_OR_CLOSE && c == '}')
            || (state == AFTER && c == (last(isObject) ? '}' : ']'))) {
          stack.remove(stack.size() - 1);
          isObject.remove(isObject.size() - 1);
          at++;
          if (stack.isEmpty()) {
            return first;
          }
          state = AFTER;
        } else if (valueState) {
          Pair value = scalar(name);
          if (value.kind == ValueKind.STRING && names && hasLoneSurrogate((String) value.value)) {
            first.plain = false;
          }
          if (stack.size() == 1 && rootObject) {
            first.pairs.add(value);
          }
          state = AFTER;
        } else if ((state == NAME || state == NAME_OR_CLOSE) && c == '"') {
          name = string(at);
          Set<String> seen = stack.get(stack.size() - 1);
          if (seen != null && (hasLoneSurrogate(name) || !seen.add(name))) {
            first.plain = false;
          }
          state = COLON;
        } else if (state == COLON && c == ':') {
          state = VALUE;
          at++;
        } else if (state == AFTER && c == ',') {
          state = last(isObject) ? NAME : VALUE;
          at++;
        } else {
          throw new NotJson("unexpected character");
        }
      }
    }

    /** The string, number or literal at `at` inside a container, as the field `name`'s pair. */
    private Pair scalar(String name) throws NotJson {
      char c = text.charAt(at);
      if (c == '"') {
        return new Pair(name, ValueKind.STRING, string(at));
      }
      int[] digits = new int[1];
      int end = numberEnd(text, at, digits);
      if (end >= 0) {
        if (digits[0] > maxDigits) {
          throw new NotJson("number too long");
        }
        String token = text.substring(at, end);
        at = end;
        boolean integer = token.indexOf('.') < 0 && token.indexOf('e') < 0 && token.indexOf('E') < 0;
        return integer ? new Pair(name, ValueKind.INT, integerValue(token)) : new Pair(name, ValueKind.FLOAT, token);
      }
      end = literalEnd(text, at);
      if (end < 0) {
        throw new NotJson("not a JSON value");
      }
      ValueKind kind = c == 'n' ? ValueKind.NULL : ValueKind.BOOL;
      Object value = c == 'n' ? null : Boolean.valueOf(c == 't');
      at = end;
      return new Pair(name, kind, value);
    }

    /** The decoded JSON string starting at `start` (a quote); `at` moves past it. */
    String string(int start) throws NotJson {
      chars.setLength(0);
      int i = start + 1;
      while (i < text.length()) {
        char c = text.charAt(i++);
        if (c == '"') {
          at = i;
          return chars.toString();
        }
        if (c < 0x20) {
          throw new NotJson("control character in a string");
        }
        if (c != '\\') {
          chars.append(c);
          continue;
        }
        if (i == text.length()) {
          break;
        }
        char escape = text.charAt(i++);
        switch (escape) {
          case '"', '\\', '/' -> chars.append(escape);
          case 'b' -> chars.append('\b');
          case 'f' -> chars.append('\f');
          case 'n' -> chars.append('\n');
          case 'r' -> chars.append('\r');
          case 't' -> chars.append('\t');
          case 'u' -> {
            chars.append(hex4(i));
            i += 4;
          }
          default -> throw new NotJson("bad escape");
        }
      }
      throw new NotJson("unterminated string");
    }

    private char hex4(int from) throws NotJson {
      if (from + 4 > text.length()) {
        throw new NotJson("bad \\u escape");
      }
      int value = 0;
      for (int i = from; i < from + 4; i++) {
        char c = text.charAt(i);
        int digit = isDigit(c) ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (digit < 0) {
          throw new NotJson("bad \\u escape");
        }
        value = value * 16 + digit;
      }
      return (char) value;
    }
  }

  private static boolean last(List<Boolean> flags) {
    return flags.get(flags.size() - 1);
  }

  /** Where the number at `at` ends (-1 when none starts there); `digits[0]` gets its digit count. */
  private static int numberEnd(String text, int at, int[] digits) {
    int i = at;
    int n = text.length();
    if (i < n && text.charAt(i) == '-') {
      i++;
    }
    if (i >= n || !isDigit(text.charAt(i))) {
      return -1;
    }
    int first = i;
    i = text.charAt(i) == '0' ? i + 1 : digitsEnd(text, i);
    int count = i - first;
    if (i + 1 < n && text.charAt(i) == '.' && isDigit(text.charAt(i + 1))) {
      int end = digitsEnd(text, i + 1);
      count += end - i - 1;
      i = end;
    }
    if (i < n && (text.charAt(i) == 'e' || text.charAt(i) == 'E')) {
      int sign = i + 1 < n && (text.charAt(i + 1) == '+' || text.charAt(i + 1) == '-') ? i + 2 : i + 1;
      if (sign < n && isDigit(text.charAt(sign))) {
        int end = digitsEnd(text, sign);
        count += end - sign;
        i = end;
      }
    }
    if (digits != null) {
      digits[0] = count;
    }
    return i;
  }

  private static int digitsEnd(String text, int i) {
    while (i < text.length() && isDigit(text.charAt(i))) {
      i++;
    }
    return i;
  }

  private static int literalEnd(String text, int at) {
    for (String word : new String[] {"true", "false", "null"}) {
      if (text.startsWith(word, at)) {
        return at + word.length();
      }
    }
    return -1;
  }

  /** A Long when it fits 64 bits, else a BigInteger. */
  private static Object integerValue(String token) {
    int digits = token.length() - (token.charAt(0) == '-' ? 1 : 0);
    if (digits <= 18) {
      return Long.parseLong(token);
    }
    BigInteger value = new BigInteger(token);
    return value.bitLength() < 64 ? (Object) value.longValue() : value;
  }

  private static boolean isDigit(char c) {
    return c >= '0' && c <= '9';
  }

  private static boolean isSpace(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
  }

  private static int skipSpace(String text, int at) {
    while (at < text.length() && isSpace(text.charAt(at))) {
      at++;
    }
    return at;
  }

  /** A surrogate not paired with its other half: Python holds a pair as one character, a lone one as itself. */
  static boolean hasLoneSurrogate(String text) {
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (Character.isHighSurrogate(c) && i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))) {
        i++;
      } else if (Character.isSurrogate(c)) {
        return true;
      }
    }
    return false;
  }
}
