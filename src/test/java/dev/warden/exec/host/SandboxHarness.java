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
        this(config, egress, -1);
    }

    /** A project directory of its own, owned by {@code owner}, bound at the workspace (project mode), or none (-1). */
    private final Path project;

    private SandboxHarness(WardenConfig config, EgressPorts egress, int owner) throws IOException {
        this.config = config;
        this.state = Files.createTempDirectory("warden-it-state-");
        Files.setAttribute(state, "unix:mode", 0755);
        Path root = Files.createTempDirectory("warden-it-ws-");
        Files.setAttribute(root, "unix:mode", 0711);
        this.workspace = root.resolve("session");
        WorkspaceDirs.create(workspace, config.sandbox().gid());
        dev.warden.call.Tenants tenants = new dev.warden.call.Tenants();
        if (owner >= 0) {
            // as Workspaces does in project mode: the project bound at the workspace, its owner the tenant
            project = root.resolve("project");
            Files.createDirectory(project);
            Path home = root.resolve("home");
            Files.createDirectory(home);
            for (Path p : List.of(project, home)) {
                Files.setAttribute(p, "unix:uid", owner);
                Files.setAttribute(p, "unix:gid", owner);
            }
            Files.setAttribute(home, "unix:mode", 0700);
            Path etc = root.resolve("etc");
            Files.createDirectory(etc);
            Files.writeString(etc.resolve("passwd"), dev.warden.call.Tenant.passwd(owner, owner));
            Files.writeString(etc.resolve("group"), dev.warden.call.Tenant.group(owner));
            run("mount", "--bind", project.toString(), workspace.toString());
            tenants.register(workspace, new dev.warden.call.Tenant(owner, owner, home, etc));
        }
        else {
            project = null;
        }
        this.runtime = SandboxRuntime.create(config, state, egress, tenants);
    }

    /** Project mode: the sandbox's workspace is a project directory of {@code owner}'s, its runs have that uid. */
    static SandboxHarness project(int owner) throws IOException {
        return new SandboxHarness(new ConfigLoader().load(null), EgressPorts.NONE, owner);
    }

    private static void run(String... cmd) throws IOException {
        try {
            if (new ProcessBuilder(cmd).inheritIO().start().waitFor() != 0) {
                throw new IOException(String.join(" ", cmd) + " failed");
            }
        }
        catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
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
        if (project != null) {
            try {
                run("umount", "-l", workspace.toString());
            }
            catch (IOException e) {
                return; // never delete through a mount
            }
        }
        WorkspaceDirs.delete(workspace.getParent());
        WorkspaceDirs.delete(state);
    }
}
