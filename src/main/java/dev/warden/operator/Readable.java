package dev.warden.operator;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.Map;

/**
 * Times and sizes as an operator reads them: a span as "4 min 12 s", an instant as "2026-12-02 22:50:01
 * UTC", memory as "51.3 MB". The page's script counts down with the same words (see
 * operator/page.mustache).
 */
final class Readable {

    private static final DateTimeFormatter UTC = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss 'UTC'")
        .withZone(ZoneOffset.UTC);

    private Readable() {
    }

    /** Whole seconds, rounded down: "0 s", "59 s", "4 min 12 s", "4 min", "2 h 5 min", "3 d 4 h". */
    static String span(long millis) {
        long s = Math.max(0, millis) / 1000;
        if (s < 60) {
            return s + " s";
        }
        if (s < 3600) {
            return s / 60 + " min" + (s % 60 == 0 ? "" : " " + s % 60 + " s");
        }
        if (s < 86_400) {
            return s / 3600 + " h" + (s % 3600 / 60 == 0 ? "" : " " + s % 3600 / 60 + " min");
        }
        return s / 86_400 + " d" + (s % 86_400 / 3600 == 0 ? "" : " " + s % 86_400 / 3600 + " h");
    }

    /** "expires in 4 min 12 s", or "expired" once no time is left. */
    static String expiresIn(long millis) {
        return millis < 1000 ? "expired" : "expires in " + span(millis);
    }

    /** Kibibytes as mebibytes to a tenth, "51.3 MB" (the unit people read it as), whatever the locale. */
    static String megabytes(long kb) {
        return String.format(Locale.ROOT, "%.1f MB", kb / 1024.0);
    }

    /**
     * A kernel's memory (its {@code memory_kb} in the console's state) in MB; "not running" while its
     * interpreter is gone (the session's next cell starts it afresh), "unknown" when it cannot be read.
     */
    static String memory(Map<String, Object> kernel) {
        if (!Boolean.TRUE.equals(kernel.get("running"))) {
            return "not running";
        }
        return kernel.get("memory_kb") instanceof Number kb ? megabytes(kb.longValue()) : "unknown";
    }

    /** An ISO-8601 instant to the second in UTC; anything else as it is. */
    static String instant(Object iso) {
        if (iso == null) {
            return "";
        }
        try {
            return UTC.format(Instant.parse(String.valueOf(iso)));
        }
        catch (DateTimeParseException e) {
            return String.valueOf(iso);
        }
    }
}
