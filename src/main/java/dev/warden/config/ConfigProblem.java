package dev.warden.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Turns what Jackson says about a config into one line an operator can act on: the key path as
 * written in YAML ({@code limits.memory_mb}), what is wrong with it, and for a typo the key that was
 * probably meant. Jackson's own text names Java classes and records, which the operator never sees.
 */
final class ConfigProblem {

    private ConfigProblem() {
    }

    static String describe(JsonProcessingException e, JsonNode merged) {
        if (!(e instanceof JsonMappingException d)) {
            return firstLine(e.getOriginalMessage());
        }
        String path = path(d.getPath());
        if (e instanceof UnrecognizedPropertyException u) {
            String parent = path.contains(".") ? path.substring(0, path.lastIndexOf('.') + 1) : "";
            String guess = closest(u.getPropertyName(), u.getKnownPropertyIds());
            return path + ": unknown key; " + (guess != null ? "did you mean " + parent + guess + "?"
                    : "known keys here: " + u.getKnownPropertyIds().stream().map(String::valueOf).sorted()
                            .collect(Collectors.joining(", ")));
        }
        if (e instanceof MismatchedInputException m) {
            String got = e instanceof InvalidFormatException f ? quote(f.getValue()) : shown(at(merged, d.getPath()));
            if (got.equals("null")) {
                return path + ": needs a value (" + expected(m.getTargetType()) + "), not null";
            }
            return path + ": expected " + expected(m.getTargetType()) + ", got " + got;
        }
        return (path.isEmpty() ? "" : path + ": ") + firstLine(e.getOriginalMessage());
    }

    /** The key path in YAML terms: names joined by dots, list positions in brackets. */
    static String path(List<com.fasterxml.jackson.databind.JsonMappingException.Reference> refs) {
        StringBuilder b = new StringBuilder();
        for (var r : refs) {
            if (r.getFieldName() != null) {
                b.append(b.length() == 0 ? "" : ".").append(r.getFieldName());
            }
            else if (r.getIndex() >= 0) {
                b.append('[').append(r.getIndex()).append(']');
            }
        }
        return b.toString();
    }

    /** The known key nearest to a typo, if it is near enough to be what was meant. */
    static String closest(String typo, Collection<Object> known) {
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (Object k : known) {
            String candidate = String.valueOf(k);
            int d = distance(typo.toLowerCase(java.util.Locale.ROOT), candidate);
            if (d < bestDistance) {
                best = candidate;
                bestDistance = d;
            }
        }
        // two edits (a swap is two) for short keys, a third for long ones; further off is a guess
        int allowed = typo.length() >= 10 ? 3 : typo.length() >= 4 ? 2 : 1;
        return bestDistance <= allowed ? best : null;
    }

    /** Levenshtein distance. */
    static int distance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }

    private static String expected(Class<?> type) {
        if (type == null) {
            return "another kind of value";
        }
        if (type == int.class || type == Integer.class || type == long.class || type == Long.class) {
            return "a whole number";
        }
        if (type == boolean.class || type == Boolean.class) {
            return "true or false";
        }
        if (type == String.class) {
            return "a string";
        }
        if (Collection.class.isAssignableFrom(type)) {
            return "a list";
        }
        if (Map.class.isAssignableFrom(type) || type.isRecord()) {
            return "a mapping (key: value lines)";
        }
        return "a " + type.getSimpleName();
    }

    private static JsonNode at(JsonNode root, List<com.fasterxml.jackson.databind.JsonMappingException.Reference> refs) {
        JsonNode n = root;
        for (var r : refs) {
            if (n == null) {
                return null;
            }
            n = r.getFieldName() != null ? n.get(r.getFieldName()) : n.get(r.getIndex());
        }
        return n;
    }

    private static String shown(JsonNode n) {
        if (n == null || n.isNull() || n.isMissingNode()) {
            return "null";
        }
        if (n.isObject()) {
            return "a mapping";
        }
        if (n.isArray()) {
            return "a list";
        }
        return quote(n.isTextual() ? n.textValue() : n.toString());
    }

    private static String quote(Object v) {
        String s = String.valueOf(v);
        if (s.length() > 40) {
            s = s.substring(0, 37) + "...";
        }
        return v instanceof String ? "\"" + s + "\"" : s;
    }

    static String firstLine(String s) {
        if (s == null) {
            return "unreadable config";
        }
        int nl = s.indexOf('\n');
        return (nl < 0 ? s : s.substring(0, nl)).strip();
    }
}
