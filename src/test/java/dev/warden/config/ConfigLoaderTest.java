package dev.warden.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class ConfigLoaderTest {

    private static Path yaml(String text) throws Exception {
        Path p = Files.createTempFile("warden-config-test-", ".yaml");
        Files.writeString(p, text);
        p.toFile().deleteOnExit();
        return p;
    }

    @Test
    void builtInDefaultsLoad() {
        WardenConfig c = new ConfigLoader().load(null);
        assertEquals(30000, c.limits().timeoutMs());
        assertTrue(c.languages().containsKey("python"));
        assertEquals("", c.policy().file());
    }

    @Test
    void operatorFileOverridesOnlyWhatItNames() throws Exception {
        WardenConfig c = new ConfigLoader().load(yaml("limits:\n  memory_mb: 256\n"));
        assertEquals(256, c.limits().memoryMb());
        assertEquals(64, c.limits().pids());
    }

    @Test
    void theLogFormatIsTextOrJson() throws Exception {
        assertEquals("text", new ConfigLoader().load(null).server().logFormat());
        assertEquals("json", new ConfigLoader().load(yaml("server:\n  log_format: json\n")).server().logFormat());
        ConfigException e = assertThrows(ConfigException.class,
                () -> new ConfigLoader().load(yaml("server:\n  log_format: xml\n")));
        assertTrue(e.getMessage().contains("server.log_format: expected text or json, got \"xml\""), e.getMessage());
    }

    @Test
    void unknownKeyIsRefused() throws Exception {
        ConfigException e = assertThrows(ConfigException.class, () -> new ConfigLoader().load(yaml("limits:\n  memroy_mb: 1\n")));
        assertTrue(e.getMessage().contains("memroy_mb"), e.getMessage());
    }

    @Test
    void unknownKeyNamesItsPathAndTheKeyProbablyMeant() throws Exception {
        ConfigException e = assertThrows(ConfigException.class,
                () -> new ConfigLoader().load(yaml("limits:\n  memroy_mb: 1\n")));
        assertTrue(e.getMessage().endsWith("limits.memroy_mb: unknown key; did you mean limits.memory_mb?"),
                e.getMessage());
        e = assertThrows(ConfigException.class, () -> new ConfigLoader().load(yaml("limit:\n  memory_mb: 1\n")));
        assertTrue(e.getMessage().endsWith("limit: unknown key; did you mean limits?"), e.getMessage());
        e = assertThrows(ConfigException.class,
                () -> new ConfigLoader().load(yaml("rate_limits:\n  per_client: {capacity: 1, refil_per_minute: 2}\n")));
        assertTrue(e.getMessage().endsWith("rate_limits.per_client.refil_per_minute: unknown key; did you mean "
                + "rate_limits.per_client.refill_per_minute?"), e.getMessage());
    }

    @Test
    void unknownKeyFarFromEveryKnownOneListsTheKnownKeys() throws Exception {
        ConfigException e = assertThrows(ConfigException.class,
                () -> new ConfigLoader().load(yaml("audit:\n  destination: /x\n")));
        assertTrue(e.getMessage().contains("audit.destination: unknown key; known keys here: fail_closed, file, fsync, incidents"),
                e.getMessage());
    }

    @Test
    void wrongTypeNamesTheKeyPathAndWhatWasExpected() throws Exception {
        ConfigException e = assertThrows(ConfigException.class,
                () -> new ConfigLoader().load(yaml("limits:\n  memory_mb: lots\n")));
        assertTrue(e.getMessage().endsWith("limits.memory_mb: expected a whole number, got \"lots\""), e.getMessage());
        e = assertThrows(ConfigException.class, () -> new ConfigLoader().load(yaml("audit:\n  fsync: sometimes\n")));
        assertTrue(e.getMessage().endsWith("audit.fsync: expected true or false, got \"sometimes\""), e.getMessage());
        e = assertThrows(ConfigException.class, () -> new ConfigLoader().load(yaml("limits: 5\n")));
        assertTrue(e.getMessage().contains("limits: expected a mapping"), e.getMessage());
        e = assertThrows(ConfigException.class, () -> new ConfigLoader().load(yaml("http:\n  tokens: abc\n")));
        assertTrue(e.getMessage().contains("http.tokens: expected a list"), e.getMessage());
        e = assertThrows(ConfigException.class, () -> new ConfigLoader().load(yaml("limits:\n  pids: ~\n")));
        assertTrue(e.getMessage().contains("limits.pids: needs a value"), e.getMessage());
    }

    @Test
    void problemsAreOneLineWithoutJavaNames() throws Exception {
        for (String bad : new String[] {"limits:\n  memroy_mb: 1\n", "limits:\n  memory_mb: lots\n", "limits: 5\n",
            "limits:\n  memory_mb: [1\n", "sandbox:\n  uid_base: 0\n"}) {
            ConfigException e = assertThrows(ConfigException.class, () -> new ConfigLoader().load(yaml(bad)));
            assertTrue(!e.getMessage().contains("\n") && !e.getMessage().contains("dev.warden")
                    && !e.getMessage().contains("WardenConfig"), e.getMessage());
        }
        ConfigException e = assertThrows(ConfigException.class,
                () -> new ConfigLoader().load(Path.of("/nonexistent/warden.yaml")));
        assertTrue(e.getMessage().contains("/nonexistent/warden.yaml does not exist"), e.getMessage());
    }

    @Test
    void editDistanceCountsInsertionsDeletionsAndChanges() {
        assertEquals(0, ConfigProblem.distance("memory_mb", "memory_mb"));
        assertEquals(2, ConfigProblem.distance("memroy_mb", "memory_mb"));
        assertEquals(1, ConfigProblem.distance("pid", "pids"));
        assertEquals(3, ConfigProblem.distance("abc", ""));
    }

    /** L2's system tree: Warden's environment by default, the host's on request, nothing else. */
    @Test
    void theSandboxEnvironmentIsWardensOrTheHostsAndNothingElse() throws Exception {
        WardenConfig c = new ConfigLoader().load(null);
        assertEquals("warden", c.sandbox().environment());
        assertEquals("/var/cache/warden/env/current", c.sandbox().environmentDir());
        assertEquals("host", new ConfigLoader().load(yaml("sandbox:\n  environment: host\n")).sandbox().environment());
        ConfigException e = assertThrows(ConfigException.class,
                () -> new ConfigLoader().load(yaml("sandbox:\n  environment: hosts\n")));
        assertTrue(e.getMessage().contains("sandbox.environment must be warden or host, not hosts"), e.getMessage());
        e = assertThrows(ConfigException.class,
                () -> new ConfigLoader().load(yaml("sandbox:\n  environment_dir: env/current\n")));
        assertTrue(e.getMessage().contains("sandbox.environment_dir must be an absolute path"), e.getMessage());
    }

    @Test
    void outOfRangeValuesAreRefused() throws Exception {
        assertThrows(ConfigException.class, () -> new ConfigLoader().load(yaml("sandbox:\n  uid_base: 0\n")));
        assertThrows(ConfigException.class, () -> new ConfigLoader().load(yaml("limits:\n  timeout_ms: 999999\n")));
        assertThrows(ConfigException.class, () -> new ConfigLoader().load(yaml("http:\n  tokens: [short]\n")));
        assertThrows(ConfigException.class, () -> new ConfigLoader().load(yaml("languages:\n  x:\n    command: [python3, '{code}']\n")));
        assertThrows(ConfigException.class, () -> new ConfigLoader().load(yaml("- not a mapping\n")));
    }

    @Test
    void containerSectionHasSafeDefaultsAndRefusesUnsafeValues() throws Exception {
        WardenConfig c = new ConfigLoader().load(null);
        assertEquals("unix:///var/run/docker.sock", c.container().dockerHost());
        assertEquals("warden/", c.container().imagePrefix());
        assertTrue(c.container().languages().keySet().containsAll(
                java.util.List.of("python", "javascript", "typescript", "bash", "java", "c", "cpp", "go", "rust")));
        assertEquals(1, new ConfigLoader().load(yaml("container:\n  pool: {python: 1}\n")).container().pool().get("python"));
        // a remote engine could not bind this host's workspaces; root in a container is refused
        assertThrows(ConfigException.class, () -> new ConfigLoader().load(yaml("container:\n  docker_host: tcp://10.0.0.1:2375\n")));
        assertThrows(ConfigException.class, () -> new ConfigLoader().load(yaml("container:\n  uid: 0\n")));
        assertThrows(ConfigException.class, () -> new ConfigLoader().load(yaml("container:\n  pool: {cobol: 1}\n")));
        assertThrows(ConfigException.class, () -> new ConfigLoader().load(yaml("container:\n  pool: {python: -1}\n")));
        assertThrows(ConfigException.class, () -> new ConfigLoader().load(yaml("container:\n  languages:\n    x: {run: [x]}\n")));
        ConfigException e = assertThrows(ConfigException.class, () -> new ConfigLoader().load(yaml("container:\n  pools: {}\n")));
        assertTrue(e.getMessage().contains("pools"), e.getMessage());
    }

    @Test
    void approvalsAndTheWebhookAreCheckedAtLoad() throws Exception {
        WardenConfig d = new ConfigLoader().load(null);
        assertEquals("deny", d.approvals().onClientDecline(), "the contract's behaviour unless an operator asks");
        assertEquals("form", d.approvals().elicitation());
        assertEquals("", d.operator().webhook().url());
        WardenConfig c = new ConfigLoader().load(yaml("approvals:\n  on_client_decline: operator\n  elicitation: url\n"
                + "operator:\n  public_url: https://warden.example.org/operator\n  webhook:\n    url: https://hooks.example.org/w\n"
                + "    secret: sixteen-chars-or-more\n    events: [approval_pending]\n"));
        assertEquals("operator", c.approvals().onClientDecline());
        assertEquals(List.of("approval_pending"), c.operator().webhook().events());
        String[][] bad = {
            {"approvals:\n  on_client_decline: ask\n", "approvals.on_client_decline must be deny or operator, not ask"},
            {"approvals:\n  elicitation: popup\n", "approvals.elicitation must be form, url or auto, not popup"},
            {"approvals:\n  elicitation: url\n", "approvals.elicitation: url needs operator.public_url"},
            {"operator:\n  public_url: javascript:alert(1)\n", "operator.public_url must be an http or https URL, not javascript:"},
            {"operator:\n  public_url: https://w.example.org/operator?token=x\n", "without a query or fragment"},
            {"operator:\n  webhook:\n    url: file:///etc/passwd\n    secret: sixteen-chars-or-more\n",
                "operator.webhook.url must be an http or https URL, not file:"},
            {"operator:\n  webhook:\n    url: https://user:pw@hooks.example.org/\n    secret: sixteen-chars-or-more\n",
                "operator.webhook.url must not carry a user or password"},
            {"operator:\n  webhook:\n    url: https://hooks.example.org/w\n", "operator.webhook.secret needs at least 16 characters"},
            {"operator:\n  webhook:\n    events: [approval_pendin]\n", "unknown event approval_pendin"},
            {"operator:\n  webhook:\n    timeout_ms: 0\n", "operator.webhook.timeout_ms must be between 100 and 30000"},
            {"operator:\n  webhok:\n    url: x\n", "did you mean operator.webhook?"},
        };
        for (String[] b : bad) {
            ConfigException e = assertThrows(ConfigException.class, () -> new ConfigLoader().load(yaml(b[0])), b[0]);
            assertTrue(e.getMessage().contains(b[1]), e.getMessage());
        }
    }
}
