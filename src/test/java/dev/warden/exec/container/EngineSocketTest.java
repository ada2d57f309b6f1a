package dev.warden.exec.container;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The engine's multiplexed stream as Warden reads it (frames, caps, the end-of-run marker), and how a run's command is built. */
class EngineSocketTest {

    static final byte[] MARKER = ContainerCommand.END_MARKER.getBytes(StandardCharsets.US_ASCII);

    private final ByteArrayOutputStream wire = new ByteArrayOutputStream();

    private EngineSocketTest frame(int stream, String text) {
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        wire.writeBytes(new byte[] {(byte) stream, 0, 0, 0, (byte) (b.length >>> 24), (byte) (b.length >>> 16),
                (byte) (b.length >>> 8), (byte) b.length});
        wire.writeBytes(b);
        return this;
    }

    private EngineSocket.Hijacked.Outputs drain(int cap, int splitAt) {
        byte[] all = wire.toByteArray();
        // part of the stream already read with the engine's 101 answer, the rest from the socket
        int cut = Math.min(splitAt, all.length);
        ByteBuffer pending = ByteBuffer.wrap(all, 0, cut).slice();
        return EngineSocket.drain(Channels.newChannel(new ByteArrayInputStream(all, cut, all.length - cut)), pending,
                cap, MARKER);
    }

    private static String text(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }

    @Test
    void framesGoToTheirStreamsAndTheMarkerIsTakenOff() {
        frame(1, "hello ").frame(2, "warn\n").frame(1, "world\n").frame(1, "\u001eWARDEN-EXIT:3\n")
            .frame(2, "\u001eWARDEN-EXIT:3\n");
        for (int split : new int[] {0, 5, 9, 20, 1000}) {
            var o = drain(1024, split);
            assertEquals("hello world\n", text(o.stdout().bytes()));
            assertEquals("warn\n", text(o.stderr().bytes()));
            assertEquals(3, o.exitCode());
            assertFalse(o.stdout().truncated());
        }
    }

    /** What a background run's client reads while the frames arrive: the marker never, whatever splits it. */
    @Test
    void theLiveStreamsNeverShowTheMarkerButShowEverythingElse() {
        frame(1, "a\u001eb\n").frame(1, "no newline\u001eWARD").frame(1, "EN-EXIT:0").frame(1, "\n")
            .frame(2, "\0warden:exec\0").frame(2, "warn \u001eWARDEN-EXIT:x\n").frame(2, "\u001eWARDEN-EXIT:0\n");
        for (int split : new int[] {0, 7, 30, 1000}) {
            dev.warden.exec.StreamBuffer out = new dev.warden.exec.StreamBuffer(4096, new Object());
            dev.warden.exec.StreamBuffer err = new dev.warden.exec.StreamBuffer(4096, new Object());
            byte[] all = wire.toByteArray();
            int cut = Math.min(split, all.length);
            var o = EngineSocket.drain(Channels.newChannel(new ByteArrayInputStream(all, cut, all.length - cut)),
                    ByteBuffer.wrap(all, 0, cut).slice(), 1024, MARKER, new dev.warden.exec.LiveOutput(out, err));
            assertEquals(0, o.exitCode());
            assertEquals("a\u001eb\nno newline", text(out.read(0, 4096, false).bytes()));
            assertEquals("warn \u001eWARDEN-EXIT:x\n", text(err.read(0, 4096, false).bytes()), "the start mark is off too");
        }
    }

    @Test
    void aMarkerSplitAcrossFramesAndGluedToOutputIsFound() {
        frame(1, "no newline\u001eWARD").frame(1, "EN-EXIT:0").frame(1, "\n").frame(2, "\u001eWARDEN-EXIT:0\n");
        var o = drain(1024, 0);
        assertEquals("no newline", text(o.stdout().bytes()));
        assertEquals(0, o.exitCode());
    }

    @Test
    void aMarkerFollowedByMoreOutputIsNotTheEnd() {
        frame(1, "\u001eWARDEN-EXIT:0\nmore\n").frame(2, "\u001eWARDEN-EXIT:0\n");
        var o = drain(1024, 0);
        assertNull(o.exitCode(), "stdout did not end with the marker: read to the end of the stream");
        assertEquals("\u001eWARDEN-EXIT:0\nmore\n", text(o.stdout().bytes()));
    }

    @Test
    void differentStatusesOnTheTwoStreamsAreNoEnd() {
        frame(1, "\u001eWARDEN-EXIT:0\n").frame(2, "\u001eWARDEN-EXIT:1\n");
        assertNull(drain(1024, 0).exitCode());
    }

    @Test
    void theCapCutsOutputButNotTheMarker() {
        String big = "x".repeat(5000);
        frame(1, big).frame(1, "\u001eWARDEN-EXIT:0\n").frame(2, "\u001eWARDEN-EXIT:0\n");
        var o = drain(1024, 0);
        assertEquals(1024, o.stdout().bytes().length);
        assertTrue(o.stdout().truncated());
        assertEquals(0, o.exitCode());
        wire.reset();
        frame(1, "y".repeat(1024)).frame(1, "\u001eWARDEN-EXIT:0\n").frame(2, "\u001eWARDEN-EXIT:0\n");
        var exact = drain(1024, 0);
        assertArrayEquals("y".repeat(1024).getBytes(StandardCharsets.UTF_8), exact.stdout().bytes());
        assertFalse(exact.stdout().truncated(), "output of exactly the cap is not cut");
    }

    @Test
    void withoutAMarkerTheStreamEndDecides() {
        frame(1, "partial").frame(2, "killed");
        var o = drain(1024, 3);
        assertNull(o.exitCode());
        assertEquals("partial", text(o.stdout().bytes()));
        assertEquals("killed", text(o.stderr().bytes()));
    }

    @Test
    void theJavaClassIsThePublicOneElseMain() {
        assertEquals("Hello", ContainerCommand.javaClass("import x;\npublic final class Hello { }"));
        assertEquals("Main", ContainerCommand.javaClass("class Foo { public static void main(String[] a) {} }"));
    }

    @Test
    void placeholdersAreFilledOnceAndCodeIsNeverReadAsATemplate() {
        var vars = java.util.Map.of("{code}", "print('{class} {source} $1 \\\\')", "{class}", "Main", "{source}", "/tmp/warden/x.py");
        assertEquals(java.util.List.of("python3", "-c", "print('{class} {source} $1 \\\\')", "/tmp/warden/x.py:Main"),
                ContainerCommand.substitute(java.util.List.of("python3", "-c", "{code}", "{source}:{class}"), vars));
    }
}
