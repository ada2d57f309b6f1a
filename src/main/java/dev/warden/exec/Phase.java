package dev.warden.exec;

/**
 * The compile phase of a compiled language, reported beside the run: {@code status} is ok, failed,
 * timeout or killed, as for a run; exit code null when it did not exit by itself.
 */
public record Phase(String status, Integer exitCode, Output stdout, Output stderr, long durationMs) {
}
