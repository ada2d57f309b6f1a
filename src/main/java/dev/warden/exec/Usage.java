package dev.warden.exec;

/**
 * What a run used, where the executor can measure it (null where it cannot). {@code start}: how its
 * sandbox was started (L2: cold, a pre-created sandbox, a warm interpreter), for the audit line only;
 * null where the executor does not say.
 */
public record Usage(Long cpuMs, Long peakMemoryKb, String start) {

    public static final Usage UNKNOWN = new Usage(null, null);

    public Usage(Long cpuMs, Long peakMemoryKb) {
        this(cpuMs, peakMemoryKb, null);
    }

    public Usage withStart(String how) {
        return new Usage(cpuMs, peakMemoryKb, how);
    }
}
