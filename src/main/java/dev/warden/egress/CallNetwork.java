package dev.warden.egress;

import dev.warden.exec.CallEgress;
import dev.warden.exec.EgressPort;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The network of one call: what it may reach (each entry with who allowed it), its limits, and the
 * ledger of every attempt. The proxy asks {@link #open} for each connection or request that arrives
 * at a port the call uses; the pipeline reads {@link #report} when the run is over.
 */
public final class CallNetwork implements CallEgress {

    /** One allowlist entry of the call and what put it there (the policy, a preset, an approval). */
    public record Entry(HostPattern pattern, String by) {
    }

    /** The answer to one connection: refused with a one-line reason, or allowed to the checked address. */
    public sealed interface Verdict {
    }

    /** Refused: {@code reason} is the line the proxy answers with and the result shows. */
    public record Refused(String reason) implements Verdict {
    }

    /** Allowed: connect to {@code address} (the one checked, never resolved again) and count on {@code attempt}. */
    public record Allowed(InetAddress address, Attempt attempt) implements Verdict {
    }

    /** One connection attempt, its bytes, and how it ended. */
    public final class Attempt {
        private final String host;
        private final int port;
        private final String address;
        private final String by;
        private final String refusal;
        private final AtomicLong in = new AtomicLong();
        private final AtomicLong out = new AtomicLong();
        private volatile String cut;

        Attempt(String host, int port, String address, String by, String refusal) {
            this.host = host;
            this.port = port;
            this.address = address;
            this.by = by;
            this.refusal = refusal;
        }

        public String host() {
            return host;
        }

        public int port() {
            return port;
        }

        String refusal() {
            return refusal;
        }

        String cut() {
            return cut;
        }

        long bytesIn() {
            return in.get();
        }

        long bytesOut() {
            return out.get();
        }

        /** Bytes from the destination to the run; false when the call's byte limit is now passed (cut it). */
        public boolean received(long n) {
            in.addAndGet(n);
            return within(n);
        }

        /** Bytes from the run to the destination; false when the call's byte limit is now passed (cut it). */
        public boolean sent(long n) {
            out.addAndGet(n);
            return within(n);
        }

        private boolean within(long n) {
            if (total.addAndGet(n) <= limits.maxBytes()) {
                return true;
            }
            cut = "cut after " + limits.maxBytes() + " bytes: this call reached its network byte limit ("
                    + "network.limits.max_bytes of Warden's policy)";
            return false;
        }

        Map<String, Object> auditLine() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("host", host);
            m.put("port", port);
            m.put("address", address);
            m.put("allowed", refusal == null);
            if (refusal == null) {
                m.put("by", by);
                m.put("bytes_in", in.get());
                m.put("bytes_out", out.get());
            }
            if (refusal != null || cut != null) {
                m.put("reason", refusal != null ? refusal : cut);
            }
            return m;
        }
    }

    private final String callId;
    private final List<Entry> entries;
    private final List<String> presets;
    private final NetworkPolicy.Limits limits;
    private final Resolver resolver;
    private final Addresses addresses;
    private final NetworkPolicy.Hint hint;
    /** The ledger; past {@link #LEDGER_MAX} refusals are only counted, so a run cannot grow it without end. */
    private final List<Attempt> attempts = new ArrayList<>();
    private long unlisted;
    static final int LEDGER_MAX = 1000;
    private final AtomicLong total = new AtomicLong();
    private int connections;

    CallNetwork(String callId, List<Entry> entries, List<String> presets, NetworkPolicy.Limits limits, Resolver resolver,
            Addresses addresses, NetworkPolicy.Hint hint) {
        this.callId = callId;
        this.entries = List.copyOf(entries);
        this.presets = List.copyOf(presets);
        this.limits = limits;
        this.resolver = resolver;
        this.addresses = addresses;
        this.hint = hint;
    }

    public String callId() {
        return callId;
    }

    public List<Entry> entries() {
        return entries;
    }

    NetworkPolicy.Limits limits() {
        return limits;
    }

    @Override
    public Use use(EgressPort port) {
        if (port instanceof EgressProxy.Port p) {
            return p.attach(this);
        }
        return () -> { };
    }

    /**
     * Judges a connection to {@code host}:{@code port} as the run asked for it: the name (or address)
     * against the entries, then every address it resolves to. Each answer is recorded.
     */
    public Verdict open(String rawHost, int port) {
        String host = normal(rawHost);
        if (host.isEmpty() || port < 1 || port > 65535) {
            return refuse(rawHost, port, null, "\"" + rawHost + ":" + port + "\" is not a host and port Warden's proxy can connect to");
        }
        synchronized (this) {
            if (connections >= limits.maxConnections()) {
                return refuse(host, port, null, "this call reached its limit of " + limits.maxConnections()
                        + " connections (network.limits.max_connections of Warden's policy)");
            }
            connections++;
        }
        Entry byName = entries.stream().filter(e -> e.pattern().matchesName(host, port)).findFirst().orElse(null);
        if (byName == null && HostPattern.literal(host) == null
                && entries.stream().noneMatch(e -> e.pattern().network() != null)) {
            // nothing could allow it: refused without a lookup (no run makes the proxy wait on DNS for nothing)
            return refuse(host, port, null, notAllowed(host, port));
        }
        List<InetAddress> resolved;
        try {
            resolved = resolver.resolve(host);
        }
        catch (UnknownHostException | SecurityException e) {
            if (byName == null) {
                return refuse(host, port, null, notAllowed(host, port));
            }
            return refuse(host, port, null, host + " does not resolve (the proxy resolves names for the run)");
        }
        if (resolved.isEmpty()) {
            return refuse(host, port, null, host + " does not resolve (the proxy resolves names for the run)");
        }
        Entry byAddress = null;
        for (InetAddress a : resolved) {
            if (addresses.ownService(a, port)) {
                return refuse(host, port, a.getHostAddress(), host + ":" + port + " is Warden's own service, which no run"
                        + " may reach");
            }
            Entry explicit = entries.stream().filter(e -> e.pattern().coversAddress(a, port)).findFirst().orElse(null);
            String special = addresses.special(a);
            if (special != null && explicit == null) {
                return refuse(host, port, a.getHostAddress(), host + (HostPattern.literal(host) != null ? " is "
                        : " resolves to " + a.getHostAddress() + ", ") + special
                        + ", which Warden's proxy refuses unless the network policy names that address");
            }
            byAddress = byAddress == null ? explicit : byAddress;
            if (byName == null && explicit == null) {
                return refuse(host, port, a.getHostAddress(), notAllowed(host, port));
            }
        }
        InetAddress target = resolved.get(0);
        Entry by = byName != null ? byName : byAddress;
        Attempt a = new Attempt(host, port, target.getHostAddress(), by.by() + " (" + by.pattern() + ")", null);
        synchronized (this) {
            attempts.add(a);
        }
        return new Allowed(target, a);
    }

    private String notAllowed(String host, int port) {
        return hint.refusal(host, port);
    }

    private Refused refuse(String host, int port, String address, String reason) {
        synchronized (this) {
            if (attempts.size() < LEDGER_MAX) {
                attempts.add(new Attempt(host, port, address, null, reason));
            }
            else {
                unlisted++;
            }
        }
        return new Refused(reason);
    }

    /** What the call's runs did on the network so far. */
    public synchronized NetworkReport report() {
        return NetworkReport.of(List.copyOf(attempts), presets, unlisted);
    }

    static String normal(String host) {
        if (host == null) {
            return "";
        }
        String h = host.trim().toLowerCase(Locale.ROOT);
        if (h.startsWith("[") && h.endsWith("]")) {
            h = h.substring(1, h.length() - 1);
        }
        while (h.endsWith(".")) {
            h = h.substring(0, h.length() - 1);
        }
        return h.matches("[a-z0-9._:%-]{1,253}") ? h : "";
    }
}
