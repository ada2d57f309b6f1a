package dev.warden.approval;

import dev.warden.policy.Finding;
import java.time.Instant;
import java.util.List;

/**
 * What a person is asked to decide, with everything they need to decide it: the exact command or
 * code ({@code subject}), where it would run, the tier it would run in once approved, and the rules
 * that held it with their reasons. {@code kind} is the tool ({@code run_command}, {@code execute_code})
 * or {@code action} for a free-text request of the agent. {@code rules} are the ids a session grant
 * would cover.
 */
public record ApprovalRequest(String id, String session, String client, String kind, String subject,
        String language, String cwd, String tier, List<Finding> findings, List<String> rules, String reason,
        Instant created, Instant expires) {

    public ApprovalRequest {
        findings = List.copyOf(findings);
        rules = List.copyOf(rules);
    }

    /** The message of an elicitation: every detail in plain text, code as a fenced block. */
    public String describe() {
        StringBuilder b = new StringBuilder();
        if (kind.equals("action")) {
            b.append("The agent asks for approval of an action outside Warden:\n\n").append(subject).append('\n');
            if (reason != null && !reason.isBlank()) {
                b.append("\nIts reason: ").append(reason).append('\n');
            }
        }
        else {
            b.append("Warden held a call for your approval (").append(kind).append(", execution ").append(id)
                .append(").\n\n");
            b.append(kind.equals("execute_code") ? "Code (" + language + "):\n" : "Command:\n");
            b.append("```\n").append(subject).append("\n```\n");
            b.append("Working directory: /workspace").append(cwd == null || cwd.isEmpty() ? "" : "/" + cwd).append('\n');
            b.append("Runs in: tier ").append(tier).append(tier.equals("L3") ? " (container)" : " (sandbox, no network)")
                .append(" once approved\n");
            b.append("\nWhy it was held: ").append(reason).append('\n');
        }
        if (!findings.isEmpty()) {
            b.append("\nMatched rules:\n");
            for (Finding f : findings) {
                b.append("- ").append(f.rule()).append(" (").append(f.severity().name().toLowerCase()).append("): ")
                    .append(f.detail()).append('\n');
            }
        }
        b.append("\nApprove once, approve for this session (later calls held by the same rules run without asking), or deny.");
        return b.toString();
    }
}
