package dev.warden.operator;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class ReadableTest {

    @Test
    void spans() {
        assertEquals("0 s", Readable.span(999));
        assertEquals("59 s", Readable.span(59_999));
        assertEquals("1 min", Readable.span(60_000));
        assertEquals("4 min 12 s", Readable.span(252_000));
        assertEquals("1 h", Readable.span(3_600_000));
        assertEquals("2 h 5 min", Readable.span(2 * 3_600_000 + 5 * 60_000 + 7_000));
        assertEquals("3 d 4 h", Readable.span(3 * 86_400_000L + 4 * 3_600_000));
        assertEquals("0 s", Readable.span(-5));
    }

    @Test
    void expiry() {
        assertEquals("expires in 4 min 12 s", Readable.expiresIn(252_900));
        assertEquals("expires in 1 s", Readable.expiresIn(1_000));
        assertEquals("expired", Readable.expiresIn(999));
        assertEquals("expired", Readable.expiresIn(0));
    }

    @Test
    void instants() {
        assertEquals("2026-12-02 22:50:01 UTC", Readable.instant("2026-12-02T22:50:01.123456789Z"));
        assertEquals("not a time", Readable.instant("not a time"));
        assertEquals("", Readable.instant(null));
    }

    @Test
    void megabytes() {
        assertEquals("51.3 MB", Readable.megabytes(52_480));
        assertEquals("1.0 MB", Readable.megabytes(1024));
        assertEquals("0.0 MB", Readable.megabytes(0));
        assertEquals("2048.0 MB", Readable.megabytes(2_097_152));
    }
}
