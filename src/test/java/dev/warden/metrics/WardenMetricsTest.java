package dev.warden.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.call.Status;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class WardenMetricsTest {

    private static String scrape(WardenMetrics m) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        m.write(out);
        return out.toString(StandardCharsets.UTF_8);
    }

    @Test
    void callsAreCountedByToolTierAndStatusAndTimedWhenMeasured() throws IOException {
        WardenMetrics m = new WardenMetrics("1.2.3", Live.none());
        m.ended("run_command", "L1", Status.OK, 2_000_000);
        m.ended("run_command", "L1", Status.OK, 3_000_000);
        m.ended("execute_code", "L2", Status.FAILED, 40_000_000);
        m.ended("get_execution", null, Status.RUNNING, -1);
        String text = scrape(m);
        assertTrue(text.contains("warden_calls_total{status=\"ok\",tier=\"L1\",tool=\"run_command\"} 2.0"), text);
        assertTrue(text.contains("warden_calls_total{status=\"failed\",tier=\"L2\",tool=\"execute_code\"} 1.0"), text);
        assertTrue(text.contains("warden_calls_total{status=\"running\",tier=\"none\",tool=\"get_execution\"} 1.0"), text);
        assertTrue(text.contains("warden_call_duration_seconds_count{tier=\"L1\",tool=\"run_command\"} 2"), text);
        assertTrue(text.contains("warden_call_duration_seconds_bucket{tier=\"L1\",tool=\"run_command\",le=\"0.005\"} 2"), text);
        assertTrue(text.contains("warden_call_duration_seconds_bucket{tier=\"L2\",tool=\"execute_code\",le=\"0.025\"} 0"), text);
        assertTrue(text.contains("warden_call_duration_seconds_bucket{tier=\"L2\",tool=\"execute_code\",le=\"0.05\"} 1"), text);
        // not measured: counted, never observed
        assertFalse(text.contains("warden_call_duration_seconds_count{tier=\"none\",tool=\"get_execution\"}"), text);
        assertTrue(text.contains("warden_build_info{version=\"1.2.3\"} 1.0"), text);
    }

    @Test
    void labelValuesStayInTheirBoundedSets() throws IOException {
        WardenMetrics m = new WardenMetrics("x", Live.none());
        m.ended("rm -rf / # a tool name from nowhere", "L9", Status.INVALID, 1);
        m.ended(null, null, Status.INVALID, 1);
        String text = scrape(m);
        assertTrue(text.contains("warden_calls_total{status=\"invalid\",tier=\"none\",tool=\"other\"} 2.0"), text);
        assertFalse(text.contains("rm -rf"), text);
        assertFalse(text.contains("L9"), text);
    }

    @Test
    void liveValuesAreReadAtEachScrape() throws IOException {
        AtomicLong queued = new AtomicLong(3);
        AtomicLong bytesIn = new AtomicLong(1000);
        Live none = Live.none();
        Live live = new Live(none.callsInFlight(), none.executionsRunning(), queued::get, none.approvalsPending(),
                none.kernelsRunning(), () -> 16, () -> 12, none.sandboxWarm(), none.containers(), none.containersWarm(),
                none.containersRunning(), bytesIn::get, () -> 20, () -> 5, () -> 7, () -> 1);
        WardenMetrics m = new WardenMetrics("x", live);
        String first = scrape(m);
        assertTrue(first.contains("warden_executions_queued 3.0"), first);
        assertTrue(first.contains("warden_sandbox_slots 16.0"), first);
        assertTrue(first.contains("warden_sandbox_slots_free 12.0"), first);
        assertTrue(first.contains("warden_egress_bytes_total{direction=\"in\"} 1000.0"), first);
        assertTrue(first.contains("warden_egress_bytes_total{direction=\"out\"} 20.0"), first);
        assertTrue(first.contains("warden_egress_refusals_total 5.0"), first);
        assertTrue(first.contains("warden_rate_limit_refusals_total{limit=\"rate\"} 7.0"), first);
        assertTrue(first.contains("warden_rate_limit_refusals_total{limit=\"calls\"} 1.0"), first);
        queued.set(0);
        bytesIn.addAndGet(24);
        String second = scrape(m);
        assertTrue(second.contains("warden_executions_queued 0.0"), second);
        assertTrue(second.contains("warden_egress_bytes_total{direction=\"in\"} 1024.0"), second);
    }

    @Test
    void auditWritesAreAHistogram() throws IOException {
        WardenMetrics m = new WardenMetrics("x", Live.none());
        m.auditWritten(300_000); // 0.3 ms
        m.auditWritten(2_000_000_000L); // 2 s
        String text = scrape(m);
        assertTrue(text.contains("warden_audit_write_seconds_bucket{le=\"5.0E-4\"} 1"), text);
        assertTrue(text.contains("warden_audit_write_seconds_count 2"), text);
        assertEquals("text/plain; version=0.0.4; charset=utf-8", m.contentType());
    }
}
