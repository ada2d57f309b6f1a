package dev.warden.metrics;

import dev.warden.call.CallMeter;
import dev.warden.call.Status;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.util.Set;
import java.util.function.DoubleSupplier;

/**
 * Warden's metrics in one registry of its own (not the library's default registry, so two servers in
 * one JVM, as in tests, never share counts). The names are part of docs/CONTRACT.md. Calls are
 * counted where the pipeline answers them ({@link #callEnded}, a {@link CallMeter}); the audit's writes
 * where the caller waits for its line ({@link #auditWritten}); everything else is read at scrape time
 * from {@link Live}.
 */
public final class WardenMetrics implements CallMeter {

    /**
     * The tools a call can be counted under; any other name counts as {@code other}, so a label value
     * never comes from a client (the SDK refuses unknown tools, but the bound must not depend on it).
     */
    public static final Set<String> TOOLS = Set.of("run_command", "execute_code", "request_approval", "get_execution",
            "send_input", "stop_execution", "list_executions", "read_file", "write_file", "list_files",
            "create_workspace", "delete_workspace", "resources/read");

    private static final Set<String> TIERS = Set.of("L1", "L2", "L3", "L4");

    /** Seconds: from an L1 {@code ls} (a few ms) to a held call a person decides on (minutes). */
    private static final double[] CALL_BUCKETS = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120,
        300, 600};
    /** Seconds: a write(2) (tens of µs) to an fsync on a slow disk, and the 5 s after which a write counts as failed. */
    private static final double[] AUDIT_BUCKETS = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
        0.1, 0.25, 0.5, 1, 5};

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final PrometheusTextFormatWriter text = PrometheusTextFormatWriter.create();
    private final Counter calls;
    private final Histogram durations;
    private final Histogram auditWrites;

    public WardenMetrics(String version, Live live) {
        calls = Counter.builder().name("warden_calls_total")
                .help("Tool calls answered, by tool, tier (none for tools without one) and result status")
                .labelNames("tool", "tier", "status").register(registry);
        durations = Histogram.builder().name("warden_call_duration_seconds")
                .help("Time from a tool call reaching Warden's pipeline to its answer, by tool and tier")
                .labelNames("tool", "tier").classicOnly().classicUpperBounds(CALL_BUCKETS).register(registry);
        auditWrites = Histogram.builder().name("warden_audit_write_seconds")
                .help("Time a call waits for its audit line to be written (with audit.fsync, to the disk)")
                .classicOnly().classicUpperBounds(AUDIT_BUCKETS).register(registry);
        GaugeWithCallback.builder().name("warden_build_info").help("Warden's version (the value is always 1)")
                .labelNames("version").callback(cb -> cb.call(1, version)).register(registry);
        gauge("warden_calls_in_flight", "Tool calls admitted and not yet answered", live.callsInFlight());
        gauge("warden_executions_running", "Runs holding a place (sandbox, container or inline slot) now",
                live.executionsRunning());
        gauge("warden_executions_queued", "Calls waiting for a place to run (queue depth of limits.max_concurrent)",
                live.executionsQueued());
        gauge("warden_approvals_pending", "Held calls waiting for a person's decision", live.approvalsPending());
        gauge("warden_kernels_running", "Kernels (execute_code with a kernel) alive now", live.kernelsRunning());
        gauge("warden_sandbox_slots", "Sandbox slots of this server (sandbox.slots)", live.sandboxSlots());
        gauge("warden_sandbox_slots_free", "Sandbox slots free now", live.sandboxSlotsFree());
        gauge("warden_sandbox_warm", "Sandboxes started ahead of a call, waiting for one", live.sandboxWarm());
        gauge("warden_containers", "Containers of this server that exist now, running or warm", live.containers());
        gauge("warden_containers_warm", "Warm containers waiting for a call", live.containersWarm());
        gauge("warden_containers_running", "Calls running in a container now", live.containersRunning());
        CounterWithCallback.builder().name("warden_egress_bytes_total")
                .help("Bytes through the egress proxy since start: in (received by runs) and out (sent by runs)")
                .labelNames("direction").callback(cb -> {
                    cb.call(live.egressBytesIn().getAsDouble(), "in");
                    cb.call(live.egressBytesOut().getAsDouble(), "out");
                }).register(registry);
        CounterWithCallback.builder().name("warden_egress_refusals_total")
                .help("Connections the egress proxy refused (not allowed, or no call running in that sandbox)")
                .callback(cb -> cb.call(live.egressRefusals().getAsDouble())).register(registry);
        CounterWithCallback.builder().name("warden_rate_limit_refusals_total")
                .help("Calls refused by a limit: rate (a token bucket was empty) or calls (too many in flight)")
                .labelNames("limit").callback(cb -> {
                    cb.call(live.rateRefusals().getAsDouble(), "rate");
                    cb.call(live.callCapRefusals().getAsDouble(), "calls");
                }).register(registry);
    }

    /**
     * A fleet's shared rate limits (fleet.redis): whether Redis answered the last check, and the calls refused
     * because it did not (fail closed). Registered only when the limits are shared.
     */
    public void sharedRateLimits(DoubleSupplier up, DoubleSupplier refusals) {
        gauge("warden_rate_limit_store_up", "1 while the shared rate limit store (Redis) answers, 0 while it cannot "
                + "be reached and calls are refused", up);
        CounterWithCallback.builder().name("warden_rate_limit_store_refusals_total")
                .help("Calls refused because the shared rate limit store (Redis) could not be reached")
                .callback(cb -> cb.call(refusals.getAsDouble())).register(registry);
    }

    /**
     * In a fleet: the replicas by state, and each live replica's running executions, pending approvals and
     * sessions (as of its last heartbeat), read from the shared state at most once a second.
     */
    public void fleet(java.util.function.Supplier<java.util.List<FleetLoad>> replicas) {
        java.util.function.Supplier<java.util.List<FleetLoad>> cached = new java.util.function.Supplier<>() {
            private java.util.List<FleetLoad> last = java.util.List.of();
            private long at;

            @Override
            public synchronized java.util.List<FleetLoad> get() {
                if (System.nanoTime() - at > 1_000_000_000L || at == 0) {
                    last = replicas.get();
                    at = System.nanoTime();
                }
                return last;
            }
        };
        GaugeWithCallback.builder().name("warden_fleet_replicas").help("Replicas of the fleet by state (live, dead, stopped)")
                .labelNames("state").callback(cb -> {
                    java.util.Map<String, Integer> n = new java.util.TreeMap<>(java.util.Map.of("live", 0, "dead", 0,
                            "stopped", 0));
                    cached.get().forEach(r -> n.merge(r.state(), 1, Integer::sum));
                    n.forEach((state, count) -> cb.call(count, state));
                }).register(registry);
        fleetGauge("warden_fleet_executions_running", "Executions running on each live replica (its last heartbeat)",
                cached, FleetLoad::running);
        fleetGauge("warden_fleet_approvals_pending", "Held calls pending on each live replica (its last heartbeat)",
                cached, FleetLoad::pending);
        fleetGauge("warden_fleet_sessions", "MCP sessions on each live replica (its last heartbeat)", cached,
                FleetLoad::sessions);
    }

    private void fleetGauge(String name, String help, java.util.function.Supplier<java.util.List<FleetLoad>> replicas,
            java.util.function.ToDoubleFunction<FleetLoad> value) {
        GaugeWithCallback.builder().name(name).help(help).labelNames("replica").callback(cb -> {
            for (FleetLoad r : replicas.get()) {
                if ("live".equals(r.state())) {
                    cb.call(value.applyAsDouble(r), r.replica());
                }
            }
        }).register(registry);
    }

    private void gauge(String name, String help, DoubleSupplier value) {
        GaugeWithCallback.builder().name(name).help(help).callback(cb -> cb.call(value.getAsDouble())).register(registry);
    }

    @Override
    public void ended(String tool, String tier, Status status, long nanos) {
        // Set.of refuses to be asked about null
        String t = tool != null && TOOLS.contains(tool) ? tool : "other";
        String tierLabel = tier != null && TIERS.contains(tier) ? tier : "none";
        calls.labelValues(t, tierLabel, status.wire()).inc();
        if (nanos >= 0) {
            durations.labelValues(t, tierLabel).observe(nanos / 1e9);
        }
    }

    /** One audit line written: how long its caller waited for it. */
    public void auditWritten(long nanos) {
        auditWrites.observe(nanos / 1e9);
    }

    /** The Prometheus text exposition (format 0.0.4) of every metric, as of now. */
    public void write(OutputStream out) throws IOException {
        text.write(out, registry.scrape());
    }

    public String contentType() {
        return text.getContentType();
    }
}
