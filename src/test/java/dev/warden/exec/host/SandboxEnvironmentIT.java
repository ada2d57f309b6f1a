package dev.warden.exec.host;

import static dev.warden.exec.host.SandboxHarness.err;
import static dev.warden.exec.host.SandboxHarness.exit;
import static dev.warden.exec.host.SandboxHarness.out;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.warden.config.ConfigLoader;
import dev.warden.exec.ExecOutcome;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The L2 sandbox on Warden's environment (the exported warden/env tree, sandbox.environment:
 * warden, the default): its libraries are there, it is read-only, it carries no setuid file, and
 * of its /etc only the listed entries are visible. Needs the tree (tools/build-images.sh env);
 * without it the tests are skipped, saying so.
 */
class SandboxEnvironmentIT {

    static final Path ENV = Path.of("/var/cache/warden/env/current");
    static SandboxHarness h;

    @BeforeAll
    static void start() throws IOException {
        assumeTrue(Files.isExecutable(ENV.resolve("usr/bin/python3")), "no environment at " + ENV
                + " (tools/build-images.sh env)");
        h = new SandboxHarness();
    }

    @AfterAll
    static void stop() {
        if (h != null) {
            h.close();
        }
    }

    @Test
    void theEnvironmentsLibrariesAndToolsAreThere() {
        ExecOutcome o = h.sandbox(30_000, "/usr/bin/python3", "-c",
                "import numpy, pandas, matplotlib, pytest, requests; print(matplotlib.get_backend(), numpy.__file__)");
        assertEquals("agg /usr/lib/python3/dist-packages/numpy/__init__.py\n", out(o), err(o));
        o = h.sandbox(30_000, "/bin/sh", "-c", "head -n 1 /etc/os-release; node --version; make --version | head -n 1;"
                + " cc --version | head -n 1; npm --version");
        assertTrue(out(o).startsWith("PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nv18."), out(o) + err(o));
        assertTrue(out(o).contains("GNU Make") && out(o).contains("cc (Debian 12."), out(o) + err(o));
    }

    /** Written from inside: every place of the environment refuses; on the host the tree is unchanged. */
    @Test
    void theEnvironmentIsReadOnly() throws Exception {
        Path marker = ENV.resolve("usr/lib/python3/dist-packages/warden-escape.py");
        ExecOutcome o = h.sandbox(10_000, "/bin/sh", "-c",
                "for f in /usr/lib/python3/dist-packages/warden-escape.py /usr/local/bin/x /etc/ssl/certs/x"
                        + " /etc/python3.11/x /etc/alternatives/x /etc/matplotlibrc; do"
                        + " (echo pwned > $f) 2>/dev/null && echo WROTE $f; done; echo done");
        assertEquals("done\n", out(o), err(o));
        assertFalse(Files.exists(marker));
        assertFalse(Files.readString(ENV.resolve("etc/matplotlibrc")).contains("pwned"));
    }

    @Test
    void noSetuidFileAndNoOtherEtcOfTheEnvironment() {
        ExecOutcome o = h.sandbox(60_000, "/bin/sh", "-c",
                "find / -xdev -type f -perm /6000 2>/dev/null; find /usr -type f -perm /6000 | head -n 3;"
                        + " ls /etc; test -e /etc/shadow || echo no-shadow; test -e /etc/apt || echo no-apt");
        assertEquals(0, exit(o), err(o));
        String etc = out(o);
        assertTrue(etc.endsWith("no-shadow\nno-apt\n"), etc);
        assertFalse(etc.contains("/usr/"), "setuid or setgid files: " + etc);
        for (String want : new String[] {"ld.so.cache", "alternatives", "ssl", "passwd", "group", "hosts", "matplotlibrc"}) {
            assertTrue(etc.lines().anyMatch(want::equals), want + " missing in " + etc);
        }
    }

    /** sandbox.environment: host: the host's /usr, as before the environment existed. */
    @Test
    void onTheHostsUsrWhenAskedFor() throws Exception {
        Path yaml = Files.createTempFile("warden-env-host-", ".yaml");
        Files.writeString(yaml, "sandbox:\n  environment: host\n");
        try (SandboxHarness host = new SandboxHarness(new ConfigLoader().load(yaml))) {
            String mine = Files.readString(Path.of("/usr/lib/os-release")).lines().findFirst().orElse("");
            ExecOutcome o = host.sandbox(10_000, "/bin/sh", "-c", "head -n 1 /usr/lib/os-release; test -e /etc/os-release || echo none");
            assertEquals(mine + "\nnone\n", out(o), err(o));
        }
        finally {
            Files.deleteIfExists(yaml);
        }
    }
}
