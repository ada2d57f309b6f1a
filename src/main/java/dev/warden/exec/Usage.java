package dev.warden.exec;

/** What a run used, where the executor can measure it (null where it cannot). */
public record Usage(Long cpuMs, Long peakMemoryKb) {

    public static final Usage UNKNOWN = new Usage(null, null);
}
