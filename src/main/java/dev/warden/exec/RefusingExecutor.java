package dev.warden.exec;

/** Stands in for an executor that is not there: refuses every run with the reason, runs nothing. */
public record RefusingExecutor(String reason) implements Executor {

    @Override
    public ExecOutcome run(ExecRequest request, Limits limits) {
        return new ExecOutcome.Refused(reason, false);
    }

    @Override
    public String name() {
        return "none";
    }
}
