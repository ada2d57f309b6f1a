package dev.warden.exec.container;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.dockerjava.core.command.CreateContainerCmdImpl;
import dev.warden.config.ContainerLimits;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Golden tests of the L3 isolation plan: the exact container spec for representative runs, and
 * the create request docker-java sends for it. They are meant to fail when an option disappears or
 * changes: each is a part of the boundary, and a change to one must be made here too, on purpose.
 */
class ContainerSpecTest {

    private static final ContainerLimits PYTHON = new ContainerLimits(512, 30_000, 128, 1.5, 60_000);

    private static ContainerSpec spec(String runtime, String cgroupParent) {
        return spec(runtime, cgroupParent, null);
    }

    private static ContainerSpec spec(String runtime, String cgroupParent, Path egress) {
        return ContainerSpec.of("warden/python", "warden-4242-7", "dev.warden", "4242", "python", "61100:61000", PYTHON,
                64, runtime, "{\"defaultAction\":\"SCMP_ACT_ERRNO\"}", Path.of("/var/lib/warden/sessions/abc"),
                Path.of("/var/lib/warden/container/bin/warden-spawn"), Path.of("/var/lib/warden/container/etc/hosts"),
                cgroupParent, egress, null);
    }

    @Test
    void theSpecOfARuncContainer() {
        assertEquals(new ContainerSpec("warden/python", "warden-4242-7",
                Map.of("dev.warden", "1", "dev.warden.pid", "4242", "dev.warden.language", "python"),
                "61100:61000", "/.warden/spawn", List.of("--request", "--mark-exec"), "/workspace", "sandbox", true, true,
                "runc", true, "none", List.of("ALL"),
                List.of("no-new-privileges", "seccomp={\"defaultAction\":\"SCMP_ACT_ERRNO\"}"),
                536870912L, 536870912L, 128L, 1_500_000_000L, true, "private",
                Map.of("/tmp", "rw,exec,nosuid,nodev,size=64m,mode=1777"), Map.of("core", 0L), "none",
                List.of(new ContainerSpec.Mount("/var/lib/warden/sessions/abc", "/workspace", false),
                        new ContainerSpec.Mount("/var/lib/warden/container/bin/warden-spawn", "/.warden/spawn", true),
                        new ContainerSpec.Mount("/var/lib/warden/container/etc/hosts", "/etc/hosts", true)),
                "/warden-l3/warden-4242-7"), spec("runc", "/warden-l3/warden-4242-7"));
    }

    /** With egress: the port's directory read-only at /.warden/net, the stub's relay, one more process. */
    @Test
    void theSpecOfAContainerWithEgress() {
        ContainerSpec s = spec("runc", "/warden-l3/warden-4242-7", Path.of("/run/warden/egress/l3-warden-4242-7"));
        assertEquals(new ContainerSpec("warden/python", "warden-4242-7",
                Map.of("dev.warden", "1", "dev.warden.pid", "4242", "dev.warden.language", "python"),
                "61100:61000", "/.warden/spawn",
                List.of("--request", "--mark-exec", "--relay", "3128:/.warden/net/proxy.sock"), "/workspace", "sandbox",
                true, true, "runc", true, "none", List.of("ALL"),
                List.of("no-new-privileges", "seccomp={\"defaultAction\":\"SCMP_ACT_ERRNO\"}"),
                536870912L, 536870912L, 129L, 1_500_000_000L, true, "private",
                Map.of("/tmp", "rw,exec,nosuid,nodev,size=64m,mode=1777"), Map.of("core", 0L), "none",
                List.of(new ContainerSpec.Mount("/var/lib/warden/sessions/abc", "/workspace", false),
                        new ContainerSpec.Mount("/var/lib/warden/container/bin/warden-spawn", "/.warden/spawn", true),
                        new ContainerSpec.Mount("/var/lib/warden/container/etc/hosts", "/etc/hosts", true),
                        new ContainerSpec.Mount("/run/warden/egress/l3-warden-4242-7", "/.warden/net", true)),
                "/warden-l3/warden-4242-7"), s);
        assertEquals(64 + 129 * 10, spec("runsc", null, Path.of("/e")).pidsLimit(), "gVisor: room for the relay too");
    }

    @Test
    void underRunscThePidsLimitMakesRoomForGvisorsOwnTasks() {
        ContainerSpec s = spec("runsc", null);
        assertEquals("runsc", s.runtime());
        assertEquals(64 + 128 * 10, s.pidsLimit());
        assertEquals(null, s.cgroupParent());
        assertEquals(128, ContainerSpec.hostPids(128, "runc"));
    }

    @Test
    void theSeccompProfileFollowsTheRuntime() {
        assertEquals(Seccomp.PROFILE, Seccomp.forRuntime("runc"));
        assertEquals(Seccomp.RUNSC_PROFILE, Seccomp.forRuntime("runsc"));
    }

    /** What goes to the engine: docker-java's create body, as JSON, filled from the spec. */
    @Test
    void theCreateRequestCarriesTheSpecAndNothingElse() throws Exception {
        CreateContainerCmdImpl cmd = new CreateContainerCmdImpl(c -> {
            throw new AssertionError("never sent");
        }, null, "warden/python");
        DockerCreate.fill(cmd, spec("runc", "/warden-l3/warden-4242-7"));
        ObjectMapper json = new ObjectMapper().setDefaultPropertyInclusion(JsonInclude.Include.NON_NULL);
        JsonNode sent = json.readTree(json.writeValueAsString(cmd));
        JsonNode golden = json.readTree("""
            {
              "Hostname": "sandbox", "User": "61100:61000",
              "AttachStdin": true, "AttachStdout": true, "AttachStderr": true, "OpenStdin": true, "StdinOnce": true,
              "Cmd": ["--request", "--mark-exec"], "Entrypoint": ["/.warden/spawn"], "Image": "warden/python",
              "Volumes": {}, "WorkingDir": "/workspace", "NetworkDisabled": true, "ExposedPorts": {},
              "HostConfig": {
                "Binds": ["/var/lib/warden/sessions/abc:/workspace:rw",
                          "/var/lib/warden/container/bin/warden-spawn:/.warden/spawn:ro",
                          "/var/lib/warden/container/etc/hosts:/etc/hosts:ro"],
                "NanoCpus": 1500000000, "CapDrop": ["ALL"], "IpcMode": "private",
                "LogConfig": {"Type": "none"},
                "Memory": 536870912, "MemorySwap": 536870912, "NetworkMode": "none", "Init": true,
                "ReadonlyRootfs": true, "Ulimits": [{"Name": "core", "Soft": 0, "Hard": 0}],
                "SecurityOpt": ["no-new-privileges", "seccomp={\\\"defaultAction\\\":\\\"SCMP_ACT_ERRNO\\\"}"],
                "CgroupParent": "/warden-l3/warden-4242-7", "PidsLimit": 128, "Runtime": "runc",
                "Tmpfs": {"/tmp": "rw,exec,nosuid,nodev,size=64m,mode=1777"}
              },
              "Labels": {"dev.warden": "1", "dev.warden.pid": "4242", "dev.warden.language": "python"}
            }
            """);
        assertEquals(golden, sent, json.writerWithDefaultPrettyPrinter().writeValueAsString(sent));
    }
}
