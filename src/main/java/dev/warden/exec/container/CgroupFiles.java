package dev.warden.exec.container;

import dev.warden.exec.Usage;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Each container runs under a parent cgroup of its own ({@code /<parent>/<name>}, cgroup v1 with
 * the cgroupfs driver). The engine deletes the container's own group the moment its init exits;
 * the parent stays until Warden removes it, and v1 accounting is hierarchical, so the parent still
 * holds the run's peak memory, CPU time and OOM kills when the result is put together.
 */
final class CgroupFiles {

    /** A container's parent group: warden-PID-N, PID the Warden that made it. */
    private static final java.util.regex.Pattern GROUP = java.util.regex.Pattern.compile("warden-(\\d+)-\\d+");

    private final Path root;
    private final String parent;
    /**
     * The engine's own groups (its default parent, {@code docker/<id>}), only read: a server
     * without root can neither create nor remove groups, but can read the counters of its
     * containers (usage, OOM kills, refused forks) there, and the engine removes them itself.
     */
    private final boolean engineOwned;

    CgroupFiles(Path root, String parent) {
        this(root, parent, false);
    }

    private CgroupFiles(Path root, String parent, boolean engineOwned) {
        this.root = root;
        this.parent = parent;
        this.engineOwned = engineOwned;
    }

    /** Reads the groups the engine makes for each container under its default parent, and changes nothing. */
    static CgroupFiles engineOwned(Path root) {
        return new CgroupFiles(root, "docker", true);
    }

    /** Whether this process may make and remove groups (root): else only the engine's own are read. */
    static boolean writable(Path root) {
        return Files.isWritable(root.resolve("memory")) && Files.isWritable(root.resolve("cpuacct"))
                && Files.isWritable(root.resolve("pids"));
    }

    /** A container's group in one hierarchy: its parent group (id null) or its own. */
    private Path group(String hierarchy, String name, String id) {
        Path base = root.resolve(hierarchy).resolve(parent);
        if (engineOwned) {
            return base.resolve(id == null ? "-" : id);
        }
        return id == null ? base.resolve(name) : base.resolve(name).resolve(id);
    }

    /** Whether the host's cgroup v1 memory and cpuacct hierarchies are readable here. */
    static boolean usable(Path root) {
        return Files.isDirectory(root.resolve("memory")) && Files.isDirectory(root.resolve("cpuacct"))
                && Files.isRegularFile(root.resolve("memory/memory.max_usage_in_bytes"));
    }

    /** The engine's CgroupParent for a container of this name. */
    String parentOf(String name) {
        return engineOwned ? null : "/" + parent + "/" + name;
    }

    /** A warm container's idle time must not count: reset the peak and the CPU counter before the call. */
    void reset(String name) {
        if (engineOwned) {
            return; // not ours to write: a warm container's figures then include its idle time
        }
        write(root.resolve("memory").resolve(parent).resolve(name).resolve("memory.max_usage_in_bytes"), "0");
        write(root.resolve("cpuacct").resolve(parent).resolve(name).resolve("cpuacct.usage"), "0");
    }

    /** The container's peak memory and CPU time (its parent group, or the engine's group of it). */
    Usage usage(String name, String containerId) {
        String id = engineOwned ? containerId : null;
        Long peak = number(group("memory", name, id).resolve("memory.max_usage_in_bytes"));
        Long cpu = number(group("cpuacct", name, id).resolve("cpuacct.usage"));
        return new Usage(cpu == null ? null : cpu / 1_000_000, peak == null ? null : peak / 1024);
    }

    /**
     * OOM kills in the container's own group (v1 counts them there only, not in the parent), read
     * while it lives; once it has exited the engine's OOMKilled flag tells instead.
     */
    long oomKills(String name, String containerId) {
        try {
            for (String line : Files.readAllLines(group("memory", name, containerId).resolve("memory.oom_control"))) {
                if (line.startsWith("oom_kill ")) {
                    return Long.parseLong(line.substring(9).trim());
                }
            }
        }
        catch (IOException | RuntimeException ignored) {
            // not readable: the engine's OOMKilled flag still tells
        }
        return 0;
    }

    /** How often a fork was refused by the pids limit; read while the container still lives. */
    long pidsLimitHits(String name, String containerId) {
        try {
            for (String line : Files.readAllLines(group("pids", name, containerId).resolve("pids.events"))) {
                if (line.startsWith("max ")) {
                    return Long.parseLong(line.substring(4).trim());
                }
            }
        }
        catch (IOException | RuntimeException ignored) {
            // gone already or not readable
        }
        return 0;
    }

    /** Removes the parent group in every hierarchy once the container is gone. */
    void remove(String name) {
        if (engineOwned) {
            return; // the engine removes its own groups with the container
        }
        try (DirectoryStream<Path> hierarchies = Files.newDirectoryStream(root)) {
            for (Path h : hierarchies) {
                Path dir = h.resolve(parent).resolve(name);
                if (Files.isDirectory(dir)) {
                    delete(dir); // if still busy after that: left for the sweeps (this server's close, the next start)
                }
            }
        }
        catch (IOException ignored) {
            // no cgroup filesystem: nothing was created
        }
    }

    /** Parent groups left by a Warden that died (their name carries its pid): removed at start-up. */
    void sweep() {
        // not empty for good: a container of it still runs; its removal comes first
        deleteGroups(owner -> ProcessHandle.of(owner).isEmpty());
    }

    /** At this server's close: the parent groups of its own containers (also those the engine lost or others removed). */
    void sweepOwn() {
        long self = ProcessHandle.current().pid();
        deleteGroups(owner -> owner == self);
    }

    /** Deletes, in every hierarchy, the parent groups of the containers of the owners (Warden pids) named. */
    private void deleteGroups(java.util.function.LongPredicate owners) {
        if (engineOwned) {
            return;
        }
        try (DirectoryStream<Path> hierarchies = Files.newDirectoryStream(root)) {
            for (Path h : hierarchies) {
                Path base = h.resolve(parent);
                if (!Files.isDirectory(base)) {
                    continue;
                }
                try (DirectoryStream<Path> groups = Files.newDirectoryStream(base)) {
                    for (Path g : groups) {
                        java.util.regex.Matcher m = GROUP.matcher(g.getFileName().toString());
                        if (m.matches() && owners.test(Long.parseLong(m.group(1)))) {
                            delete(g);
                        }
                    }
                }
            }
        }
        catch (IOException | RuntimeException ignored) {
            // nothing to sweep
        }
    }

    /**
     * Removes a parent group. The engine removes a container's own group (the child) a moment after
     * the container is gone, not always before its remove call returns: while a child is still there,
     * this waits for it a little (at most a second) rather than leave the parent behind.
     */
    private static void delete(Path dir) {
        for (int attempt = 0; attempt < 20; attempt++) {
            try {
                Files.deleteIfExists(dir);
                return;
            }
            catch (IOException busy) {
                if (!childrenOnly(dir)) {
                    return; // processes in it: really in use
                }
                try {
                    Thread.sleep(50);
                }
                catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    /** Whether the group holds no process of its own (only child groups, which the engine is removing). */
    private static boolean childrenOnly(Path dir) {
        try {
            return Files.readString(dir.resolve("cgroup.procs")).isBlank();
        }
        catch (IOException | RuntimeException e) {
            return false;
        }
    }

    private static Long number(Path p) {
        try {
            return Long.parseLong(Files.readString(p).trim());
        }
        catch (IOException | RuntimeException e) {
            return null;
        }
    }

    private static void write(Path p, String v) {
        try {
            Files.writeString(p, v);
        }
        catch (IOException ignored) {
            // best effort: the figure then includes the idle time before the call
        }
    }
}
