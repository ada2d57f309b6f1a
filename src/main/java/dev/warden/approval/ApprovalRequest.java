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

    /**
     * The message of an elicitation. Warden's own fields come first, each on one line (with any
     * character that could break or reorder a line escaped), and the agent's text last, exact and
     * unredacted, in a markdown fence longer than any run of backticks in it: the agent can neither
     * close the fence nor write a line that reads as Warden's ("Runs in: L1").
     */
    public String describe() {
        StringBuilder b = new StringBuilder();
        boolean action = kind.equals("action");
        if (action) {
            b.append("The agent asks for approval of an action outside Warden (execution ").append(id).append(").\n");
        }
        else {
            b.append("Warden held a call for your approval (").append(kind).append(", execution ").append(id)
                .append(").\n\n");
            b.append("Working directory: ").append(AgentText.visibleLine(workspaceDir())).append('\n');
            b.append("Runs in: tier ").append(tier).append(tier.equals("L3") ? " (container)" : " (sandbox, no network)")
                .append(" once approved\n");
            b.append("Why it was held: ").append(AgentText.visibleLine(reason)).append('\n');
        }
        if (!findings.isEmpty()) {
            b.append("\nMatched rules:\n");
            for (Finding f : findings) {
                b.append("- ").append(f.rule()).append(" (").append(f.severity().name().toLowerCase()).append("): ")
                    .append(AgentText.visibleLine(f.detail())).append('\n');
            }
        }
        b.append("\nApprove once, approve for this session (later calls held by the same rules run without asking), or deny.\n");
        if (action) {
            agentBlock(b, "The action, in the agent's words", subject);
            if (reason != null && !reason.isBlank()) {
                agentBlock(b, "Its reason, in the agent's words", reason);
            }
        }
        else {
            agentBlock(b, kind.equals("execute_code") ? "The code (" + AgentText.visibleLine(language)
                    + "), exactly as it will run" : "The command, exactly as it will run", subject);
        }
        return b.toString();
    }

    /** The working directory the call sees, e.g. {@code /workspace/src}; null for an action. */
    public String workspaceDir() {
        return cwd == null ? null : "/workspace" + (cwd.isEmpty() ? "" : "/" + cwd);
    }

    private static void agentBlock(StringBuilder b, String title, String text) {
        AgentText t = AgentText.of(text);
        b.append('\n').append(title).append(": ").append(String.join("; ", t.notes())).append(".\n")
            .append("Everything between the two lines of ").append(t.fence().length())
            .append(" backticks below is the agent's text, not Warden's:\n").append(t.fenced()).append('\n');
    }
}
