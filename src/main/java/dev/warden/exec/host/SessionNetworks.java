package dev.warden.exec.host;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One network namespace per session: every L2 sandbox of a session joins its session's namespace
 * (bubblewrap's {@code --share-net} after {@code nsenter}) instead of making one of its own, so a
 * server a background run starts on 127.0.0.1:PORT is reachable from the session's later runs, and
 * never from another session's, whose loopback is another namespace's. The namespace has loopback
 * only, like a sandbox's own: no route out but the egress relay.
 *
 * <p>Each sandbox's relay listens on a port of its slot ({@link #relayPort}); a packet filter in the
 * namespace lets only the slot's own uid reach it, so a run never borrows a concurrent run's
 * connection to the proxy (and with it that call's network grants). Made with {@code ip netns}
 * (iproute2) and {@code iptables-restore} in the namespace; if either fails, sandboxes keep a
 * namespace each (no sharing, nothing weaker).
 */
final class SessionNetworks {

    private static final Logger log = LoggerFactory.getLogger(SessionNetworks.class);
    /** Where {@code ip netns} keeps the namespaces it names. */
    static final Path NETNS_DIR = Path.of("/run/netns");
    /** The first relay port; slot i's relay listens on {@code RELAY_BASE + i}. */
    static final int RELAY_BASE = 28000;

    private final String prefix;
    private final int slots;
    private final int uidBase;
    private final Map<Path, Path> byWorkspace = new ConcurrentHashMap<>();
    private volatile boolean working = true;

    /**
     * @param prefix this server's names ({@code warden-iN-}): anything else under /run/netns is not its own
     * @param slots how many slots there are: slot i runs as {@code uidBase + i}
     */
    SessionNetworks(String prefix, int slots, int uidBase) {
        this.prefix = prefix;
        this.slots = slots;
        this.uidBase = uidBase;
    }

    static int relayPort(Slot slot) {
        return RELAY_BASE + slot.index();
    }

    /**
     * The namespace of this workspace's session (made on first use), or null when namespaces cannot
     * be made here: the sandbox then makes its own.
     */
    Path of(Path workspace) {
        if (!working) {
            return null;
        }
        try {
            return byWorkspace.computeIfAbsent(workspace, ws -> {
                try {
                    return create(prefix + ws.getFileName().toString().replaceAll("[^A-Za-z0-9_.-]", "_"));
                }
                catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
        }
        catch (java.io.UncheckedIOException e) {
            working = false;
            log.warn("sessions cannot share a network namespace here ({}); every sandbox keeps its own",
                    e.getCause().getMessage());
            return null;
        }
    }

    private Path create(String name) throws IOException {
        Path ns = NETNS_DIR.resolve(name);
        if (Files.exists(ns)) {
            run(null, "ip", "netns", "del", name); // a leftover of an earlier server with this lease
        }
        run(null, "ip", "netns", "add", name);
        try {
            run(null, "ip", "-n", name, "link", "set", "lo", "up");
            StringBuilder rules = new StringBuilder("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n");
            for (int i = 0; i < slots; i++) {
                // the runs of a session share its uid: the slot's own supplementary group tells them apart
                rules.append("-A OUTPUT -o lo -p tcp --dport ").append(RELAY_BASE + i).append(" -m owner ! --gid-owner ")
                    .append(uidBase + slots + i).append(" --suppl-groups -j REJECT --reject-with tcp-reset\n");
            }
            rules.append("COMMIT\n");
            run(rules.toString(), "nsenter", "--net=" + ns, "iptables-restore");
        }
        catch (IOException e) {
            run(null, "ip", "netns", "del", name);
            throw e;
        }
        return ns;
    }

    /** The session ended: its namespace goes (what still runs in it keeps it until it exits). */
    void remove(Path workspace) {
        Path ns = byWorkspace.remove(workspace);
        if (ns != null) {
            try {
                run(null, "ip", "netns", "del", ns.getFileName().toString());
            }
            catch (IOException e) {
                log.warn("could not remove the network namespace {}: {}", ns.getFileName(), e.getMessage());
            }
        }
    }

    /** Removes every namespace of this server's names: at start (a killed server's) and at close. */
    void sweep() {
        byWorkspace.clear();
        try (var names = Files.list(NETNS_DIR)) {
            for (Path p : names.filter(p -> p.getFileName().toString().startsWith(prefix)).toList()) {
                run(null, "ip", "netns", "del", p.getFileName().toString());
            }
        }
        catch (IOException e) {
            // no /run/netns yet: nothing to sweep
        }
    }

    /**
     * The namespaces of servers that were killed with other leases than {@code own} (kill -9 leaves
     * them; a clean stop removes its own): removed, each while holding its lease, so no server that
     * starts at the same moment can be using them.
     */
    static void sweepDead(int own) {
        java.util.Set<Integer> leases = new java.util.TreeSet<>();
        try (var names = Files.list(NETNS_DIR)) {
            names.map(p -> p.getFileName().toString()).map(n -> java.util.regex.Pattern.compile("^warden-i(\\d{1,4})-")
                .matcher(n)).filter(java.util.regex.Matcher::find).map(m -> Integer.parseInt(m.group(1)))
                .filter(i -> i != own).forEach(leases::add);
        }
        catch (IOException e) {
            return; // no /run/netns: nothing to sweep
        }
        for (int i : leases) {
            InstanceLease.whileFree(i, () -> new SessionNetworks("warden-i" + i + "-", 0, 0).sweep());
        }
    }

    private static void run(String stdin, String... argv) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(argv).redirectErrorStream(true);
        pb.environment().clear();
        pb.environment().put("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
        Process p = pb.start();
        try (var in = p.getOutputStream()) {
            if (stdin != null) {
                in.write(stdin.getBytes(StandardCharsets.UTF_8));
            }
        }
        byte[] out = p.getInputStream().readAllBytes();
        try {
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", argv) + " did not finish");
            }
        }
        catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
        if (p.exitValue() != 0) {
            List<String> words = new ArrayList<>(List.of(argv));
            throw new IOException(String.join(" ", words) + " failed: "
                    + new String(out, StandardCharsets.UTF_8).strip());
        }
    }
}
