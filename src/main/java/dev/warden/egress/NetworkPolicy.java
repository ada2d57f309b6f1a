package dev.warden.egress;

import com.fasterxml.jackson.databind.JsonNode;
import dev.warden.config.ConfigException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The {@code network:} section of the policy, compiled for the active preset: the host patterns every
 * run may reach, what each registry preset does ({@code allow}: every run; {@code approve}: a call
 * that needs it is held and the approval grants it; {@code block}: never), what a call's own
 * {@code network} request does, the limits of one call, the CA certificates runs trust, the host's
 * own proxy, and fixed names. Nothing is allowed unless it says so.
 */
public record NetworkPolicy(boolean enabled, List<HostPattern> allow, Map<String, String> presetActions,
        String requestAction, Limits limits, List<Path> caCertificates, String upstreamProxy,
        Map<String, InetAddress> hosts) {

    /** The limits of one call, over all its connections. */
    public record Limits(long maxBytes, int maxConnections, long connectTimeoutMs, long idleTimeoutMs) {
    }

    /** The closing words of a refusal: how the run can ask for what was refused. */
    interface Hint {
        String refusal(String host, int port);
    }

    public static final Limits DEFAULT_LIMITS = new Limits(512L << 20, 256, 10_000, 60_000);
    static final Set<String> ACTIONS = Set.of("allow", "approve", "block");

    public NetworkPolicy {
        allow = List.copyOf(allow);
        presetActions = Map.copyOf(presetActions);
        caCertificates = List.copyOf(caCertificates);
        hosts = Map.copyOf(hosts);
    }

    /** Nothing allowed, presets by approval, requests by approval: the built-in default of the standard preset. */
    public static NetworkPolicy closed() {
        Map<String, String> presets = new LinkedHashMap<>();
        Presets.names().forEach(p -> presets.put(p, "approve"));
        return new NetworkPolicy(true, List.of(), presets, "approve", DEFAULT_LIMITS, List.of(), null, Map.of());
    }

    /**
     * Compiles the section (null or missing: {@link #closed}) for the active policy preset; every
     * problem is reported at start-up, and nothing unknown is accepted.
     */
    public static NetworkPolicy parse(JsonNode node, String policyPreset) {
        if (node == null || node.isNull() || node.isMissingNode()) {
            return closed();
        }
        List<String> problems = new ArrayList<>();
        if (!node.isObject()) {
            throw new ConfigException("policy: network must be a mapping", null);
        }
        Set<String> known = Set.of("enabled", "allow", "presets", "request", "limits", "ca_certificates",
                "upstream_proxy", "hosts");
        node.fieldNames().forEachRemaining(k -> {
            if (!known.contains(k)) {
                problems.add("network." + k + " is not a known key (known: " + String.join(", ", new java.util.TreeSet<>(known)) + ")");
            }
        });
        boolean enabled = !node.has("enabled") || node.get("enabled").asBoolean(true);
        List<HostPattern> allow = new ArrayList<>();
        for (String s : strings(node.get("allow"), "network.allow", problems)) {
            HostPattern.parse(s).ifPresentOrElse(allow::add, () -> problems.add("network.allow: \"" + s
                    + "\" is not a host pattern (example.org, *.example.org, example.org:8443, 10.0.0.0/8, [::1]:80)"));
        }
        Map<String, String> presets = new LinkedHashMap<>();
        Presets.names().forEach(p -> presets.put(p, "approve"));
        JsonNode pn = node.get("presets");
        if (pn != null && pn.isArray()) {
            for (String p : strings(pn, "network.presets", problems)) {
                presetName(p, problems);
                presets.put(p, "allow");
            }
        }
        else if (pn != null && pn.isObject()) {
            for (Map.Entry<String, JsonNode> e : pn.properties()) {
                presetName(e.getKey(), problems);
                presets.put(e.getKey(), action(e.getValue(), policyPreset, "network.presets." + e.getKey(), problems));
            }
        }
        else if (pn != null && !pn.isNull()) {
            problems.add("network.presets must be a list of preset names or a mapping of name to action");
        }
        String request = node.has("request") ? action(node.get("request"), policyPreset, "network.request", problems)
                : "approve";
        if (request.equals("allow")) {
            problems.add("network.request cannot be allow: a call's own request for hosts is approved by a person or refused");
        }
        Limits limits = limits(node.get("limits"), problems);
        List<Path> cas = new ArrayList<>();
        for (String s : strings(node.get("ca_certificates"), "network.ca_certificates", problems)) {
            Path p = Path.of(s);
            if (!Files.isReadable(p)) {
                problems.add("network.ca_certificates: " + s + " is not a readable file");
            }
            cas.add(p);
        }
        String upstream = node.hasNonNull("upstream_proxy") ? node.get("upstream_proxy").asText() : null;
        if (upstream != null && !upstream.matches("(https?://)?[A-Za-z0-9.\\-\\[\\]:]+:\\d{1,5}/?")) {
            problems.add("network.upstream_proxy must be host:port (or http://host:port)");
        }
        Map<String, InetAddress> hosts = new LinkedHashMap<>();
        JsonNode hn = node.get("hosts");
        if (hn != null && hn.isObject()) {
            hn.properties().forEach(e -> {
                InetAddress a = HostPattern.literal(e.getValue().asText());
                String name = CallNetwork.normal(e.getKey());
                if (a == null || name.isEmpty()) {
                    problems.add("network.hosts." + e.getKey() + " must map a host name to an address literal");
                }
                else {
                    hosts.put(name, a);
                }
            });
        }
        else if (hn != null && !hn.isNull()) {
            problems.add("network.hosts must be a mapping of host name to address");
        }
        if (!problems.isEmpty()) {
            throw new ConfigException("invalid policy: " + String.join("; ", problems), null);
        }
        return new NetworkPolicy(enabled, allow, presets, request, limits, cas, upstream == null ? null
                : upstream.replaceFirst("^https?://", "").replaceFirst("/$", ""), hosts);
    }

    private static void presetName(String p, List<String> problems) {
        if (!Presets.names().contains(p)) {
            problems.add("network.presets: \"" + p + "\" is not a preset (" + String.join(", ", Presets.names()) + ")");
        }
    }

    private static String action(JsonNode n, String policyPreset, String where, List<String> problems) {
        JsonNode v = n.isObject() ? n.get(policyPreset) : n;
        String a = v == null || v.isNull() ? "approve" : v.asText().toLowerCase(Locale.ROOT);
        if (!ACTIONS.contains(a)) {
            problems.add(where + " must be allow, approve or block (or a mapping of strict/standard/relaxed to one)");
        }
        return a;
    }

    private static Limits limits(JsonNode n, List<String> problems) {
        if (n == null || n.isNull()) {
            return DEFAULT_LIMITS;
        }
        long bytes = n.path("max_bytes").asLong(DEFAULT_LIMITS.maxBytes());
        int conns = n.path("max_connections").asInt(DEFAULT_LIMITS.maxConnections());
        long connect = n.path("connect_timeout_ms").asLong(DEFAULT_LIMITS.connectTimeoutMs());
        long idle = n.path("idle_timeout_ms").asLong(DEFAULT_LIMITS.idleTimeoutMs());
        n.fieldNames().forEachRemaining(k -> {
            if (!Set.of("max_bytes", "max_connections", "connect_timeout_ms", "idle_timeout_ms").contains(k)) {
                problems.add("network.limits." + k + " is not a known key");
            }
        });
        if (bytes < 1 || conns < 1 || connect < 1 || idle < 1) {
            problems.add("network.limits must be positive numbers");
        }
        return new Limits(bytes, conns, connect, idle);
    }

    private static List<String> strings(JsonNode n, String where, List<String> problems) {
        List<String> out = new ArrayList<>();
        if (n == null || n.isNull()) {
            return out;
        }
        if (!n.isArray()) {
            problems.add(where + " must be a list");
            return out;
        }
        n.forEach(x -> out.add(x.asText()));
        return out;
    }

    /** Whether a preset's hosts can be had at all (by policy or approval). */
    public boolean grantable(String preset) {
        return !"block".equals(presetActions.get(preset));
    }

    /** The presets every run gets. */
    public List<String> allowedPresets() {
        return presetActions.entrySet().stream().filter(e -> e.getValue().equals("allow")).map(Map.Entry::getKey).toList();
    }

    /** What every run may reach, with why: the allow list and the presets allowed outright. */
    public List<CallNetwork.Entry> standing() {
        List<CallNetwork.Entry> out = new ArrayList<>();
        allow.forEach(p -> out.add(new CallNetwork.Entry(p, "network policy allow")));
        for (String preset : allowedPresets()) {
            Presets.hosts(preset).forEach(p -> out.add(new CallNetwork.Entry(p, "network policy preset " + preset)));
        }
        return out;
    }

    /**
     * Whether the name and port are covered without asking anyone, by name alone (no lookup): what the
     * policy uses to let a network tool aimed at allowed hosts run at its tier.
     */
    public static boolean coveredByName(Collection<CallNetwork.Entry> entries, String host, int port) {
        String h = CallNetwork.normal(host);
        InetAddress literal = HostPattern.literal(h);
        return entries.stream().anyMatch(e -> e.pattern().matchesName(h, port)
                || (literal != null && e.pattern().coversAddress(literal, port)));
    }

    /** The preset whose hosts cover this name and port, or null. */
    static String presetOf(String host, int port) {
        for (String p : Presets.names()) {
            if (Presets.hosts(p).stream().anyMatch(h -> h.matchesName(host, port))) {
                return p;
            }
        }
        return null;
    }

    /**
     * The network of one call.
     *
     * @param granted entries granted by a person for this call or its session, on top of the standing ones
     * @param presets the presets this call gets beyond the standing ones (approved with it)
     */
    public CallNetwork forCall(String callId, List<CallNetwork.Entry> granted, Collection<String> presets,
            Resolver resolver, Addresses addresses) {
        List<CallNetwork.Entry> entries = new ArrayList<>(standing());
        entries.addAll(granted);
        Set<String> all = new LinkedHashSet<>(allowedPresets());
        for (String p : presets) {
            if (grantable(p) && all.add(p)) {
                Presets.hosts(p).forEach(h -> entries.add(new CallNetwork.Entry(h, "approved preset " + p)));
            }
        }
        return new CallNetwork(callId, entries, List.copyOf(all), limits, resolver, addresses, this::hint);
    }

    /** The refusal of a host the call was not granted, with how to ask for it. */
    String hint(String host, int port) {
        String target = port == 80 || port == 443 ? host : host + ":" + port;
        String preset = presetOf(host, port);
        if (preset != null && !grantable(preset)) {
            return target + " is refused: Warden's network policy blocks the " + preset + " registry preset";
        }
        if (preset == null && requestAction.equals("block")) {
            return target + " is not allowed by Warden's network policy, and this server does not take requests for"
                    + " more hosts";
        }
        String ask = preset != null ? "\"network\": [\"" + preset + "\"]" : "\"network\": [\"" + target + "\"]";
        return target + " is not allowed by Warden's network policy; ask for it with the call's network input ("
                + ask + "), which holds the call for a person's approval";
    }
}
