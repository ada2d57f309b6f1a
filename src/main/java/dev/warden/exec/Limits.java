package dev.warden.exec;

import dev.warden.config.WardenConfig.LimitsConfig;

/** The limits one run gets. Only ever tightened from the configured ones, never loosened. */
public record Limits(long timeoutMs, long cpuMs, int memoryMb, int pids, int outputBytes, int fileSizeMb,
        int openFiles, int tmpMb) {

    public static Limits of(LimitsConfig c) {
        return new Limits(c.timeoutMs(), c.cpuMs(), c.memoryMb(), c.pids(), c.outputBytes(), c.fileSizeMb(),
                c.openFiles(), c.tmpMb());
    }

    public Limits withTimeoutMs(long ms) {
        return new Limits(ms, cpuMs, memoryMb, pids, outputBytes, fileSizeMb, openFiles, tmpMb);
    }

    /** RLIMIT_CPU counts whole seconds: round up so a 1500 ms budget is never cut to 1 s. */
    public long cpuSeconds() {
        return Math.max(1, (cpuMs + 999) / 1000);
    }
}
