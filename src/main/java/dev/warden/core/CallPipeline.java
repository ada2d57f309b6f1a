package dev.warden.core;

import dev.warden.audit.AuditLog;
import dev.warden.config.ContainerLimits;
import dev.warden.config.WardenConfig.LimitsConfig;
import dev.warden.exec.ContainerStatus;
import dev.warden.exec.ExecOutcome;
import dev.warden.exec.ExecRequest;
import dev.warden.exec.Executor;
import dev.warden.exec.Language;
import dev.warden.exec.Languages;
import dev.warden.exec.Limits;
import dev.warden.exec.Output;
import dev.warden.exec.Phase;
import dev.warden.exec.Usage;
import dev.warden.policy.Decision;
import dev.warden.policy.Finding;
import dev.warden.policy.Policy;
import dev.warden.policy.Severity;
import dev.warden.policy.Tier;
import dev.warden.sanitize.Sanitizer;
import dev.warden.session.Workspace;
import dev.warden.session.Workspaces;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What Warden does with a call, top to bottom: resolve the session's workspace, check paths and
 * limits, let the policy decide, run in the tier's executor, sanitize, write the audit line, answer.
 */
public final class CallPipeline {

    private static final Logger log = LoggerFactory.getLogger(CallPipeline.class);
    private static final SecureRandom random = new SecureRandom();
    private static final int AUDIT_TEXT_MAX = 4096;

    private final Policy policy;
    private final Workspaces workspaces;
    private final Languages languages;
    private final Function<Tier, Executor> executors;
    private final Sanitizer sanitizer;
    private final AuditLog audit;
    private final LimitsConfig limits;
    private final ContainerStatus containers;

    public CallPipeline(Policy policy, Workspaces workspaces, Languages languages, Function<Tier, Executor> executors,
            Sanitizer sanitizer, AuditLog audit, LimitsConfig limits) {
        this(policy, workspaces, languages, executors, sanitizer, audit, limits, ContainerStatus.NONE);
    }

    /** @param containers whether L3 can run a language now (else a call routed there is refused or falls back) */
    public CallPipeline(Policy policy, Workspaces workspaces, Languages languages, Function<Tier, Executor> executors,
            Sanitizer sanitizer, AuditLog audit, LimitsConfig limits, ContainerStatus containers) {
        this.containers = containers;
        this.policy = policy;
        this.workspaces = workspaces;
        this.languages = languages;
        this.executors = executors;
        this.sanitizer = sanitizer;
        this.audit = audit;
        this.limits = limits;
    }

    public CallResult runCommand(Caller caller, CommandCall call) {
        String id = newId();
        Map<String, Object> auditArgs = new LinkedHashMap<>();
        auditArgs.put("command", clip(call.command()));
        auditArgs.put("cwd", call.cwd());
        auditArgs.put("timeout_ms", call.timeoutMs());
        auditArgs.put("stdin_bytes", call.stdin() == null ? 0 : call.stdin().length());
        auditArgs.put("env_keys", call.env() == null ? List.of() : List.copyOf(call.env().keySet()));
        return guarded(caller, "run_command", id, auditArgs, () -> {
            Workspace ws = workspaces.forSession(caller.sessionId());
            Optional<String> cwd = directoryInside(ws, call.cwd());
            if (cwd.isEmpty()) {
                return invalidResult(id, "cwd must name an existing directory inside the session workspace.");
            }
            Optional<Limits> granted = limitsFor(call.timeoutMs());
            if (granted.isEmpty()) {
                return invalidResult(id, timeoutMessage());
            }
            Policy.EnvFilter env = policy.filterEnv(call.env());
            Decision decision = policy.decideCommand(call.command(), ws, cwd.get(), asksTooLong(call.timeoutMs()));
            List<Finding> findings = concat(decision.findings(), env.findings());
            if (decision.blocked() || decision.held()) {
                return notRun(id, decision.blocked() ? Status.BLOCKED : Status.NEEDS_APPROVAL, decision.tier(),
                        findings, decision.reason(), granted.get());
            }
            ExecRequest req = new ExecRequest(decision.argv(), ws.root(), cwd.get(), bytes(call.stdin()), env.kept());
            if (decision.tier() == Tier.L3) {
                // a command routed to L3 runs in the bash image; no host fallback for a whole command line
                Optional<String> down = containers.unavailable("bash");
                if (down.isPresent()) {
                    return notRun(id, Status.FAILED, Tier.L3, findings, l3Refusal(down.get()), granted.get());
                }
                return execute(id, Tier.L3, req, containerLimits("bash", call.timeoutMs(), granted.get()), findings, ws);
            }
            return execute(id, decision.tier(), req, granted.get(), findings, ws);
        });
    }

    public CallResult executeCode(Caller caller, CodeCall call) {
        String id = newId();
        Map<String, Object> auditArgs = new LinkedHashMap<>();
        auditArgs.put("language", call.language());
        auditArgs.put("code", clip(call.code()));
        auditArgs.put("timeout_ms", call.timeoutMs());
        auditArgs.put("stdin_bytes", call.stdin() == null ? 0 : call.stdin().length());
        auditArgs.put("files", call.files() == null ? List.of() : List.copyOf(call.files().keySet()));
        return guarded(caller, "execute_code", id, auditArgs, () -> {
            Optional<Language> lang = languages.find(call.language());
            if (lang.isEmpty()) {
                return invalidResult(id, "unknown language \"" + clip(call.language()) + "\"; available: "
                        + String.join(", ", languages.allNames()) + ".");
            }
            Optional<Limits> granted = limitsFor(call.timeoutMs());
            if (granted.isEmpty()) {
                return invalidResult(id, timeoutMessage());
            }
            Workspace ws = workspaces.forSession(caller.sessionId());
            StringBuilder why = new StringBuilder();
            Map<String, String> files = checkedFiles(ws, call.files() == null ? Map.of() : call.files(), why);
            if (files == null) {
                return invalidResult(id, why.toString());
            }
            Decision decision = policy.decideCode(lang.get().name(), call.code(), asksTooLong(call.timeoutMs()));
            if (decision.blocked() || decision.held()) {
                return notRun(id, decision.blocked() ? Status.BLOCKED : Status.NEEDS_APPROVAL, decision.tier(),
                        decision.findings(), decision.reason(), granted.get());
            }
            String name = lang.get().name();
            ExecRequest req = ExecRequest.code(lang.get().onHost() ? lang.get().argv(call.code()) : List.of(), ws.root(),
                    bytes(call.stdin()), lang.get().env(), files, name, call.code());
            if (decision.tier() == Tier.L3) {
                Optional<String> down = containers.unavailable(name);
                if (down.isEmpty()) {
                    return execute(id, Tier.L3, req, containerLimits(name, call.timeoutMs(), granted.get()),
                            decision.findings(), ws);
                }
                if (!policy.l3FallbackToL2() || !lang.get().onHost()) {
                    return notRun(id, Status.FAILED, Tier.L3, decision.findings(), l3Refusal(down.get()), granted.get());
                }
                // the operator's policy allows it (l3_fallback: L2), and the result says so
                List<Finding> findings = concat(decision.findings(), List.of(new Finding("container.fallback",
                        Severity.MEDIUM, "the policy routes this to a container (L3), but " + down.get()
                                + "; it ran in the L2 sandbox instead, as the policy's l3_fallback allows")));
                return execute(id, Tier.L2, req, granted.get(), findings, ws);
            }
            if (!lang.get().onHost()) {
                return notRun(id, Status.FAILED, decision.tier(), decision.findings(), "It did not run: " + name
                        + " exists only in containers (L3), and the policy routes this call to " + decision.tier()
                        + ".", granted.get());
            }
            return execute(id, decision.tier(), req, granted.get(), decision.findings(), ws);
        });
    }

    /** A call whose arguments failed validation before they reached the road: still answered and audited. */
    public CallResult invalid(Caller caller, String tool, Map<String, Object> rawArgs, String message) {
        String id = newId();
        Map<String, Object> auditArgs = new LinkedHashMap<>();
        auditArgs.put("keys", rawArgs == null ? List.of() : List.copyOf(rawArgs.keySet()));
        return guarded(caller, tool, id, auditArgs, () -> invalidResult(id, message));
    }

    private interface Step {
        CallResult run() throws IOException;
    }

    /** Every call ends here: whatever happened becomes a result, and the audit line is written first. */
    private CallResult guarded(Caller caller, String tool, String id, Map<String, Object> auditArgs, Step step) {
        long start = System.nanoTime();
        CallResult result;
        try {
            result = step.run();
        }
        catch (IOException | RuntimeException e) {
            log.error("call {} failed inside Warden", id, e);
            result = notRun(id, Status.FAILED, Tier.L2, List.of(),
                    "Warden could not complete this call because of an internal error (execution id " + id + ").",
                    Limits.of(limits));
        }
        record(caller, tool, auditArgs, result, (System.nanoTime() - start) / 1_000_000);
        return result;
    }

    private static String l3Refusal(String why) {
        return "It did not run: the policy routes it to a container (L3), and " + why
                + ". Warden does not run it anywhere else.";
    }

    /**
     * A container's limits: memory and pids of the language's container (policy), the call's timeout
     * if it named one (already capped at the maximum), else the language's; the rest as configured.
     */
    private Limits containerLimits(String language, Long askedTimeoutMs, Limits granted) {
        ContainerLimits c = policy.containerLimits(language);
        long timeout = askedTimeoutMs != null ? granted.timeoutMs() : Math.min(c.timeoutMs(), limits.maxTimeoutMs());
        return new Limits(timeout, granted.cpuMs(), c.memoryMb(), c.pids(), granted.outputBytes(), granted.fileSizeMb(),
                granted.openFiles(), granted.tmpMb());
    }

    private CallResult execute(String id, Tier tier, ExecRequest req, Limits granted, List<Finding> findings,
            Workspace ws) {
        Executor executor = executors.apply(tier);
        ExecOutcome outcome = executor.run(req, granted);
        Map<String, String> rewrites = Map.of(ws.root().toString(), "/workspace");
        Limits reported = tier == Tier.L1 ? new Limits(granted.timeoutMs(), granted.cpuMs(), granted.memoryMb(), 1,
                granted.outputBytes(), 0, granted.openFiles(), 0) : granted;
        if (outcome instanceof ExecOutcome.Completed c) {
            Status status = c.exitCode() == 0 ? Status.OK : Status.FAILED;
            String msg = status == Status.OK ? null : "The program exited with code " + c.exitCode() + ".";
            return withCompile(ran(id, status, c.exitCode(), c.stdout(), c.stderr(), c.durationMs(), tier,
                    executor.name(), findings, reported, c.usage(), msg, rewrites), c.compile(), rewrites);
        }
        if (outcome instanceof ExecOutcome.TimedOut t) {
            return withCompile(ran(id, Status.TIMEOUT, null, t.stdout(), t.stderr(), t.durationMs(), tier,
                    executor.name(), findings, reported, t.usage(), "It ran past its time limit of " + granted.timeoutMs()
                            + " ms and was stopped, with every process it started.", rewrites), t.compile(), rewrites);
        }
        if (outcome instanceof ExecOutcome.Killed k) {
            return withCompile(ran(id, Status.KILLED, null, k.stdout(), k.stderr(), k.durationMs(), tier,
                    executor.name(), findings, reported, k.usage(), "It was stopped because " + k.reason() + ".",
                    rewrites), k.compile(), rewrites);
        }
        if (outcome instanceof ExecOutcome.CompileFailed f) {
            // the run phase never started: the top-level fields describe a run that did not happen
            CallResult base = ran(id, Status.FAILED, null, Output.EMPTY, Output.EMPTY, 0, tier, executor.name(),
                    findings, reported, f.usage(), "The compile failed (" + f.reason()
                            + "), so the program was not run; see compile.stderr.", rewrites);
            return withCompile(base, f.compile(), rewrites);
        }
        ExecOutcome.Refused r = (ExecOutcome.Refused) outcome;
        if (r.busy()) {
            CallResult base = notRun(id, Status.RATE_LIMITED, tier, findings,
                    "Warden is at its limit of concurrent runs (" + r.reason() + "); retry shortly.", granted);
            return withRetry(base, 1000L);
        }
        return notRun(id, Status.FAILED, tier, findings,
                "It did not run: " + sanitizer.message(r.reason()) + ". Warden never runs code outside its sandbox.",
                granted);
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
        return new CallResult(r.status(), r.exitCode(), r.stdout(), r.stderr(), r.stdoutTruncated(),
                r.stderrTruncated(), r.durationMs(), r.tier(), r.executor(), r.findings(),
                r.redactions() + o.redactions() + e.redactions(), r.executionId(), r.limits(), r.usage(),
                r.retryAfterMs(), r.message(), m);
    }

    private CallResult notRun(String id, Status status, Tier tier, List<Finding> findings, String message, Limits l) {
        return new CallResult(status, null, "", "", false, false, 0, tier.name(), "none", findings, 0, id,
                limitsMap(l), Map.of(), null, message);
    }

    private CallResult invalidResult(String id, String message) {
        return notRun(id, Status.INVALID, Tier.L2, List.of(), message, Limits.of(limits));
    }

    private static CallResult withRetry(CallResult r, Long retryAfterMs) {
        return new CallResult(r.status(), r.exitCode(), r.stdout(), r.stderr(), r.stdoutTruncated(),
                r.stderrTruncated(), r.durationMs(), r.tier(), r.executor(), r.findings(), r.redactions(),
                r.executionId(), r.limits(), r.usage(), retryAfterMs, r.message());
    }

    /**
     * The configured limits, with the call's timeout if it asked for one; a request above the maximum
     * is held to the maximum here, and the policy decides what asking for more means (by default a
     * human's approval): a tool argument never raises a limit by itself.
     */
    private Optional<Limits> limitsFor(Long timeoutMs) {
        Limits base = Limits.of(limits);
        if (timeoutMs == null) {
            return Optional.of(base);
        }
        if (timeoutMs < 1) {
            return Optional.empty();
        }
        return Optional.of(base.withTimeoutMs(Math.min(timeoutMs, limits.maxTimeoutMs())));
    }

    private boolean asksTooLong(Long timeoutMs) {
        return timeoutMs != null && timeoutMs > limits.maxTimeoutMs();
    }

    private String timeoutMessage() {
        return "timeout_ms must be a positive number of milliseconds (this server allows up to " + limits.maxTimeoutMs() + ").";
    }

    private static Optional<String> directoryInside(Workspace ws, String cwd) {
        Optional<String> rel = ws.resolve(cwd);
        if (rel.isEmpty() || !Files.isDirectory(ws.root().resolve(rel.get()), LinkOption.NOFOLLOW_LINKS)) {
            return Optional.empty();
        }
        return rel;
    }

    /** The files of execute_code with their paths checked and normalised; null and a reason if one escapes. */
    private static Map<String, String> checkedFiles(Workspace ws, Map<String, String> files, StringBuilder why) {
        Map<String, String> checked = new LinkedHashMap<>();
        for (Map.Entry<String, String> f : files.entrySet()) {
            Optional<String> rel = ws.resolve(f.getKey());
            if (rel.isEmpty() || rel.get().isEmpty()) {
                why.append("files: \"").append(clip(f.getKey())).append("\" must be a relative path inside the session workspace.");
                return null;
            }
            checked.put(rel.get(), f.getValue());
        }
        return checked;
    }

    private void record(Caller caller, String tool, Map<String, Object> args, CallResult r, long totalMs) {
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("ts", Instant.now().toString());
        line.put("execution_id", r.executionId());
        line.put("session", caller.sessionId());
        line.put("client", caller.client());
        line.put("transport", caller.transport());
        line.put("tool", tool);
        line.put("arguments", redactArgs(args));
        line.put("tier", r.tier());
        line.put("executor", r.executor());
        line.put("findings", r.findings());
        line.put("status", r.status());
        line.put("exit_code", r.exitCode());
        line.put("duration_ms", r.durationMs());
        line.put("total_ms", totalMs);
        line.put("usage", r.usage());
        line.put("stdout_chars", r.stdout().length());
        line.put("stderr_chars", r.stderr().length());
        line.put("redactions", r.redactions());
        line.put("message", r.message());
        audit.append(line);
    }

    private Map<String, Object> redactArgs(Map<String, Object> args) {
        Map<String, Object> out = new LinkedHashMap<>();
        args.forEach((k, v) -> out.put(k, v instanceof String s ? sanitizer.clean(s.getBytes(StandardCharsets.UTF_8)).text() : v));
        return out;
    }

    private static Map<String, Object> limitsMap(Limits l) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("timeout_ms", l.timeoutMs());
        m.put("memory_mb", l.memoryMb());
        m.put("pids", l.pids());
        m.put("output_bytes", l.outputBytes());
        m.put("cpu_ms", l.cpuSeconds() * 1000);
        m.put("file_size_mb", l.fileSizeMb());
        m.put("open_files", l.openFiles());
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

    private static List<Finding> concat(List<Finding> a, List<Finding> b) {
        List<Finding> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }

    private static byte[] bytes(String s) {
        return s == null ? new byte[0] : s.getBytes(StandardCharsets.UTF_8);
    }

    private static String clip(String s) {
        if (s == null) {
            return null;
        }
        return s.length() <= AUDIT_TEXT_MAX ? s : s.substring(0, AUDIT_TEXT_MAX) + "…";
    }

    private static String newId() {
        byte[] b = new byte[10];
        random.nextBytes(b);
        return "ex_" + HexFormat.of().formatHex(b);
    }

}
