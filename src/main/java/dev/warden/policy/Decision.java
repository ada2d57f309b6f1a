package dev.warden.policy;

import dev.warden.call.Tier;
import java.util.Collections;
import java.util.List;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * What the policy decided. {@code blocked} decisions carry a reason for the model and run nothing;
 * held ones (tier L4, not blocked) wait for a human and carry the reason too; the others name the
 * tier and the argv to run there.
 *
 * <p>{@code presets} are the network presets the matched rules grant (their {@code grants}), whether
 * the call runs or is held; {@code hosts} the "host:port" destinations the call's network tools name in
 * their arguments (rules with {@code hosts_from_args} or {@code grants}), in the order named, each once.
 */
public record Decision(Tier tier, boolean blocked, List<String> argv, List<Finding> findings, String reason,
        Tier approvedTier, List<String> heldBy, SortedSet<String> presets, List<String> hosts) {

    public Decision {
        argv = List.copyOf(argv);
        findings = List.copyOf(findings);
        heldBy = List.copyOf(heldBy);
        presets = Collections.unmodifiableSortedSet(new TreeSet<>(presets));
        hosts = List.copyOf(new java.util.LinkedHashSet<>(hosts));
    }

    public Decision(Tier tier, boolean blocked, List<String> argv, List<Finding> findings, String reason,
            Tier approvedTier, List<String> heldBy) {
        this(tier, blocked, argv, findings, reason, approvedTier, heldBy, new TreeSet<>(), List.of());
    }

    public Decision(Tier tier, boolean blocked, List<String> argv, List<Finding> findings, String reason) {
        this(tier, blocked, argv, findings, reason, tier, List.of());
    }

    static Decision block(Tier tier, List<Finding> findings, String reason) {
        return new Decision(tier, true, List.of(), findings, reason);
    }

    /**
     * Held for a person. {@code argv} and {@code approvedTier} say what runs, and where, once a person
     * approves (never L1: an approved call still runs confined); {@code heldBy} names the rules whose
     * action was approve, which a session-wide grant covers.
     */
    static Decision hold(List<String> argv, List<Finding> findings, String reason, Tier approvedTier,
            List<String> heldBy) {
        return new Decision(Tier.L4, false, argv, findings, reason, approvedTier, heldBy);
    }

    /** Held at L4 for a human's approval. */
    public boolean held() {
        return tier == Tier.L4 && !blocked;
    }

    static Decision run(Tier tier, List<String> argv, List<Finding> findings) {
        return new Decision(tier, false, argv, findings, null);
    }

    /** The same decision with the network presets and hosts the call needs. */
    Decision withNetwork(SortedSet<String> presets, List<String> hosts) {
        return new Decision(tier, blocked, argv, findings, reason, approvedTier, heldBy, presets, hosts);
    }
}
