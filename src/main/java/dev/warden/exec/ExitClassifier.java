package dev.warden.exec;

/**
 * What an exit status means once a program has exited (not timed out, not stopped, not refused):
 * whether a limit ended it, and which one, from the exit code and what the executor measured
 * (its cgroup's OOM and pids counters, its CPU time). The one copy of these rules for every tier:
 * a program killed by SIGKILL (137) or SIGXCPU (152) after using its CPU budget hit the CPU limit,
 * SIGXFSZ (153) is the file size limit, an OOM kill the memory limit, a SIGKILL while the pids
 * limit refused a fork the process limit. Anything else is the program's own exit.
 *
 * @param cpuSeconds the CPU limit (RLIMIT_CPU) in whole seconds
 * @param memoryMb the memory limit the run's cgroup enforced
 * @param pids the process limit the run's cgroup enforced
 * @param fileSizeMb RLIMIT_FSIZE in MB
 * @param oomNote appended to the memory reason (the container tier says who ended it)
 */
public record ExitClassifier(long cpuSeconds, int memoryMb, int pids, int fileSizeMb, String oomNote) {

    /** 128 + SIGKILL: the kernel (OOM killer, pids limit, RLIMIT_CPU's hard limit) or a kill of the tree. */
    public static final int SIGKILL = 137;
    /** 128 + SIGXCPU: RLIMIT_CPU's soft limit. */
    public static final int SIGXCPU = 152;
    /** 128 + SIGXFSZ: a write past RLIMIT_FSIZE. */
    public static final int SIGXFSZ = 153;
    /** The launcher stub's own failure (before the program started), as docker run's 125. */
    public static final int STUB_FAILED = 125;
    /** CPU time within this much of the budget counts as having used it up (accounting is coarse). */
    static final long CPU_SLACK_MS = 50;

    /** The limits of a run whose cgroup enforced the same memory and pids limits. */
    public static ExitClassifier of(Limits limits) {
        return new ExitClassifier(limits.cpuSeconds(), limits.memoryMb(), limits.pids(), limits.fileSizeMb(), "");
    }

    /** The same rlimits, with the memory and pids limits a container's own cgroup enforced. */
    public static ExitClassifier of(Limits limits, int memoryMb, int pids, String oomNote) {
        return new ExitClassifier(limits.cpuSeconds(), memoryMb, pids, limits.fileSizeMb(), oomNote);
    }

    /**
     * What the executor measured about the run, beside its exit code.
     *
     * @param memoryHit the OOM killer ended something of the run (or the memory limit was hit and it got SIGKILL)
     * @param pidsHit the pids limit refused a fork during the run
     * @param cpuMs the run's CPU time, null where it cannot be measured
     */
    public record Evidence(boolean memoryHit, boolean pidsHit, Long cpuMs) {
    }

    /** Which limit ended a program that exited with this code, as a clause for the model; null: none did. */
    public String limitHit(int exitCode, Evidence e) {
        if (e.memoryHit()) {
            return "it exceeded the memory limit of " + memoryMb + " MB" + oomNote;
        }
        if ((exitCode == SIGKILL || exitCode == SIGXCPU) && e.cpuMs() != null
                && e.cpuMs() >= cpuSeconds * 1000 - CPU_SLACK_MS) {
            return "it used up its CPU time limit of " + cpuSeconds + " s";
        }
        if (exitCode == SIGXFSZ) {
            return "it tried to write a file larger than " + fileSizeMb + " MB";
        }
        if (exitCode == SIGKILL && e.pidsHit()) {
            return "it hit the limit of " + pids + " processes";
        }
        return null;
    }

    /** The outcome of a program that exited: killed by a limit, or completed with its own code. */
    public ExecOutcome exited(int exitCode, Evidence e, Output stdout, Output stderr, long durationMs, Usage usage,
            Phase compile) {
        String limit = limitHit(exitCode, e);
        if (limit != null) {
            return new ExecOutcome.Killed(limit, stdout, stderr, durationMs, usage, compile);
        }
        return new ExecOutcome.Completed(exitCode, stdout, stderr, durationMs, usage, compile);
    }
}
