package dev.warden.exec;

/** Runs one request under one tier's isolation. Implementations never run anything unconfined. */
public interface Executor {

    ExecOutcome run(ExecRequest request, Limits limits);

    /** The name reported as {@code executor} in results: inline, sandbox, container. */
    String name();
}
