package dev.warden.pipeline;

import dev.warden.session.OwnGroup;
import dev.warden.call.Status;
import dev.warden.contract.CallResult;
import dev.warden.contract.CodeCall;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.warden.audit.AuditLog;
import dev.warden.config.ConfigLoader;
import dev.warden.config.WardenConfig;
import dev.warden.exec.ContainerStatus;
import dev.warden.exec.ExecOutcome;
import dev.warden.exec.ExecRequest;
import dev.warden.exec.Executor;
import dev.warden.exec.Languages;
import dev.warden.exec.Limits;
import dev.warden.exec.Output;
import dev.warden.exec.Phase;
import dev.warden.exec.Usage;
import dev.warden.policy.Policy;
import dev.warden.policy.PolicyLoader;
import dev.warden.sanitize.Sanitizer;
import dev.warden.session.WorkspaceDirs;
import dev.warden.session.Workspaces;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The road of a call the policy routes to L3, with stand-in executors: refused with the reason when
 * no container can be had (never run elsewhere), run at L2 only when the policy's l3_fallback says
 * so, and the compile phase reported beside the run.
 */
class L3RoutingTest {

    private Path dir;
    private Workspaces workspaces;
    private AuditLog audit;
    private final WardenConfig config = new ConfigLoader().load(null);
    private final List<String> ran = new ArrayList<>();

    @BeforeEach
    void setUp() throws Exception {
        dir = Files.createTempDirectory("warden-l3-routing-");
        workspaces = new Workspaces(dir.resolve("ws"), false, OwnGroup.gid(), ws -> { }, ws -> { });
        audit = new AuditLog(dir.resolve("audit.jsonl"), false, new ObjectMapper());
    }

    @AfterEach
    void tearDown() throws Exception {
        workspaces.close();
        audit.close();
        WorkspaceDirs.delete(dir);
    }

    private Executor recording(String name, ExecOutcome outcome) {
        return new Executor() {
            @Override
            public ExecOutcome run(ExecRequest request, Limits limits) {
                ran.add(name + ":" + request.language() + ":" + limits.memoryMb());
                return outcome;
            }

            @Override
            public String name() {
                return name;
            }
        };
    }

    private CallPipeline pipeline(String policyText, ContainerStatus status, ExecOutcome containerOutcome) throws Exception {
        Path f = null;
        if (policyText != null) {
            f = dir.resolve("policy.yaml");
            Files.writeString(f, policyText);
        }
        Policy policy = new Policy(new PolicyLoader().load(f, null));
        ExecOutcome ok = new ExecOutcome.Completed(0, new Output("hi\n".getBytes(StandardCharsets.UTF_8), false),
                Output.EMPTY, 5, Usage.UNKNOWN);
        Executor sandbox = recording("sandbox", ok);
        Executor container = recording("container", containerOutcome == null ? ok : containerOutcome);
        return new CallPipeline(policy, workspaces, new Languages(config.languages(), config.container().languages()),
                tier -> switch (tier) {
                    case L3 -> container;
                    default -> sandbox;
                }, new Sanitizer(List.of(), Map.of()), audit, config.limits(), status,
                new dev.warden.approval.ApprovalService(java.time.Duration.ofSeconds(5), (r, d) -> {
                }), new dev.warden.limit.RateLimits(config.rateLimits()), new dev.warden.limit.Executions(4, 4, 1000));
    }

    private static final ContainerStatus NO_ENGINE =
            lang -> Optional.of("no Docker engine is reachable at unix:///var/run/docker.sock");
    private static final ContainerStatus UP = lang -> Optional.empty();
    private static final Caller CALLER = new Caller("s1", "test/1", "stdio");
    private static final String PYTHON_TO_L3 = "rules:\n  - {id: code.container_only, match: {code: {languages: [python, c]}}}\n";

    @Test
    void withoutAnEngineAContainerCallIsRefusedNeverRunElsewhere() throws Exception {
        CallResult r = pipeline(PYTHON_TO_L3, NO_ENGINE, null).executeCode(CALLER,
                new CodeCall("python", "print(1)", null, null, null));
        assertEquals(Status.FAILED, r.status());
        assertEquals("L3", r.tier());
        assertEquals("none", r.executor());
        assertTrue(r.message().contains("no Docker engine is reachable") && r.message().contains("L3"), r.message());
        assertEquals(List.of(), ran, "nothing ran anywhere");
    }

    @Test
    void anExplicitFallbackRunsInTheSandboxAndSaysSo() throws Exception {
        CallResult r = pipeline(PYTHON_TO_L3 + "l3_fallback: L2\n", NO_ENGINE, null).executeCode(CALLER,
                new CodeCall("python", "print(1)", null, null, null));
        assertEquals(Status.OK, r.status());
        assertEquals("sandbox", r.executor());
        assertEquals("L2", r.tier());
        assertTrue(r.findings().stream().anyMatch(f -> f.rule().equals("container.fallback")
                && f.detail().contains("no Docker engine")), r.findings().toString());
        assertEquals(List.of("sandbox:python:" + config.limits().memoryMb()), ran);
    }

    @Test
    void aCompiledLanguageNeverFallsBack() throws Exception {
        CallResult r = pipeline("l3_fallback: L2\n", NO_ENGINE, null).executeCode(CALLER,
                new CodeCall("c", "int main(){}", null, null, null));
        assertEquals(Status.FAILED, r.status());
        assertEquals("none", r.executor());
        assertEquals(List.of(), ran);
    }

    @Test
    void aContainerRunGetsTheLanguagesLimits() throws Exception {
        CallResult r = pipeline(null, UP, null).executeCode(CALLER, new CodeCall("rust", "fn main(){}", null, null, null));
        assertEquals("container", r.executor());
        assertEquals("L3", r.tier());
        assertEquals(List.of("container:rust:1024"), ran);
        assertEquals(1024, r.limits().get("memory_mb"));
        assertEquals(60_000L, r.limits().get("timeout_ms"), "the language's own default timeout");
    }

    @Test
    void aFailedCompileIsReportedAsTheCompilePhaseAndNothingRan() throws Exception {
        Phase compile = new Phase("failed", 1, Output.EMPTY,
                new Output("main.c:1: error: expected ';'\n".getBytes(StandardCharsets.UTF_8), false), 120);
        CallResult r = pipeline(null, UP, new ExecOutcome.CompileFailed(compile, "the compiler exited with code 1",
                Usage.UNKNOWN)).executeCode(CALLER, new CodeCall("c", "int main(){", null, null, null));
        assertEquals(Status.FAILED, r.status());
        assertNull(r.exitCode());
        assertTrue(r.message().contains("compile failed"), r.message());
        assertEquals("failed", r.compile().get("status"));
        assertEquals(1, r.compile().get("exit_code"));
        assertTrue(((String) r.compile().get("stderr")).contains("expected ';'"));
    }

    @Test
    void theCompilePhaseIsReportedBesideASuccessfulRun() throws Exception {
        Phase compile = new Phase("ok", 0, Output.EMPTY, Output.EMPTY, 300);
        CallResult r = pipeline(null, UP, new ExecOutcome.Completed(0, new Output("hi\n".getBytes(StandardCharsets.UTF_8),
                false), Output.EMPTY, 2, Usage.UNKNOWN, compile)).executeCode(CALLER,
                        new CodeCall("go", "package main", null, null, null));
        assertEquals(Status.OK, r.status());
        assertEquals("hi\n", r.stdout());
        assertEquals("ok", r.compile().get("status"));
        assertEquals(300L, r.compile().get("duration_ms"));
    }

    @Test
    void aContainerOnlyLanguageTheOperatorKeptAtL2IsRefused() throws Exception {
        CallResult r = pipeline("rules:\n  - {id: code.container_only, enabled: false}\n", UP, null).executeCode(CALLER,
                new CodeCall("go", "package main", null, null, null));
        assertEquals(Status.FAILED, r.status());
        assertTrue(r.message().contains("only in containers"), r.message());
        assertEquals(List.of(), ran);
    }
}
