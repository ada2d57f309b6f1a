package dev.warden.exec;

/**
 * How a run ended. Sealed, so each caller handles every case: a new way to end breaks the build
 * where it must be handled.
 */
public sealed interface ExecOutcome {

    /**
     * Every way a run can end, one method each: a new outcome adds a method here, and every
     * visitor (the pipeline's rendering of a result, say) stops compiling until it handles it.
     */
    interface Visitor<T> {

        T completed(Completed c);

        T timedOut(TimedOut t);

        T killed(Killed k);

        T compileFailed(CompileFailed f);

        T refused(Refused r);
    }

    <T> T accept(Visitor<T> v);

    /** The same outcome, its usage saying how its sandbox was started ({@link Usage#start}); as is without usage. */
    default ExecOutcome withStart(String start) {
        return this;
    }

    /** What it used, or null (it never ran). */
    default Usage usage() {
        return null;
    }

    /** The program ran and exited by itself, with any exit code. {@code compile}: null unless compiled first. */
    record Completed(int exitCode, Output stdout, Output stderr, long durationMs, Usage usage, Phase compile)
            implements ExecOutcome {

        @Override
        public ExecOutcome withStart(String start) {
            return new Completed(exitCode, stdout, stderr, durationMs, (usage == null ? Usage.UNKNOWN : usage).withStart(start), compile);
        }

        @Override
        public <T> T accept(Visitor<T> v) {
            return v.completed(this);
        }

        public Completed(int exitCode, Output stdout, Output stderr, long durationMs, Usage usage) {
            this(exitCode, stdout, stderr, durationMs, usage, null);
        }
    }

    /** The wall-clock limit ended it; the whole process tree was killed. */
    record TimedOut(Output stdout, Output stderr, long durationMs, Usage usage, Phase compile) implements ExecOutcome {

        @Override
        public ExecOutcome withStart(String start) {
            return new TimedOut(stdout, stderr, durationMs, (usage == null ? Usage.UNKNOWN : usage).withStart(start), compile);
        }

        @Override
        public <T> T accept(Visitor<T> v) {
            return v.timedOut(this);
        }

        public TimedOut(Output stdout, Output stderr, long durationMs, Usage usage) {
            this(stdout, stderr, durationMs, usage, null);
        }
    }

    /** A resource limit (memory, CPU time, file size, processes) ended it. */
    record Killed(String reason, Output stdout, Output stderr, long durationMs, Usage usage, Phase compile)
            implements ExecOutcome {

        @Override
        public ExecOutcome withStart(String start) {
            return new Killed(reason, stdout, stderr, durationMs, (usage == null ? Usage.UNKNOWN : usage).withStart(start), compile);
        }

        @Override
        public <T> T accept(Visitor<T> v) {
            return v.killed(this);
        }

        public Killed(String reason, Output stdout, Output stderr, long durationMs, Usage usage) {
            this(reason, stdout, stderr, durationMs, usage, null);
        }
    }

    /** A compiled language's compile phase did not succeed, so the program was not run. */
    record CompileFailed(Phase compile, String reason, Usage usage) implements ExecOutcome {

        @Override
        public <T> T accept(Visitor<T> v) {
            return v.compileFailed(this);
        }
    }

    /** It never ran: the executor could not create its isolation, or had no room. Fail closed. */
    record Refused(String reason, boolean busy) implements ExecOutcome {

        @Override
        public <T> T accept(Visitor<T> v) {
            return v.refused(this);
        }
    }
}
