package dev.warden.exec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** A background run's stream as its client reads it, and the stdin its client writes to. */
class StreamBufferTest {

    private static void write(StreamBuffer b, String s) {
        byte[] x = s.getBytes(StandardCharsets.UTF_8);
        b.write(x, 0, x.length);
    }

    private static String text(StreamBuffer.Chunk c) {
        return new String(c.bytes(), StandardCharsets.UTF_8);
    }

    @Test
    void readsByOffsetsGetEveryByteOnce() {
        StreamBuffer b = new StreamBuffer(64, new Object());
        write(b, "one\n");
        StreamBuffer.Chunk first = b.read(0, 100, true);
        assertEquals("one\n", text(first));
        assertEquals(4, first.next());
        write(b, "two\n");
        StreamBuffer.Chunk second = b.read(first.next(), 100, true);
        assertEquals("two\n", text(second));
        assertEquals(0, second.dropped());
        assertEquals("", text(b.read(second.next(), 100, true)), "nothing new");
        assertEquals("ne\ntw", text(b.read(1, 5, true)), "at most max bytes");
    }

    @Test
    void aFullBufferKeepsTheLatestAndCountsWhatAReaderLost() {
        StreamBuffer b = new StreamBuffer(8, new Object());
        write(b, "0123456789abcdef"); // 16 bytes through 8
        StreamBuffer.Chunk c = b.read(2, 100, false);
        assertEquals("89abcdef", text(c));
        assertEquals(6, c.dropped(), "bytes 2..7 were lost before this reader came back");
        assertEquals(16, c.next());
        assertEquals(0, b.read(16, 100, false).dropped(), "a reader past the end lost nothing");
        assertEquals(16, b.read(1000, 100, false).next(), "an offset past the end reads from the end");
    }

    @Test
    void aRunningReadNeverEndsInsideACharacter() {
        StreamBuffer b = new StreamBuffer(64, new Object());
        byte[] euro = "a€".getBytes(StandardCharsets.UTF_8); // 1 + 3 bytes
        b.write(euro, 0, 3);
        StreamBuffer.Chunk c = b.read(0, 100, true);
        assertEquals("a", text(c));
        assertEquals(1, c.next(), "the cut character waits for the next read");
        b.write(euro, 3, 1);
        assertEquals("€", text(b.read(c.next(), 100, true)));
        assertEquals(1, StreamBuffer.wholeCharacters(new byte[] {'a', (byte) 0xf0, (byte) 0x9f, (byte) 0x98}));
        assertEquals(5, StreamBuffer.wholeCharacters("a😀".getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void compactKeepsWhatReadsSee() {
        StreamBuffer b = new StreamBuffer(1 << 20, new Object());
        write(b, "hello");
        b.compact();
        assertEquals("ello", text(b.read(1, 100, false)));
        StreamBuffer full = new StreamBuffer(4, new Object());
        write(full, "abcdefg");
        full.compact();
        StreamBuffer.Chunk c = full.read(0, 100, false);
        assertEquals("defg", text(c));
        assertEquals(3, c.dropped());
    }

    @Test
    void theLauncherMarkIsTakenOffStderrAndWithoutItNothingIsKept() {
        StreamBuffer err = new StreamBuffer(64, new Object());
        LiveOutput live = new LiveOutput(new StreamBuffer(64, new Object()), err);
        byte[] mark = ProcessRun.EXEC_MARK;
        live.writeErr(mark, 0, 5);
        live.writeErr(mark, 5, mark.length - 5);
        live.writeErr("oops\n".getBytes(StandardCharsets.UTF_8), 0, 5);
        assertEquals("oops\n", text(err.read(0, 100, false)));
        StreamBuffer err2 = new StreamBuffer(64, new Object());
        LiveOutput notStarted = new LiveOutput(null, err2);
        byte[] launcher = "bwrap: Can't mount proc\n".getBytes(StandardCharsets.UTF_8);
        notStarted.writeErr(launcher, 0, launcher.length);
        assertEquals(0, err2.end(), "the launcher's own words are not the program's output");
    }

    @Test
    void stdinIsBoundedAndEndsWhenClosed() throws Exception {
        StdinPipe in = new StdinPipe(10);
        assertEquals(StdinPipe.Sent.SENT, in.write("hello".getBytes(StandardCharsets.UTF_8)));
        assertEquals(StdinPipe.Sent.FULL, in.write("world!".getBytes(StandardCharsets.UTF_8)), "11 bytes wait > 10");
        assertEquals(5, in.pending());
        ByteArrayOutputStream program = new ByteArrayOutputStream();
        Thread pump = new Thread(() -> {
            try {
                in.pumpInto(program);
            }
            catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        pump.start();
        assertEquals(StdinPipe.Sent.SENT, in.write(" you".getBytes(StandardCharsets.UTF_8)));
        in.close();
        pump.join(5000);
        assertTrue(!pump.isAlive(), "the pump ends once the pipe is closed and empty");
        assertEquals("hello you", program.toString(StandardCharsets.UTF_8));
        assertEquals(StdinPipe.Sent.CLOSED, in.write("x".getBytes(StandardCharsets.UTF_8)));
    }
}
