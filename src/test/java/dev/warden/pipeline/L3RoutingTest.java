package dev.warden.pipeline;

import dev.warden.call.Status;
import dev.warden.contract.CallResult;
import dev.warden.contract.CodeCall;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.exec.ContainerStatus;
import dev.warden.exec.ExecOutcome;
import dev.warden.exec.Output;
import dev.warden.exec.Phase;
import dev.warden.exec.Usage;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * The road of a call the policy routes to L3, with stand-in executors: refused with the reason when
 * no container can be had (never run elsewhere), run at L2 only when the policy's l3_fallback says
 * so, and the compile phase reported beside the run.
 */
class L3RoutingTest extends RoutingFixture {

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
