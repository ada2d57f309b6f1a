package dev.warden.exec.host;

import dev.warden.exec.EgressPorts;
import dev.warden.exec.ExecOutcome;
import dev.warden.exec.ExecRequest;
import dev.warden.exec.Limits;
import dev.warden.config.ConfigLoader;
import dev.warden.config.WardenConfig;
import dev.warden.session.WorkspaceDirs;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** A real sandbox runtime on the default config, one workspace, and helpers to look at the host. */
public final class SandboxHarness implements AutoCloseable {

    final WardenConfig config;
    final Path state;
    final Path workspace;
    final SandboxRuntime runtime;

    SandboxHarness() throws IOException {
        this(new ConfigLoader().load(null));
    }

    SandboxHarness(WardenConfig config) throws IOException {
        this(config, EgressPorts.NONE);
    }

    /** @param egress the sandboxes' way out (a {@link dev.warden.exec.FakeEgress} in the egress tests) */
    SandboxHarness(WardenConfig config, EgressPorts egress) throws IOException {
        this.config = config;
        this.state = Files.createTempDirectory("warden-it-state-");
        Files.setAttribute(state, "unix:mode", 0755);
        Path root = Files.createTempDirectory("warden-it-ws-");
        Files.setAttribute(root, "unix:mode", 0711);
        this.workspace = root.resolve("session");
        WorkspaceDirs.create(workspace, config.sandbox().gid());
        this.runtime = SandboxRuntime.create(config, state, egress);
    }

    Limits limits(long timeoutMs) {
        return Limits.of(config.limits()).withTimeoutMs(timeoutMs);
    }

    ExecOutcome sandbox(long timeoutMs, String... argv) {
        return runtime.sandbox().run(new ExecRequest(List.of(argv), workspace, "", null, Map.of()), limits(timeoutMs));
    }

    ExecOutcome inline(long timeoutMs, String... argv) {
        return runtime.inline().run(new ExecRequest(List.of(argv), workspace, "", null, Map.of()), limits(timeoutMs));
    }

    /** The run's stdout, whatever way it ended (also used by the container tests). */
    public static String out(ExecOutcome o) {
        return dev.warden.exec.ExecutorContract.out(o);
    }

    static String err(ExecOutcome o) {
        if (o instanceof ExecOutcome.Completed c) {
            return new String(c.stderr().bytes(), StandardCharsets.UTF_8);
        }
        return "";
    }

    static int exit(ExecOutcome o) {
        return o instanceof ExecOutcome.Completed c ? c.exitCode() : Integer.MIN_VALUE;
    }

    /** Host processes inside this server's slot cgroups, whatever uid they run as. */
    List<String> hostProcessesOfSlots() {
        String subtree = runtime.cgroupSubtree();
        List<String> found = new ArrayList<>();
        try (var dirs = Files.list(Path.of("/proc"))) {
            for (Path p : dirs.filter(d -> d.getFileName().toString().matches("\\d+")).toList()) {
                try {
                    if (Files.readString(p.resolve("cgroup")).contains(subtree)) {
                        found.add(p.getFileName() + " " + Files.readString(p.resolve("cmdline")).replace('\0', ' ')
                            + " [" + status(p) + "]");
                    }
                }
                catch (IOException | RuntimeException gone) {
                    // the process ended while we looked
                }
            }
        }
        catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return found;
    }

    /** State, parent and uid of a process, for a readable failure message. */
    private static String status(Path proc) throws IOException {
        return Files.readAllLines(proc.resolve("status")).stream()
            .filter(l -> l.startsWith("State:") || l.startsWith("PPid:") || l.startsWith("Uid:") || l.startsWith("Name:"))
            .map(l -> l.replaceAll("\\s+", " "))
            .reduce((a, b) -> a + "; " + b).orElse("");
    }

    /** Host processes whose command line contains the marker (from any uid). */
    static List<String> hostProcessesWith(String marker) {
        return dev.warden.exec.ExecutorContract.hostProcessesWith(marker);
    }

    @Override
    public void close() {
        runtime.forget(workspace);
        runtime.close();
        WorkspaceDirs.delete(workspace.getParent());
        WorkspaceDirs.delete(state);
    }
}
