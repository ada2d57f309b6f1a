package dev.warden.policy;

import java.util.List;

/**
 * What the policy decided. {@code blocked} decisions carry a reason for the model and run nothing;
 * the others name the tier and the argv to run there.
 */
public record Decision(Tier tier, boolean blocked, List<String> argv, List<Finding> findings, String reason) {

    public Decision {
        argv = List.copyOf(argv);
        findings = List.copyOf(findings);
    }

    static Decision block(Tier tier, List<Finding> findings, String reason) {
        return new Decision(tier, true, List.of(), findings, reason);
    }

    static Decision run(Tier tier, List<String> argv, List<Finding> findings) {
        return new Decision(tier, false, argv, findings, null);
    }
}
