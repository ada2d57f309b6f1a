package dev.warden.exec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The kernel protocol against a fake kernel (a thread that answers each request as a test says): a
 * reply is taken only when it is the reply to this request and within its bounds; anything else ends
 * the kernel, and a kernel that does not heed an interrupt is killed. The real interpreters are in
 * KernelContractIT and kernels.test.mjs.
 */
class KernelProtocolTest {

    private final ExecutorService io = Executors.newCachedThreadPool();

    @AfterEach
    void stop() {
        io.shutdownNow();
    }

    /** A box whose program is {@code answer}: the request line in, the bytes to reply out (null: never). */
    private final class FakeBox implements Kernel.Box {
        final PipedOutputStream toKernel = new PipedOutputStream();
        final PipedInputStream replies = new PipedInputStream(1 << 20);
        final PipedOutputStream fromKernel;
        final AtomicBoolean destroyed = new AtomicBoolean();
        final AtomicInteger interrupts = new AtomicInteger();

        FakeBox(String hello, Function<String, byte[]> answer) throws IOException {
            fromKernel = new PipedOutputStream(replies);
            PipedInputStream requests = new PipedInputStream(toKernel, 1 << 20);
            io.submit(() -> {
                try {
                    fromKernel.write((hello + "\n").getBytes(StandardCharsets.UTF_8));
                    fromKernel.flush();
                    BufferedReader in = new BufferedReader(new InputStreamReader(requests, StandardCharsets.UTF_8));
                    for (String line; (line = in.readLine()) != null;) {
                        String[] f = line.split(" ");
                        in.skip(Long.parseLong(f[1]) + Long.parseLong(f[2]));
                        byte[] reply = answer.apply(f[0]);
                        if (reply != null) {
                            fromKernel.write(reply);
                            fromKernel.flush();
                        }
                    }
                }
                catch (IOException ended) {
                    // the test destroyed the box
                }
                return null;
            });
        }

        @Override
        public OutputStream requests() {
            return toKernel;
        }

        @Override
        public InputStream replies() {
            return replies;
        }

        @Override
        public boolean alive() {
            return !destroyed.get();
        }

        @Override
        public void interrupt() {
            interrupts.incrementAndGet();
        }

        @Override
        public Map<Long, Long> processes() {
            return Map.of();
        }

        @Override
        public void kill(Collection<Long> hostPids) {
        }

        @Override
        public void resetCounters() {
        }

        @Override
        public Usage usage() {
            return Usage.UNKNOWN;
        }

        @Override
        public long oomKills() {
            return 0;
        }

        @Override
        public long pidsLimitHits() {
            return 0;
        }

        @Override
        public boolean processesAtLimit() {
            return false;
        }

        @Override
        public Long memoryKb() {
            return null;
        }

        @Override
        public CallEgress.Use egress(CallEgress egress) {
            return () -> { };
        }

        @Override
        public void destroy() {
            if (destroyed.compareAndSet(false, true)) {
                try {
                    fromKernel.close();
                    toKernel.close();
                }
                catch (IOException ignored) {
                    // closing pipes
                }
            }
        }
    }

    private static final String HELLO = "{\"hello\":\"warden-kernel\",\"language\":\"python\",\"pid\":1}";

    private static byte[] reply(String nonce, String status, String out) {
        byte[] o = out.getBytes(StandardCharsets.UTF_8);
        return ("{\"nonce\":\"" + nonce + "\",\"status\":\"" + status + "\",\"exit_code\":0,\"out\":" + o.length
                + ",\"err\":0,\"out_size\":" + o.length + ",\"err_size\":0,\"images\":[],\"images_dropped\":0}\n" + out)
            .getBytes(StandardCharsets.UTF_8);
    }

    private Kernel.CellResult cell(Kernel k, long timeoutMs) {
        Limits l = new Limits(timeoutMs, 60_000, 512, 64, 100, 64, 256, 64);
        return k.run(new Kernel.Cell("print(1)", new byte[0], l, new Cancel(), CallEgress.NONE, 2, 1000));
    }

    @Test
    void aReplyToTheRequestIsItsResult() throws Exception {
        FakeBox box = new FakeBox(HELLO, nonce -> reply(nonce, "ok", "1\n"));
        Kernel k = Kernel.open(box, "python", io);
        Kernel.CellResult r = cell(k, 5_000);
        ExecOutcome.Completed c = assertInstanceOf(ExecOutcome.Completed.class, r.outcome());
        assertEquals("1\n", new String(c.stdout().bytes(), StandardCharsets.UTF_8));
        assertFalse(r.ended());
        assertTrue(k.alive());
    }

    @Test
    void aWrongHelloIsNoKernel() throws Exception {
        FakeBox box = new FakeBox("{\"hello\":\"something else\"}", nonce -> null);
        assertThrows(IOException.class, () -> Kernel.open(box, "python", io));
        assertTrue(box.destroyed.get(), "its sandbox is destroyed");
    }

    @Test
    void aReplyToAnotherRequestOrPastItsBoundsEndsTheKernel() throws Exception {
        for (Function<String, byte[]> liar : List.<Function<String, byte[]>>of(
                nonce -> reply("0000000000000000", "ok", "forged\n"),
                nonce -> reply(nonce, "ok", "x".repeat(101)), // over the output cap of 100
                nonce -> reply(nonce, "rooted", ""),
                nonce -> ("{" + "\"a\":1,".repeat(1000) + "\"b\":2}\n").getBytes(StandardCharsets.UTF_8))) {
            FakeBox box = new FakeBox(HELLO, liar);
            Kernel k = Kernel.open(box, "python", io);
            Kernel.CellResult r = cell(k, 5_000);
            assertTrue(r.ended(), r.toString());
            assertTrue(box.destroyed.get());
            assertEquals("", new String(((ExecOutcome.Completed) r.outcome()).stdout().bytes(), StandardCharsets.UTF_8),
                    "nothing of a broken reply is passed on");
        }
    }

    @Test
    void aCellThatIgnoresItsInterruptIsKilledAtTheWallLimit() throws Exception {
        FakeBox box = new FakeBox(HELLO, nonce -> null); // never answers
        Kernel k = Kernel.open(box, "python", io);
        long t0 = System.nanoTime();
        Kernel.CellResult r = cell(k, 300);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertInstanceOf(ExecOutcome.TimedOut.class, r.outcome());
        assertEquals(1, box.interrupts.get(), "interrupted once");
        assertTrue(r.ended() && box.destroyed.get(), "then killed");
        assertTrue(ms >= 300 + Kernel.INTERRUPT_GRACE_MS && ms < 300 + Kernel.INTERRUPT_GRACE_MS + 3_000, ms + " ms");
    }

    @Test
    void anInterruptedCellThatAnswersKeepsItsKernel() throws Exception {
        FakeBox[] self = new FakeBox[1];
        self[0] = new FakeBox(HELLO, nonce -> {
            long deadline = System.currentTimeMillis() + 5_000;
            while (self[0].interrupts.get() == 0 && System.currentTimeMillis() < deadline) {
                Thread.onSpinWait();
            }
            return reply(nonce, "interrupted", "");
        });
        Kernel k = Kernel.open(self[0], "python", io);
        Kernel.CellResult r = cell(k, 200);
        assertInstanceOf(ExecOutcome.TimedOut.class, r.outcome());
        assertFalse(r.ended());
        assertTrue(k.alive());
    }
}
