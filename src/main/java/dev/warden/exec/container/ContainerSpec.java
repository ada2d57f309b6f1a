package dev.warden.exec.container;

import dev.warden.config.ContainerLimits;
import dev.warden.exec.EgressPort;
import dev.warden.call.Tenant;
import java.util.ArrayList;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The isolation of one L3 container as data: everything the engine is asked for at create, built
 * by pure code from its inputs (no engine, no I/O), so a golden test pins every option; {@link
 * DockerCreate} fills docker-java's command from it and adds nothing. The container: read-only
 * root filesystem, no network, every capability dropped, no-new-privileges, Warden's seccomp
 * profile, an unprivileged uid, docker-init as PID 1, memory (swap included), pids and CPU limits,
 * a size-limited /tmp, no core dumps, no log copy on the host's disk, the session workspace as the
 * only writable host directory, under the OCI runtime the policy chose.
 *
 * @param cgroupParent the parent cgroup (Warden's, for usage figures), null for the engine's default
 */
record ContainerSpec(String image, String name, Map<String, String> labels, String user, String entrypoint,
        List<String> cmd, String workingDir, String hostname, boolean networkDisabled, boolean attachStdio,
        String runtime, boolean readonlyRootfs, String networkMode, List<String> capDrop, List<String> securityOpts,
        long memoryBytes, long memorySwapBytes, long pidsLimit, long nanoCpus, boolean init, String ipcMode,
        Map<String, String> tmpfs, Map<String, Long> ulimits, String logDriver, List<Mount> binds, String cgroupParent) {

    static final String WORKSPACE = "/workspace";
    static final String STUB = "/.warden/spawn";
    static final String HOSTS = "/etc/hosts";
    static final String RUNSC = "runsc";
    static final int RUNSC_PIDS_BASE = 64;
    static final int RUNSC_PIDS_PER_PROCESS = 10;

    /** A host path bound into the container. */
    record Mount(String host, String container, boolean readOnly) {
    }

    ContainerSpec {
        labels = Map.copyOf(labels);
        cmd = List.copyOf(cmd);
        capDrop = List.copyOf(capDrop);
        securityOpts = List.copyOf(securityOpts);
        tmpfs = Map.copyOf(tmpfs);
        ulimits = Map.copyOf(ulimits);
        binds = List.copyOf(binds);
    }

    /**
     * The container of one language for one session's workspace.
     *
     * @param label the key of Warden's labels (its containers are found and reaped by it)
     * @param ownerPid this server's pid, so a later server can tell a dead owner's leftovers
     * @param user uid:gid the container runs as
     * @param limits the language's container limits
     * @param tmpMb the size of the container's /tmp
     * @param runtime the OCI runtime: runc or runsc
     * @param seccomp the seccomp profile (JSON) for that runtime
     * @param stub the launcher stub on the host, bound read-only
     * @param hosts the runs' /etc/hosts on the host, bound read-only (with networking disabled Docker's own
     *     is empty, and {@code localhost} would not resolve)
     * @param tenant who the workspace's runs are: its home and its passwd and group are bound (null: none)
     * @param egress the container's egress port directory, bound read-only at {@link EgressPort#MOUNT},
     *     with the stub's relay listening on the container's loopback; null: no network at all
     */
    static ContainerSpec of(String image, String name, String label, String ownerPid, String language, String user,
            ContainerLimits limits, int tmpMb, String runtime, String seccomp, Path workspace, Path stub, Path hosts,
            String cgroupParent, Path egress, Tenant tenant) {
        long memory = (long) limits.memoryMb() * 1024 * 1024;
        Map<String, String> labels = new LinkedHashMap<>();
        labels.put(label, "1");
        labels.put(label + ".pid", ownerPid);
        labels.put(label + ".language", language);
        List<String> cmd = new ArrayList<>(List.of("--request", "--mark-exec"));
        List<Mount> binds = new ArrayList<>(List.of(new Mount(workspace.toString(), WORKSPACE, false),
                new Mount(stub.toString(), STUB, true), new Mount(hosts.toString(), HOSTS, true)));
        if (tenant != null && tenant.home() != null) {
            binds.add(new Mount(tenant.home().toString(), Tenant.HOME, false));
        }
        if (tenant != null && tenant.etc() != null) { // the tenant's uid named, as in its L2 sandboxes
            binds.add(new Mount(tenant.etc().resolve("passwd").toString(), "/etc/passwd", true));
            binds.add(new Mount(tenant.etc().resolve("group").toString(), "/etc/group", true));
        }
        if (egress != null) {
            // the relay listens on the container's loopback before the stub waits for its request
            cmd.addAll(List.of("--relay", EgressPort.RELAY));
            binds.add(new Mount(egress.toString(), EgressPort.MOUNT, true));
        }
        // the relay is one more process in the container
        int pids = egress == null ? limits.pids() : limits.pids() + 1;
        return new ContainerSpec(image, name, labels, user,
                // the stub waits on stdin for its one request, then execs the program
                STUB, cmd, WORKSPACE, "sandbox", true, true,
                runtime, true, "none", List.of("ALL"), List.of("no-new-privileges", "seccomp=" + seccomp),
                memory, memory, // equal: no swap beyond the memory limit
                hostPids(pids, runtime), (long) (limits.cpus() * 1_000_000_000L), true, "private",
                // exec: compiled programs run from here; the rest as Docker's own default for a tmpfs
                Map.of("/tmp", "rw,exec,nosuid,nodev,size=" + tmpMb + "m,mode=1777"),
                Map.of("core", 0L),
                // no log driver: Warden reads the output from the attach stream, and the default json-file
                // driver would copy everything a run prints, uncapped, onto the host's disk
                "none",
                binds, cgroupParent);
    }

    /**
     * Under runc the container's tasks are the program's. Under runsc the pids cgroup also holds
     * gVisor's own (measured with the ptrace platform: about 60 for an idle sandbox, and about 9 more
     * for each process of the program), so the same number of the program's processes needs a larger
     * host limit; a fork bomb still stops at it.
     */
    static long hostPids(int pids, String runtime) {
        return RUNSC.equals(runtime) ? RUNSC_PIDS_BASE + (long) pids * RUNSC_PIDS_PER_PROCESS : pids;
    }
}
