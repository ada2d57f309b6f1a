package dev.warden.exec.host;

import dev.warden.exec.Usage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * One slot's cgroups (v1: memory, pids, cpuacct; plus the controller-less v2 hierarchy, whose
 * {@code cgroup.kill} ends a whole tree in one write, even one that is still forking).
 */
final class Cgroups {

    private final Path memory;
    private final Path pids;
    private final Path cpuacct;
    private final Path unified; // may be null: then killing falls back to reading cgroup.procs

    private Cgroups(Path memory, Path pids, Path cpuacct, Path unified) {
        this.memory = memory;
        this.pids = pids;
        this.cpuacct = cpuacct;
        this.unified = unified;
    }

    /** Creates (or re-uses) the slot's groups and sets the limits the kernel will enforce. */
    static Cgroups create(Path root, String parent, String name, int memoryMb, int pidsMax) throws IOException {
        Path mem = root.resolve("memory").resolve(parent).resolve(name);
        Path pid = root.resolve("pids").resolve(parent).resolve(name);
        Path cpu = root.resolve("cpuacct").resolve(parent).resolve(name);
        for (Path p : List.of(mem, pid, cpu)) {
            Files.createDirectories(p);
        }
        Path uni = root.resolve("unified");
        Path unifiedSlot = null;
        if (Files.isRegularFile(uni.resolve("cgroup.procs"))) {
            unifiedSlot = uni.resolve(parent).resolve(name);
            Files.createDirectories(unifiedSlot);
            if (!Files.exists(unifiedSlot.resolve("cgroup.kill"))) {
                unifiedSlot = null;
            }
        }
        Cgroups c = new Cgroups(mem, pid, cpu, unifiedSlot);
        c.killAll();
        long bytes = (long) memoryMb * 1024 * 1024;
        // Swap would let a run exceed its memory limit unseen: cap memory+swap at the same figure.
        write(mem.resolve("memory.limit_in_bytes"), Long.toString(bytes));
        if (Files.exists(mem.resolve("memory.memsw.limit_in_bytes"))) {
            write(mem.resolve("memory.memsw.limit_in_bytes"), Long.toString(bytes));
        }
        write(pid.resolve("pids.max"), Integer.toString(pidsMax));
        return c;
    }

    /**
     * Kills every process in a subtree (a server's instance: all its slots, whatever their number)
     * and then removes its groups. Only for a subtree no live server uses: the caller's own at its
     * start and exit, or a dead server's while holding that server's lease. A process that outlived
     * its server (one that was forked just as the server was killed, before it could tie its life to
     * its parent's) is in one of these groups, so this is what ends it.
     */
    static void clearTree(Path root, String subtree) {
        Path unifiedTop = root.resolve("unified").resolve(subtree);
        // cgroup.kill ends the whole subtree in one write, even a tree that is still forking
        killUntilEmpty(() -> treeProcs(root, subtree), () -> tryWrite(unifiedTop.resolve("cgroup.kill"), "1"));
        removeTree(root, subtree);
    }

    /** Every process in any group of the subtree, in any hierarchy. */
    private static java.util.Set<Long> treeProcs(Path root, String subtree) {
        java.util.Set<Long> all = new java.util.LinkedHashSet<>();
        for (String controller : List.of("memory", "pids", "cpuacct", "unified")) {
            Path top = root.resolve(controller).resolve(subtree);
            if (!Files.isDirectory(top)) {
                continue;
            }
            try (var walk = Files.walk(top)) {
                for (Path d : walk.filter(Files::isDirectory).toList()) {
                    String s = tryRead(d.resolve("cgroup.procs"));
                    if (s != null) {
                        s.lines().filter(l -> !l.isBlank()).map(String::trim).map(Long::parseLong).forEach(all::add);
                    }
                }
            }
            catch (IOException | java.io.UncheckedIOException e) {
                // a hierarchy we cannot read: the others still list the same processes
            }
        }
        return all;
    }

    /**
     * Removes a subtree of empty groups in every hierarchy, deepest first; a group that still has a
     * process stays (rmdir refuses it).
     */
    private static void removeTree(Path root, String subtree) {
        for (String controller : List.of("memory", "pids", "cpuacct", "unified")) {
            Path top = root.resolve(controller).resolve(subtree);
            if (!Files.isDirectory(top)) {
                continue;
            }
            try (var walk = Files.walk(top)) {
                List<Path> dirs = walk.filter(Files::isDirectory).sorted(java.util.Comparator.reverseOrder()).toList();
                for (Path d : dirs) {
                    try {
                        Files.delete(d);
                    }
                    catch (IOException busy) {
                        // still in use: left for the next start of this lease
                    }
                }
            }
            catch (IOException | java.io.UncheckedIOException e) {
                // a hierarchy we cannot read: nothing to remove there
            }
            try {
                Files.deleteIfExists(top.getParent()); // the server's top group, once no instance is left
            }
            catch (IOException inUse) {
                // another server's instance is still below it
            }
        }
    }

    static boolean available(Path root) {
        return Files.isWritable(root.resolve("memory")) && Files.isWritable(root.resolve("pids"))
                && Files.isDirectory(root.resolve("cpuacct"));
    }

    /** The directories the launcher joins before it drops privileges. */
    List<Path> joinPaths() {
        List<Path> all = new ArrayList<>(List.of(memory, pids, cpuacct));
        if (unified != null) {
            all.add(unified);
        }
        return all;
    }

    /** Counters the result reports on: reset before a run so they describe that run only. */
    void resetCounters() {
        tryWrite(memory.resolve("memory.max_usage_in_bytes"), "0");
        tryWrite(memory.resolve("memory.failcnt"), "0");
        tryWrite(cpuacct.resolve("cpuacct.usage"), "0");
    }

    long pidsLimitHits() {
        // pids.events holds "max N": how often a fork was refused at pids.max
        String ev = tryRead(pids.resolve("pids.events"));
        if (ev != null && ev.startsWith("max ")) {
            try {
                return Long.parseLong(ev.substring(4).trim());
            }
            catch (NumberFormatException ignored) {
                return 0;
            }
        }
        return 0;
    }

    boolean memoryLimitHit() {
        String oom = tryRead(memory.resolve("memory.oom_control"));
        String fail = tryRead(memory.resolve("memory.failcnt"));
        boolean killed = oom != null && oom.lines().anyMatch(l -> l.startsWith("oom_kill ") && !l.equals("oom_kill 0"));
        return killed || (fail != null && !fail.trim().equals("0"));
    }

    long oomKills() {
        String oom = tryRead(memory.resolve("memory.oom_control"));
        if (oom == null) {
            return 0;
        }
        return oom.lines().filter(l -> l.startsWith("oom_kill ")).mapToLong(l -> Long.parseLong(l.substring(9).trim()))
            .findFirst().orElse(0);
    }

    Usage usage() {
        Long cpu = null;
        Long peak = null;
        String ns = tryRead(cpuacct.resolve("cpuacct.usage"));
        if (ns != null) {
            cpu = Long.parseLong(ns.trim()) / 1_000_000;
        }
        String bytes = tryRead(memory.resolve("memory.max_usage_in_bytes"));
        if (bytes != null) {
            peak = Long.parseLong(bytes.trim()) / 1024;
        }
        return new Usage(cpu, peak);
    }

    /**
     * Whether the slot's processes fill its pids limit (all but one): a fork bomb that the uid's
     * RLIMIT_NPROC stopped before the cgroup's limit never shows in {@link #pidsLimitHits}.
     */
    boolean processesAtLimit() {
        String current = tryRead(pids.resolve("pids.current"));
        String max = tryRead(pids.resolve("pids.max"));
        if (current == null || max == null || max.trim().equals("max")) {
            return false;
        }
        return Long.parseLong(current.trim()) >= Long.parseLong(max.trim()) - 1;
    }

    /** Memory the slot's processes hold now, in KiB (null: unreadable). */
    Long memoryKb() {
        String bytes = tryRead(memory.resolve("memory.usage_in_bytes"));
        return bytes == null ? null : Long.parseLong(bytes.trim()) / 1024;
    }

    /**
     * The processes of the slot that live in a pid namespace below the host's (a sandbox's, not its
     * launcher or the outer bwrap): their host pids, each with its pid inside the sandbox, read from
     * {@code NSpid} in /proc.
     */
    Map<Long, Long> namespacedPids() {
        Map<Long, Long> inside = new java.util.LinkedHashMap<>();
        for (long pid : procs()) {
            String status = tryRead(Path.of("/proc", Long.toString(pid), "status"));
            if (status == null) {
                continue;
            }
            status.lines().filter(l -> l.startsWith("NSpid:")).findFirst().ifPresent(l -> {
                String[] ids = l.substring(6).trim().split("\\s+");
                if (ids.length >= 2) {
                    inside.put(pid, Long.parseLong(ids[ids.length - 1]));
                }
            });
        }
        return inside;
    }

    /** Kills every process in the slot and waits until none is left. */
    void killAll() {
        killAllExcept(-1);
    }

    /**
     * Kills every process in the slot but {@code keep}: with keep = the outer bwrap, the namespace's
     * init dies while its parent still lives to reap it. Killing the outer bwrap first would orphan
     * the init to the host's PID 1, which reaps only every few seconds, and the zombie would hold the
     * slot uid's RLIMIT_NPROC meanwhile.
     */
    void killAllExcept(long keep) {
        killUntilEmpty(() -> {
            java.util.Set<Long> pids = procs();
            pids.remove(keep);
            return pids;
        }, () -> {
            if (keep < 0 && unified != null) {
                tryWrite(unified.resolve("cgroup.kill"), "1");
            }
        });
    }

    /**
     * Kills what {@code listed} names, round after round (a process may fork between the listing and
     * the kill), until nothing is listed or about two seconds have passed; {@code first} runs before
     * each round's kills (a {@code cgroup.kill} write, where there is one).
     */
    private static void killUntilEmpty(java.util.function.Supplier<java.util.Set<Long>> listed, Runnable first) {
        for (int round = 0; round < 200; round++) {
            java.util.Set<Long> pids = listed.get();
            if (pids.isEmpty()) {
                return;
            }
            first.run();
            for (long pid : pids) {
                ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
            }
            try {
                Thread.sleep(round < 10 ? 1 : 10);
            }
            catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** Every process in the slot, once: the same pids are listed by each controller. */
    private java.util.Set<Long> procs() {
        java.util.Set<Long> all = new java.util.LinkedHashSet<>();
        for (Path dir : List.of(pids, memory)) {
            String s = tryRead(dir.resolve("cgroup.procs"));
            if (s != null) {
                s.lines().filter(l -> !l.isBlank()).map(String::trim).map(Long::parseLong).forEach(all::add);
            }
        }
        return all;
    }

    private static void write(Path file, String value) throws IOException {
        Files.writeString(file, value, StandardCharsets.US_ASCII);
    }

    private static void tryWrite(Path file, String value) {
        try {
            write(file, value);
        }
        catch (IOException ignored) {
            // a counter that cannot be reset only makes usage figures coarser
        }
    }

    private static String tryRead(Path file) {
        try {
            return Files.readString(file, StandardCharsets.US_ASCII);
        }
        catch (IOException e) {
            return null;
        }
    }
}
