package dev.warden.exec.container;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.config.WardenConfig;
import dev.warden.exec.ExecRequest;
import dev.warden.exec.Limits;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Golden tests of what a call asks of its container's stub: the phases' argv and the stub requests. */
class ContainerCommandTest {

    private static final Limits LIMITS = new Limits(10_000, 1_500, 256, 64, 65536, 16, 256, 64);
    private static final Path WS = Path.of("/var/lib/warden/sessions/abc");
    private static final WardenConfig.ContainerLanguage JAVA = new WardenConfig.ContainerLanguage(List.of(),
            "{class}.java", List.of("javac", "-d", "/tmp/warden/out", "{source}"),
            List.of("java", "-cp", "/tmp/warden/out", "{class}"), Map.of("JAVA_TOOL_OPTIONS", "-Xshare:off"));
    private static final WardenConfig.ContainerLanguage BASH = new WardenConfig.ContainerLanguage(List.of(), null,
            null, List.of("bash", "-c", "{code}"), null);
    private static final List<String> IMAGE_ENV = List.of("PATH=/opt/jdk/bin:/usr/bin", "JAVA_HOME=/opt/jdk", "junk");

    @Test
    void aCompiledLanguageCompilesFromStdinIntoTmpThenRunsInTheEndMarkerShell() {
        String code = "public final class Hello { }";
        ContainerCommand c = new ContainerCommand(ExecRequest.code(List.of(), WS, null, Map.of(),
                Map.of("in.txt", "x"), "java", code), JAVA, IMAGE_ENV, false);
        assertTrue(c.compiled());
        assertEquals(List.of("/bin/sh", "-c",
                "umask 077 && mkdir -p /tmp/warden && cat > \"/tmp/warden/$0\" && umask 002 && exec \"$@\"",
                "Hello.java", "javac", "-d", "/tmp/warden/out", "/tmp/warden/Hello.java"), c.compileArgv());
        assertEquals(List.of("/bin/sh", "-c", ContainerCommand.RUN_WRAPPER, "sh", "java", "-cp", "/tmp/warden/out",
                "Hello"), c.runArgv());
        assertEquals(List.of(
                "--rlimit", "cpu=2", "--rlimit", "fsize=16777216", "--rlimit", "nofile=256", "--rlimit", "core=0",
                "--umask", "0002", "--chdir", "/workspace",
                "--env", "PATH=/opt/jdk/bin:/usr/bin", "--env", "JAVA_HOME=/opt/jdk", "--env", "HOME=/tmp",
                "--env", "LANG=C.UTF-8", "--env", "TMPDIR=/tmp", "--env", "JAVA_TOOL_OPTIONS=-Xshare:off",
                "--file", "in.txt", "--data", "x",
                "--", "/bin/sh", "-c", ContainerCommand.RUN_WRAPPER, "sh", "java", "-cp", "/tmp/warden/out", "Hello"),
                c.stubRequest(c.runArgv(), true, LIMITS).tokens());
        assertFalse(c.stubRequest(c.runArgv(), false, LIMITS).tokens().contains("--file"),
                "files go with the compile phase when there is one");
    }

    @Test
    void theEndMarkerShellWritesTheStatusToBothStreams() {
        assertEquals("\"$@\"; s=$?; printf '\\036WARDEN-EXIT:%d\\n' \"$s\"; printf '\\036WARDEN-EXIT:%d\\n' \"$s\" >&2",
                ContainerCommand.RUN_WRAPPER);
        assertEquals("\u001eWARDEN-EXIT:", ContainerCommand.END_MARKER);
    }

    @Test
    void runCommandRunsItsArgvInTheBashImageWithTheCallsDirectory() {
        ExecRequest r = new ExecRequest(List.of("ls", "-la"), WS, "src", null, Map.of("TMPDIR", "/elsewhere"));
        assertEquals("bash", ContainerCommand.languageOf(r));
        ContainerCommand c = new ContainerCommand(r, BASH, List.of(), false);
        assertFalse(c.compiled());
        assertEquals(List.of("/bin/sh", "-c", ContainerCommand.RUN_WRAPPER, "sh", "ls", "-la"), c.runArgv());
        List<String> t = c.stubRequest(c.runArgv(), true, LIMITS).tokens();
        assertEquals(List.of("--chdir", "/workspace/src"), t.subList(10, 12));
        assertEquals(Map.of("PATH", "/usr/local/bin:/usr/bin:/bin", "HOME", "/tmp", "LANG", "C.UTF-8", "TMPDIR",
                "/elsewhere"), c.environment(), "the call's (policy-filtered) environment comes last");
    }

    @Test
    void withEgressTheRunGetsTheProxysVariablesAndKeepsItsOwnNodeOptions() {
        ExecRequest r = new ExecRequest(List.of("node", "x.js"), WS, "", null,
                Map.of("HTTP_PROXY", "http://elsewhere:1", "NODE_OPTIONS", "--max-old-space-size=64"));
        Map<String, String> env = new ContainerCommand(r, BASH, List.of(), true).environment();
        Map<String, String> expected = new java.util.LinkedHashMap<>(Map.of("PATH", "/usr/local/bin:/usr/bin:/bin",
                "HOME", "/tmp", "LANG", "C.UTF-8", "TMPDIR", "/tmp"));
        expected.putAll(dev.warden.exec.EgressPort.env());
        expected.put("NODE_OPTIONS", "--require /.warden/net/node-proxy.cjs --max-old-space-size=64");
        assertEquals(expected, env);
        assertEquals(Map.of("PATH", "/usr/local/bin:/usr/bin:/bin", "HOME", "/tmp", "LANG", "C.UTF-8", "TMPDIR", "/tmp",
                "HTTP_PROXY", "http://elsewhere:1", "NODE_OPTIONS", "--max-old-space-size=64"),
                new ContainerCommand(r, BASH, List.of(), false).environment(), "no port: no proxy variables");
    }

    @Test
    void codeIsNeverSearchedForPlaceholdersAgain() {
        ContainerCommand c = new ContainerCommand(ExecRequest.code(List.of(), WS, null, Map.of(), Map.of(), "bash",
                "echo {class} {source}"), BASH, List.of(), false);
        assertEquals(List.of("bash", "-c", "echo {class} {source}"), c.runArgv().subList(4, 7));
    }
}
