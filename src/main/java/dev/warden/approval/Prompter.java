package dev.warden.approval;

import java.time.Duration;

/**
 * A channel that can ask a person right now, during the call: MCP elicitation to a client that
 * declared it. Implemented at the edge (mcp), so this package never sees the SDK.
 */
public interface Prompter {

    /**
     * Asks and waits for the answer, at most {@code timeout}.
     *
     * @return {@code approve_once}, {@code approve_session} or {@code deny}; anything else (declined,
     *     cancelled, an error, no answer) is {@code null}, which denies
     */
    String ask(ApprovalRequest request, Duration timeout);

    /** Who answers through this channel, for the record (e.g. the client's name). */
    String approver();
}
