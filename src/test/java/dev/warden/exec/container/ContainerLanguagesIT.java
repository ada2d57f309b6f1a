package dev.warden.exec.container;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.exec.ExecOutcome;
import dev.warden.exec.host.SandboxHarness;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Every language runs (compiled ones compile, then run) in its container, with usage figures. */
class ContainerLanguagesIT {

    static ContainerHarness h;

    @BeforeAll
    static void start() throws Exception {
        h = new ContainerHarness("{python: 0, javascript: 0, typescript: 0, bash: 0, java: 0, c: 0, cpp: 0, go: 0, rust: 0}");
    }

    @AfterAll
    static void stop() {
        if (h != null) {
            h.close();
        }
    }

    static final Map<String, String> HELLO = Map.of(
            "python", "print('hello from python')",
            "javascript", "console.log('hello from javascript')",
            "typescript", "const who: string = 'typescript';\nconsole.log(`hello from ${who}`);",
            "bash", "echo hello from bash",
            "java", "public class Hello {\n  public static void main(String[] a) {\n    System.out.println(\"hello from java\");\n  }\n}\n",
            "c", "#include <stdio.h>\nint main(void) { puts(\"hello from c\"); return 0; }\n",
            "cpp", "#include <iostream>\nint main() { std::cout << \"hello from cpp\" << std::endl; }\n",
            "go", "package main\nimport \"fmt\"\nfunc main() { fmt.Println(\"hello from go\") }\n",
            "rust", "fn main() { println!(\"hello from rust\"); }\n");

    @ParameterizedTest
    @CsvSource({"python,false", "javascript,false", "bash,false", "typescript,true", "java,true", "c,true", "cpp,true",
            "go,true", "rust,true"})
    void helloWorldRunsInItsContainer(String language, boolean compiled) {
        ExecOutcome o = h.run(language, HELLO.get(language), 60_000, "", Map.of());
        ExecOutcome.Completed c = assertInstanceOf(ExecOutcome.Completed.class, o, () -> language + ": " + o);
        assertEquals(0, c.exitCode(), () -> language + " stderr: " + ContainerHarness.err(o));
        assertEquals("hello from " + language + "\n", SandboxHarness.out(o));
        if (compiled) {
            assertNotNull(c.compile(), language + " has a compile phase");
            assertEquals("ok", c.compile().status());
            assertEquals(0, c.compile().exitCode());
        }
        else {
            assertEquals(null, c.compile());
        }
        assertNotNull(c.usage().peakMemoryKb(), "peak memory is measured");
        assertTrue(c.usage().peakMemoryKb() > 100, "peak memory " + c.usage().peakMemoryKb());
        assertNotNull(c.usage().cpuMs(), "cpu time is measured");
    }

    @Test
    void aFailedCompileIsReportedAndNothingRuns() {
        ExecOutcome o = h.run("c", "int main(void) { return undefined_thing; }\n", 60_000, "", Map.of());
        ExecOutcome.CompileFailed f = assertInstanceOf(ExecOutcome.CompileFailed.class, o, () -> String.valueOf(o));
        assertEquals("failed", f.compile().status());
        assertTrue(new String(f.compile().stderr().bytes(), StandardCharsets.UTF_8).contains("undefined_thing"));
    }

    @Test
    void stdinReachesTheProgramAndEnds() {
        ExecOutcome o = h.run("python", "import sys\ndata = sys.stdin.read()\nprint(len(data), data.upper())", 30_000,
                "abc", Map.of());
        assertEquals("3 ABC\n", SandboxHarness.out(o), () -> ContainerHarness.err(o));
    }

    @Test
    void filesAndOutputsPersistInTheWorkspace() throws Exception {
        ExecOutcome o = h.run("python", "print(open('in/data.txt').read().strip()); open('out.txt','w').write('from the container')",
                30_000, "", Map.of("in/data.txt", "given"));
        assertEquals("given\n", SandboxHarness.out(o), () -> ContainerHarness.err(o));
        assertEquals("from the container", java.nio.file.Files.readString(h.workspace.resolve("out.txt")));
        assertEquals(h.config.sandbox().gid(), java.nio.file.Files.getAttribute(h.workspace.resolve("out.txt"), "unix:gid"),
                "the workspace group owns what the container writes, so the L2 sandbox can use it");
        ExecOutcome next = h.run("c", "#include <stdio.h>\nint main(void){FILE*f=fopen(\"out.txt\",\"r\");char b[64]={0};fread(b,1,63,f);puts(b);}\n",
                60_000, "", Map.of());
        assertEquals("from the container\n", SandboxHarness.out(next), () -> ContainerHarness.err(next));
    }
}
