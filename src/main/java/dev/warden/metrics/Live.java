package dev.warden.metrics;

import java.util.function.DoubleSupplier;

/**
 * The live values the metrics read at each scrape, each from the part that keeps it (the call
 * admission, the executions, the approvals, the pools, the egress proxy, the rate limits): read
 * through a callback, so no number is kept twice and none can drift from the part's own. A value
 * not known yet (the sandbox still starting, no container engine) reads 0.
 *
 * @param callsInFlight tool calls admitted and not yet answered
 * @param executionsRunning runs holding a place (a sandbox, a container, an inline slot) now
 * @param executionsQueued calls waiting for a place (the queue of limits.max_concurrent)
 * @param approvalsPending held calls no one has decided yet
 * @param kernelsRunning the sessions' kernels alive now
 * @param sandboxSlots L2/L1 slots this server has (sandbox.slots)
 * @param sandboxSlotsFree of them, free now
 * @param sandboxWarm sandboxes started ahead of a call and waiting for one
 * @param containers containers of this server that exist now (running or warm)
 * @param containersWarm of them, warm and waiting for a call
 * @param containersRunning calls running in a container now
 * @param egressBytesIn bytes the runs received through the egress proxy, since start
 * @param egressBytesOut bytes the runs sent through it
 * @param egressRefusals connections it refused
 * @param rateRefusals calls refused by a rate (token bucket: limits' per-client and per-tier rates)
 * @param callCapRefusals calls refused because their client (or all clients) had as many in flight as allowed
 */
public record Live(DoubleSupplier callsInFlight, DoubleSupplier executionsRunning, DoubleSupplier executionsQueued,
        DoubleSupplier approvalsPending, DoubleSupplier kernelsRunning, DoubleSupplier sandboxSlots,
        DoubleSupplier sandboxSlotsFree, DoubleSupplier sandboxWarm, DoubleSupplier containers,
        DoubleSupplier containersWarm, DoubleSupplier containersRunning, DoubleSupplier egressBytesIn,
        DoubleSupplier egressBytesOut, DoubleSupplier egressRefusals, DoubleSupplier rateRefusals,
        DoubleSupplier callCapRefusals) {

    private static final DoubleSupplier ZERO = () -> 0;

    /** Every value 0: metrics of calls and audit writes only (tests). */
    public static Live none() {
        return new Live(ZERO, ZERO, ZERO, ZERO, ZERO, ZERO, ZERO, ZERO, ZERO, ZERO, ZERO, ZERO, ZERO, ZERO, ZERO, ZERO);
    }
}
