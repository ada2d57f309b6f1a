package dev.warden.pipeline;

import dev.warden.call.Status;
import dev.warden.call.Tier;
import dev.warden.config.WardenConfig.LimitsConfig;
import dev.warden.contract.CallResult;
import dev.warden.exec.ExecOutcome;
import dev.warden.exec.Limits;
import dev.warden.exec.Output;
import dev.warden.exec.Phase;
import dev.warden.exec.StreamBuffer;
import dev.warden.exec.Usage;
import dev.warden.limit.RateLimits;
import dev.warden.policy.Finding;
import dev.warden.sanitize.Sanitizer;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * Renders results: what a run produced (sanitized, host paths rewritten, limits and usage as the
 * contract shows them) and every kind of answer a call gets without running. The one place that
 * builds a {@link CallResult}; each outcome of a run is handled by an exhaustive visitor.
 */
final class Results {

    private final Sanitizer sanitizer;
    private final LimitsConfig configured;
    private final Supplier<Optional<Integer>> diskMb;

    Results(Sanitizer sanitizer, LimitsConfig configured, Supplier<Optional<Integer>> diskMb) {
        this.sanitizer = sanitizer;
        this.configured = configured;
        this.diskMb = diskMb;
    }

    /** The configured limits: what a call gets unless it asks for another timeout. */
    Limits defaults() {
        return Limits.of(configured);
    }

    /** A call that did not run: why, in {@code message}. */
    CallResult notRun(String id, Status status, Tier tier, List<Finding> findings, String message, Limits l) {
        return notRun(id, status, tier, findings, message, l, null);
    }

    private CallResult notRun(String id, Status status, Tier tier, List<Finding> findings, String message, Limits l,
            Long retryAfterMs) {
        return new CallResult(status, null, "", "", false, false, 0, tier.name(), "none", findings, 0, id,
                limitsMap(l), Map.of(), retryAfterMs, message);
    }

    /** Refused as invalid before anything was decided. */
    CallResult invalid(String id, String message) {
        return notRun(id, Status.INVALID, Tier.L2, List.of(), message, defaults());
    }

    /** Refused for now, with when to ask again. */
    CallResult rateLimited(String id, Tier tier, List<Finding> findings, long retryAfterMs, String what) {
        return notRun(id, Status.RATE_LIMITED, tier, findings, rateLimitedMessage(what, retryAfterMs), defaults(),
                retryAfterMs);
    }

    /** What a client over a limit is told, in the result of any tool. */
    static String rateLimitedMessage(String what, long retryAfterMs) {
        return "Rate limited: " + what + "; retry after " + retryAfterMs + " ms.";
    }

    /** The same, for a client over its rate limit of calls. */
    static String overRate(long retryAfterMs) {
        return rateLimitedMessage(OVER_RATE, retryAfterMs);
    }

    /** The same, for a refusal of the client's bucket of calls (empty, or a store that could not be used). */
    static String overRate(RateLimits.Refusal r) {
        return rateLimitedMessage(r.reasonOr(OVER_RATE), r.retryAfterMs());
    }

    static final String OVER_RATE = "this client is over its rate limit of calls";

    /** Failed inside Warden (or before its isolation existed): never ran. */
    CallResult failed(String id, String message) {
        return notRun(id, Status.FAILED, Tier.L2, List.of(), message, defaults());
    }

    /** A background run that started: what its client gets at once. */
    CallResult running(CallContext c, String executor) {
        return new CallResult(Status.RUNNING, null, "", "", false, false, 0, c.tier().name(), executor, c.findings(), 0,
                c.id, limitsMap(c.limits()), Map.of(), null, "It runs in the background (for at most "
                        + c.limits().timeoutMs() + " ms): read its output and final result with get_execution, "
                        + "write to its stdin with send_input, end it with stop_execution.");
    }

    /**
     * One read of a background run: the output after the offsets (sanitized, at most the output limit
     * per stream), where the next read starts, and the run's status now ({@code base}: its final
     * result once ended, else the answer it gave at start).
     */
    CallResult read(CallResult base, Status now, String message, long durationMs, StreamBuffer out, StreamBuffer err,
            long outOffset, long errOffset, boolean more, java.nio.file.Path workspace) {
        Map<String, String> rewrites = Map.of(workspace.toString(), "/workspace");
        StreamBuffer.Chunk o = out.read(outOffset, configured.outputBytes(), more);
        StreamBuffer.Chunk e = err.read(errOffset, configured.outputBytes(), more);
        Sanitizer.Clean oc = sanitizer.clean(o.bytes(), rewrites);
        Sanitizer.Clean ec = sanitizer.clean(e.bytes(), rewrites);
        return base.asRead(now, oc.text(), ec.text(), o.next() < out.end(), e.next() < err.end(),
                oc.redactions() + ec.redactions(), durationMs, message,
                new CallResult.Offsets(o.next(), e.next(), o.dropped(), e.dropped()));
    }

    /** How the run ended, as the contract's result: every outcome handled, or this does not compile. */
    CallResult outcome(CallContext c, String executor, ExecOutcome outcome) {
        Tier tier = c.tier();
        Limits granted = c.limits();
        List<Finding> findings = c.findings();
        Map<String, String> rewrites = Map.of(c.workspace().root().toString(), "/workspace");
        Limits reported = tier == Tier.L1 ? new Limits(granted.timeoutMs(), granted.cpuMs(), granted.memoryMb(), 1,
                granted.outputBytes(), 0, granted.openFiles(), 0) : granted;
        return outcome.accept(new ExecOutcome.Visitor<CallResult>() {
            @Override
            public CallResult completed(ExecOutcome.Completed r) {
                Status status = r.exitCode() == 0 ? Status.OK : Status.FAILED;
                String msg = status == Status.OK ? null : "The program exited with code " + r.exitCode() + ".";
                return withCompile(ran(c.id, status, r.exitCode(), r.stdout(), r.stderr(), r.durationMs(), tier,
                        executor, findings, reported, r.usage(), msg, rewrites), r.compile(), rewrites);
            }

            @Override
            public CallResult timedOut(ExecOutcome.TimedOut t) {
                return withCompile(ran(c.id, Status.TIMEOUT, null, t.stdout(), t.stderr(), t.durationMs(), tier,
                        executor, findings, reported, t.usage(), "It ran past its time limit of " + granted.timeoutMs()
                                + " ms and was stopped, with every process it started.", rewrites), t.compile(), rewrites);
            }

            @Override
            public CallResult killed(ExecOutcome.Killed k) {
                return withCompile(ran(c.id, Status.KILLED, null, k.stdout(), k.stderr(), k.durationMs(), tier,
                        executor, findings, reported, k.usage(), "It was stopped because " + k.reason() + ".",
                        rewrites), k.compile(), rewrites);
            }

            @Override
            public CallResult compileFailed(ExecOutcome.CompileFailed f) {
                // the run phase never started: the top-level fields describe a run that did not happen
                CallResult base = ran(c.id, Status.FAILED, null, Output.EMPTY, Output.EMPTY, 0, tier, executor,
                        findings, reported, f.usage(), "The compile failed (" + f.reason()
                                + "), so the program was not run; see compile.stderr.", rewrites);
                return withCompile(base, f.compile(), rewrites);
            }

            @Override
            public CallResult refused(ExecOutcome.Refused r) {
                if (r.busy()) {
                    return notRun(c.id, Status.RATE_LIMITED, tier, findings,
                            "Warden is at its limit of concurrent runs (" + r.reason() + "); retry shortly.", granted,
                            1000L);
                }
                return notRun(c.id, Status.FAILED, tier, findings, "It did not run: " + sanitizer.message(r.reason())
                        + ". Warden never runs code outside its sandbox.", granted);
            }
        });
    }

    private CallResult ran(String id, Status status, Integer exit, Output out, Output err, long durationMs, Tier tier,
            String executor, List<Finding> findings, Limits limits, Usage usage, String message,
            Map<String, String> rewrites) {
        Sanitizer.Clean o = sanitizer.clean(out.bytes(), rewrites);
        Sanitizer.Clean e = sanitizer.clean(err.bytes(), rewrites);
        return new CallResult(status, exit, o.text(), e.text(), out.truncated(), err.truncated(), durationMs,
                tier.name(), executor, findings, o.redactions() + e.redactions(), id, limitsMap(limits),
                usageMap(usage), null, message);
    }

    /** The compile phase, sanitized like the run's output, added to a result. */
    private CallResult withCompile(CallResult r, Phase compile, Map<String, String> rewrites) {
        if (compile == null) {
            return r;
        }
        Sanitizer.Clean o = sanitizer.clean(compile.stdout().bytes(), rewrites);
        Sanitizer.Clean e = sanitizer.clean(compile.stderr().bytes(), rewrites);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("status", compile.status());
        m.put("exit_code", compile.exitCode());
        m.put("stdout", o.text());
        m.put("stderr", e.text());
        m.put("stdout_truncated", compile.stdout().truncated());
        m.put("stderr_truncated", compile.stderr().truncated());
        m.put("duration_ms", compile.durationMs());
        return r.withCompile(m, o.redactions() + e.redactions());
    }

    private Map<String, Object> limitsMap(Limits l) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("timeout_ms", l.timeoutMs());
        m.put("memory_mb", l.memoryMb());
        m.put("pids", l.pids());
        m.put("output_bytes", l.outputBytes());
        m.put("cpu_ms", l.cpuSeconds() * 1000);
        m.put("file_size_mb", l.fileSizeMb());
        m.put("open_files", l.openFiles());
        diskMb.get().ifPresent(mb -> m.put("disk_mb", mb));
        return m;
    }

    private static Map<String, Object> usageMap(Usage u) {
        Map<String, Object> m = new LinkedHashMap<>();
        if (u.cpuMs() != null) {
            m.put("cpu_ms", u.cpuMs());
        }
        if (u.peakMemoryKb() != null) {
            m.put("peak_memory_kb", u.peakMemoryKb());
        }
        return m;
    }
}
