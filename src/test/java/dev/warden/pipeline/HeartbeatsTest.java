package dev.warden.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.exec.LiveOutput;
import dev.warden.sanitize.Sanitizer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/** Progress while a program runs: periodic, with its latest output, sanitized, and only for a client that asked. */
class HeartbeatsTest {

    private record Report(double done, String message) {
    }

    @Test
    void aRunningCallReportsHowLongAndItsLastLinesUntilItEnds() throws Exception {
        List<Report> reports = new CopyOnWriteArrayList<>();
        Caller caller = new Caller("s", "c", "stdio", "s", null, (done, m) -> reports.add(new Report(done, m)), null);
        CallContext c = new CallContext("ex_1", caller, "run_command", Map.of(), null);
        LiveOutput live = new LiveOutput();
        Heartbeats h = new Heartbeats(new Sanitizer(List.of("hunter2-secret-token"), Map.of()));
        try (Heartbeats.Beat beat = h.start(c, live)) {
            Thread.sleep(Heartbeats.PERIOD_MS + 300);
            byte[] b = "step 1\nstep 2 with hunter2-secret-token\n".getBytes(StandardCharsets.UTF_8);
            live.write(b, 0, b.length);
            Thread.sleep(Heartbeats.PERIOD_MS);
        }
        int after = reports.size();
        Thread.sleep(Heartbeats.PERIOD_MS + 300);
        assertEquals(after, reports.size(), "no beat after the run ended");
        assertTrue(reports.size() >= 2, reports.toString());
        assertTrue(reports.get(0).message().startsWith("running for 1 s, no output yet"), reports.toString());
        Report last = reports.get(reports.size() - 1);
        assertTrue(last.message().contains("last output: step 1|step 2 with"), last.message());
        assertTrue(!last.message().contains("hunter2-secret-token"), "sanitized: " + last.message());
        assertTrue(last.done() > reports.get(0).done(), "progress increases");
    }

    @Test
    void aClientWithoutAProgressTokenGetsNothing() throws Exception {
        CallContext c = new CallContext("ex_2", new Caller("s", "c", "stdio"), "run_command", Map.of(), null);
        try (Heartbeats.Beat beat = new Heartbeats(new Sanitizer(List.of(), Map.of())).start(c, new LiveOutput())) {
            Thread.sleep(10);
        }
    }
}
