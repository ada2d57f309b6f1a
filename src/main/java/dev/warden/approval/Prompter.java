package dev.warden.approval;

import java.time.Duration;

/**
 * A channel that can ask a person right now, during the call: MCP elicitation to a client that
 * declared it. Implemented at the edge (mcp), so this package never sees the SDK. A prompter only
 * reports what the client answered; what that answer does (a ruling, a hand-over to the operator,
 * nothing yet) is {@link ApprovalService}'s, the same for every prompter and protocol era.
 */
public interface Prompter {

    /** A person chose to run the call once. */
    String APPROVE_ONCE = "approve_once";
    /** A person chose to run it and grant its rules for the session. */
    String APPROVE_SESSION = "approve_session";
    /** A person chose not to run it. */
    String DENY = "deny";
    /** The client declined the request: no person's decision (some clients decline every request themselves). */
    String DECLINE = "decline";
    /** The client cancelled the request: no person's decision. */
    String CANCEL = "cancel";
    /** Asking failed (the client answered with an error, the transport broke): no person's decision. */
    String ERROR = "error";
    /**
     * URL mode: the person agreed to open the approval's entry on the operator page, where the decision
     * is made (by the operator's token); the client's answer itself decides nothing.
     */
    String OPENED = "opened";

    /**
     * Asks and waits for the answer, at most {@code timeout}.
     *
     * @return one of the constants above; anything else (an accept without a valid decision) is a
     *     denial; {@code null} means no answer in time, which the expiry denies
     */
    String ask(ApprovalRequest request, Duration timeout);

    /** Who answers through this channel, for the record (e.g. the client's name). */
    String approver();
}
