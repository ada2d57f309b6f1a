package dev.warden.policy;

import java.util.List;

/**
 * What the policy decided. {@code blocked} decisions carry a reason for the model and run nothing;
 * held ones (tier L4, not blocked) wait for a human and carry the reason too; the others name the
 * tier and the argv to run there.
 */
public record Decision(Tier tier, boolean blocked, List<String> argv, List<Finding> findings, String reason) {

    public Decision {
        argv = List.copyOf(argv);
        findings = List.copyOf(findings);
    }

    static Decision block(Tier tier, List<Finding> findings, String reason) {
        return new Decision(tier, true, List.of(), findings, reason);
    }

    static Decision hold(List<Finding> findings, String reason) {
        return new Decision(Tier.L4, false, List.of(), findings, reason);
    }

    /** Held at L4 for a human's approval. */
    public boolean held() {
        return tier == Tier.L4 && !blocked;
    }

    static Decision run(Tier tier, List<String> argv, List<Finding> findings) {
        return new Decision(tier, false, argv, findings, null);
    }
}
