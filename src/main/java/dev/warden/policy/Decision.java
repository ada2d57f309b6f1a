package dev.warden.policy;

import dev.warden.call.Tier;
import java.util.List;

/**
 * What the policy decided. {@code blocked} decisions carry a reason for the model and run nothing;
 * held ones (tier L4, not blocked) wait for a human and carry the reason too; the others name the
 * tier and the argv to run there.
 */
public record Decision(Tier tier, boolean blocked, List<String> argv, List<Finding> findings, String reason,
        Tier approvedTier, List<String> heldBy) {

    public Decision {
        argv = List.copyOf(argv);
        findings = List.copyOf(findings);
        heldBy = List.copyOf(heldBy);
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
}
