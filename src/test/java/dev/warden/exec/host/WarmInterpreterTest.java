package dev.warden.exec.host;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.exec.ExecRequest;
import dev.warden.exec.Limits;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * When a call may run in a warm interpreter, and when it starts cold: the decision is one comparison of
 * stub requests, so these pin what it compares, and the warm request's exact tokens (a golden test: the
 * interpreter must be started with exactly the cold run's limits, directory and environment).
 */
class WarmInterpreterTest {

    private static final Limits LIMITS = new Limits(10_000, 1_500, 256, 64, 65536, 16, 256, 64);
    private static final Path WS = Path.of("/var/lib/warden/sessions/abc");
    private static final Map<String, String> PY_ENV = Map.of("PYTHONDONTWRITEBYTECODE", "1");

    private static ExecRequest python(String code) {
        return ExecRequest.code(List.of("/usr/bin/python3", "-c", code), WS, null, PY_ENV, Map.of(), "python", code);
    }

    private static ExecRequest node(String code) {
        return ExecRequest.code(List.of("/usr/bin/node", "-e", code), WS, null, Map.of(), Map.of(), "javascript", code);
    }

    /** The interpreter a call of {@code shape} started, as the stub of a sandbox with egress at relay 28003. */
    private static List<String> started(ExecRequest shape, Limits limits) {
        return WarmInterpreter.request(shape, limits, true, 28003, "/workspace").orElseThrow().tokens();
    }

    private static boolean fits(List<String> started, ExecRequest call, Limits limits) {
        return WarmInterpreter.fits(started, call, limits, true, 28003, "/workspace");
    }

    @Test
    void theWarmRequestIsTheColdOneWithTheLoaderAsTheProgram() {
        ExecRequest call = python("print(1)");
        List<String> warm = started(call, LIMITS);
        List<String> cold = BwrapPlan.request(call, LIMITS, true, 28003, "/workspace").tokens();
        int dash = cold.indexOf("--");
        assertEquals(cold.subList(0, dash + 1), warm.subList(0, dash + 1), "rlimits, umask, chdir, env: the cold run's");
        assertEquals(List.of("/usr/bin/python3", "-c"), warm.subList(dash + 1, dash + 3));
        assertEquals(dash + 4, warm.size());
        assertTrue(warm.get(dash + 3).contains("_warden_warm"), "the loader in place of the code");
        assertFalse(warm.contains("print(1)"), "nothing of the call it follows");
        assertEquals(List.of("--rlimit", "cpu=2", "--rlimit", "fsize=16777216", "--rlimit", "nofile=256",
                "--umask", "0002", "--chdir", "/workspace"), warm.subList(0, 10));
    }

    @Test
    void theShapeCarriedToTheNextSandboxHoldsNothingOfTheCall() {
        ExecRequest call = ExecRequest.code(List.of("/usr/bin/python3", "-c", "secret = 1"), WS,
                "stdin".getBytes(StandardCharsets.UTF_8), PY_ENV, Map.of("f.txt", "data"), "python", "secret = 1");
        ExecRequest shape = WarmInterpreter.shape(call).orElseThrow();
        assertEquals(null, shape.code());
        assertEquals(0, shape.stdin().length);
        assertTrue(shape.files().isEmpty());
        assertFalse(String.join(" ", shape.argv()).contains("secret = 1"));
        assertEquals(PY_ENV, shape.env());
    }

    @Test
    void aCallOfTheSameShapeIsWarm() {
        List<String> py = started(python("print(1)"), LIMITS);
        assertTrue(fits(py, python("import sys; print(sys.stdin.read())"), LIMITS));
        assertTrue(fits(py, python("x"), LIMITS.withTimeoutMs(2_000)), "the wall clock is Warden's, not the request's");
        List<String> js = started(node("1"), LIMITS);
        assertTrue(fits(js, node("console.log(2)"), LIMITS));
    }

    @Test
    void anythingElseStartsCold() {
        List<String> py = started(python("print(1)"), LIMITS);
        assertFalse(fits(py, node("console.log(1)"), LIMITS), "another language");
        assertFalse(fits(py, new ExecRequest(List.of("bash", "-c", "ls"), WS, "", null, Map.of()), LIMITS),
                "a command");
        assertFalse(fits(py, ExecRequest.code(List.of("/usr/bin/python3", "-c", "1"), WS, null, PY_ENV,
                Map.of("data.txt", "x"), "python", "1"), LIMITS), "files to write before the program");
        assertFalse(fits(py, python("1"), new Limits(10_000, 5_000, 256, 64, 65536, 16, 256, 64)), "another RLIMIT_CPU");
        assertFalse(fits(py, python("1"), new Limits(10_000, 1_500, 256, 64, 65536, 16, 512, 64)), "another RLIMIT_NOFILE");
        assertFalse(fits(py, ExecRequest.code(List.of("/usr/bin/python3", "-c", "1"), WS, null, Map.of(), Map.of(),
                "python", "1"), LIMITS), "another environment");
        assertFalse(fits(started(node("1"), LIMITS), node("import('fs').then(console.log)"), LIMITS),
                "javascript that may import(): node 18 imports from vm code only behind a flag");
        assertFalse(WarmInterpreter.fits(py, python("1"), LIMITS, false, 28003, "/workspace"), "a sandbox without egress");
        assertFalse(WarmInterpreter.fits(py, python("1"), LIMITS, true, 28004, "/workspace"), "another relay port");
        assertFalse(WarmInterpreter.fits(py, python("1"), LIMITS, true, 28003, "/home/sandbox"), "another HOME");
    }

    @Test
    void onlyPythonAndNodeInTheirCodeFormHaveAWarmForm() {
        assertTrue(WarmInterpreter.of(python("1")).isPresent());
        assertTrue(WarmInterpreter.of(node("1")).isPresent());
        assertFalse(WarmInterpreter.of(ExecRequest.code(List.of("/bin/bash", "-c", "ls"), WS, null, Map.of(), Map.of(),
                "bash", "ls")).isPresent(), "bash starts about as fast as the stub execs it");
        assertFalse(WarmInterpreter.of(ExecRequest.code(List.of("/usr/bin/python3", "-I", "-c", "1"), WS, null,
                Map.of(), Map.of(), "python", "1")).isPresent(), "an operator's other command");
        assertTrue(WarmInterpreter.of(ExecRequest.code(List.of("/usr/bin/python3", "-c", "1"), WS, null, PY_ENV,
                Map.of("data.txt", "x"), "python", "1")).isPresent(), "the next sandbox of a call with files is warm");
        assertFalse(WarmInterpreter.of(new ExecRequest(List.of("/usr/bin/python3", "-c", "1"), WS, "", null, Map.of()))
            .isPresent(), "run_command's python -c is a command, not execute_code");
    }

    @Test
    void theFrameIsTheLengthInBytesThenTheCode() {
        assertArrayEquals("11\nprint('é')".getBytes(StandardCharsets.UTF_8), WarmInterpreter.frame("print('é')"));
        assertArrayEquals("0\n".getBytes(StandardCharsets.UTF_8), WarmInterpreter.frame(""));
    }
}
