package dev.warden.config;

/**
 * The limits of one language's container (policy.yaml {@code containers:}). Memory and pids hold
 * for the whole container, compile and run together; {@code timeoutMs} is the run's default wall
 * limit, {@code compileTimeoutMs} the compile phase's.
 */
public record ContainerLimits(int memoryMb, long timeoutMs, int pids, double cpus, long compileTimeoutMs) {
}
