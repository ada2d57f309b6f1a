package dev.warden.pipeline;

import dev.warden.approval.Ruling;
import dev.warden.approval.Scope;
import dev.warden.call.Status;
import dev.warden.call.Tier;
import dev.warden.contract.CallResult;
import dev.warden.egress.CallNetwork;
import dev.warden.egress.HostPattern;
import dev.warden.egress.NetworkPolicy;
import dev.warden.egress.NetworkReport;
import dev.warden.egress.Presets;
import dev.warden.egress.Resolver;
import dev.warden.policy.Decision;
import dev.warden.policy.Finding;
import dev.warden.policy.HostCheck;
import dev.warden.policy.Severity;
import dev.warden.session.Workspaces;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The network step of a call. Before it runs: what its {@code network} input asks for beyond the
 * policy and what this session was granted earlier (a request holds the call for a person, rule
 * {@code network.request}, or refuses it where the policy takes no requests). When it runs: the
 * call's {@link CallNetwork}, with what a person approved (the hosts asked for, and the registry
 * presets of an approved package command). After: the result's {@code network} field and a
 * {@code network.denied} finding for each refusal.
 */
final class NetworkGate {

    static final String REQUEST_RULE = "network.request";

    private final NetworkPolicy policy;
    private final Resolver resolver;
    private final dev.warden.egress.Addresses addresses;
    /** What every run may reach (the policy's allow list and the presets it allows): fixed at start. */
    private final List<CallNetwork.Entry> standing;
    /** What approve_session granted, per session (hosts, and presets by name): gone with the session. */
    private final Map<String, List<CallNetwork.Entry>> sessionHosts = new ConcurrentHashMap<>();
    private final Map<String, Set<String>> sessionPresets = new ConcurrentHashMap<>();

    NetworkGate(NetworkPolicy policy, dev.warden.egress.Addresses addresses, Workspaces workspaces) {
        this.policy = policy;
        this.resolver = Resolver.system(policy.hosts());
        this.addresses = addresses;
        this.standing = policy.standing();
        workspaces.onSessionEnd(session -> {
            sessionHosts.remove(session);
            sessionPresets.remove(session);
        });
    }

    /** What a session may reach without asking: the standing entries, its granted hosts and its granted presets' hosts. */
    private List<CallNetwork.Entry> reachable(String session) {
        List<CallNetwork.Entry> have = new ArrayList<>(standing);
        have.addAll(sessionHosts.getOrDefault(session, List.of()));
        for (String p : sessionPresets.getOrDefault(session, Set.of())) {
            Presets.hosts(p).forEach(h -> have.add(new CallNetwork.Entry(h, "session preset " + p)));
        }
        return have;
    }

    boolean enabled() {
        return policy.enabled();
    }

    /**
     * What a session may reach without asking anyone, by name (no lookup: the proxy still checks the
     * addresses when the run connects): the policy lets a network tool aimed only at these run at its tier.
     */
    HostCheck hosts(String session) {
        if (!policy.enabled()) {
            return HostCheck.NONE;
        }
        List<CallNetwork.Entry> have = reachable(session);
        return (host, port) -> NetworkPolicy.coveredByName(have, host, port);
    }

    /** What a call asked for: host entries and presets not covered yet. */
    record Asked(List<HostPattern> hosts, List<String> presets) {
        static final Asked NONE = new Asked(List.of(), List.of());

        boolean any() {
            return !hosts.isEmpty() || !presets.isEmpty();
        }

        List<String> names() {
            List<String> out = new ArrayList<>(presets);
            hosts.forEach(h -> out.add(h.toString()));
            return out;
        }
    }

    /**
     * Judges the call's {@code network} input after the policy's decision: nothing new (the decision
     * stands), a request (the call is held, or refused if the policy takes none), or bad input.
     */
    Asked judge(CallContext c, List<String> network, Results results) {
        Decision decided = c.decision();
        if (policy.enabled() && decided.held() && !decided.presets().isEmpty()) {
            List<String> grantable = decided.presets().stream().filter(policy::grantable).toList();
            if (!grantable.isEmpty()) {
                c.found(new Finding("network.preset", Severity.INFO, "approving it also lets this call reach the "
                        + String.join(", ", grantable.stream().map(p -> p + " registry (" + String.join(", ",
                                Presets.hostNames(p)) + ")").toList()) + " through Warden's proxy"));
            }
        }
        if (network == null || network.isEmpty()) {
            return Asked.NONE;
        }
        if (!policy.enabled()) {
            throw new Stop(results.notRun(c.id, Status.BLOCKED, c.tier(), c.findings(), "This server runs without "
                    + "network egress (network.enabled is false in its policy), so the network input cannot be granted.",
                    c.limits()));
        }
        List<HostPattern> hosts = new ArrayList<>();
        Set<String> presets = new LinkedHashSet<>();
        for (String entry : network) {
            String e = entry.toLowerCase(java.util.Locale.ROOT);
            if (Presets.names().contains(e)) {
                presets.add(e);
                continue;
            }
            HostPattern p = HostPattern.parse(entry).orElse(null);
            if (p == null || p.wildcard() || p.port() == HostPattern.ANY
                    || (p.network() != null && p.prefix() != p.network().getAddress().length * 8)) {
                throw new Stop(results.invalid(c.id, "network: \"" + CallAudit.clip(entry, 100) + "\" is not a host "
                        + "(example.org, example.org:8443, 203.0.113.7) or a registry preset (" + String.join(", ",
                        Presets.names()) + "); wildcards, ranges and any-port entries are for the operator's policy."));
            }
            hosts.add(p);
        }
        List<CallNetwork.Entry> have = reachable(c.caller.sessionId());
        List<HostPattern> newHosts = hosts.stream().filter(h -> !covered(have, h)).distinct().toList();
        List<String> blocked = presets.stream().filter(p -> !policy.grantable(p)).toList();
        if (!blocked.isEmpty()) {
            throw new Stop(results.notRun(c.id, Status.BLOCKED, c.tier(), c.findings(), "Blocked: Warden's network "
                    + "policy never grants the " + String.join(", ", blocked) + " preset under this preset.", c.limits()));
        }
        List<String> newPresets = presets.stream().filter(p -> !policy.allowedPresets().contains(p)
                && !sessionPresets.getOrDefault(c.caller.sessionId(), Set.of()).contains(p)).toList();
        Asked asked = new Asked(newHosts, newPresets);
        if (!asked.any()) {
            c.found(new Finding(REQUEST_RULE, Severity.INFO, "asks for " + String.join(", ", network)
                    + ", which this call already has (policy or an earlier approval for this session)"));
            return asked;
        }
        if (policy.requestAction().equals("block")) {
            throw new Stop(results.notRun(c.id, Status.BLOCKED, c.tier(), CallContext.concat(c.findings(), List.of(
                    new Finding(REQUEST_RULE, Severity.MEDIUM, "asks for " + String.join(", ", asked.names())))),
                    "Blocked: Warden's network policy takes no requests for more hosts (network.request is block); "
                    + "the run can reach only what the policy allows.", c.limits()));
        }
        Finding f = new Finding(REQUEST_RULE, Severity.MEDIUM, "asks for network access beyond Warden's policy: "
                + String.join(", ", asked.names()) + " (approving grants them for this call, or for the session)");
        Decision d = c.decision();
        if (!d.blocked()) {
            Tier runTier = d.held() ? d.approvedTier() : d.tier() == Tier.L1 ? Tier.L2 : d.tier();
            String reason = d.held() ? d.reason() + "; and it asks for network access to " + String.join(", ", asked.names())
                    : "it asks for network access beyond Warden's policy: " + String.join(", ", asked.names());
            c.decided(new Decision(Tier.L4, false, d.argv(), d.findings(), reason, runTier, d.heldBy()),
                    c.findings().subList(d.findings().size(), c.findings().size()));
        }
        c.found(f);
        return asked;
    }

    private static boolean covered(List<CallNetwork.Entry> have, HostPattern asked) {
        if (asked.name() != null) {
            int[] ports = asked.port() == HostPattern.WEB ? new int[] {80, 443} : new int[] {asked.port()};
            for (int p : ports) {
                if (!NetworkPolicy.coveredByName(have, asked.name(), p)) {
                    return false;
                }
            }
            return true;
        }
        return false; // an address is never covered by name, so it is asked for
    }

    /**
     * The network of a call that runs: the policy's standing entries, this session's grants, the
     * registry presets its rules grant (a package command's, not blocked by the policy), and, for an
     * approved call, what was asked for (a session approval keeps that and the presets for the session).
     */
    CallNetwork forCall(CallContext c, Asked asked, Ruling ruling) {
        String session = c.caller.sessionId();
        List<CallNetwork.Entry> granted = new ArrayList<>(sessionHosts.getOrDefault(session, List.of()));
        Set<String> presets = new LinkedHashSet<>(sessionPresets.getOrDefault(session, Set.of()));
        // the presets the call's rules grant (a package command's registry): the rule's own action
        // said whether that needs a person, so a call that runs has them (never a blocked preset)
        presets.addAll(c.decision().presets());
        if (ruling != null) {
            String by = (ruling.scope() == Scope.SESSION ? "approved for the session by " : "approved once by ")
                    + (ruling.approver() == null ? "a person" : ruling.approver());
            List<CallNetwork.Entry> now = new ArrayList<>();
            asked.hosts().forEach(h -> now.add(new CallNetwork.Entry(h, by)));
            Set<String> newPresets = new LinkedHashSet<>(asked.presets());
            newPresets.addAll(c.decision().presets());
            granted.addAll(now);
            presets.addAll(newPresets);
            if (ruling.scope() == Scope.SESSION) {
                sessionHosts.computeIfAbsent(session, s -> new CopyOnWriteArrayList<>()).addAll(now);
                newPresets.stream().filter(policy::grantable)
                    .forEach(p -> sessionPresets.computeIfAbsent(session, s -> ConcurrentHashMap.newKeySet()).add(p));
            }
        }
        return policy.forCall(c.id, granted, presets, resolver, addresses);
    }

    /** The result with what the run did on the network; refusals as findings the model can act on. */
    CallResult withReport(CallResult r, NetworkReport report) {
        List<Finding> refusals = new ArrayList<>();
        for (Map<String, Object> d : report.denied()) {
            refusals.add(new Finding("network.denied", Severity.MEDIUM, (String) d.get("reason")));
        }
        return r.withNetwork(report.resultField(), refusals);
    }
}
