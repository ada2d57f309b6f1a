package dev.warden.call;

/**
 * Where the end of each tool call is counted (the server's metrics): the pipeline reports every call
 * it answers, the composition root decides who listens. Defined here, with the values it carries, so
 * the pipeline and the metrics need not know each other.
 */
@FunctionalInterface
public interface CallMeter {

    /** Counts nothing: a pipeline with no metrics (tests, benchmarks). */
    CallMeter NONE = (tool, tier, status, nanos) -> {
    };

    /**
     * One answered call.
     *
     * @param tier the tier it was given as the result says it ({@code L1} … {@code L4}), or null for a tool
     *     that has none (get_execution, list_executions, the workspace tools)
     * @param nanos from the call reaching the pipeline to its answer; negative when not measured
     */
    void ended(String tool, String tier, Status status, long nanos);
}
