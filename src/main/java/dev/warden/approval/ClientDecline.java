package dev.warden.approval;

import java.util.Locale;

/**
 * What a client's answer that no person gave does to a held call ({@code approvals.on_client_decline}):
 * an elicitation declined or cancelled, or one the client could not show (an error). Some clients
 * declare elicitation and decline every request by themselves (Codex does), so under {@link #DENY}
 * every held call of theirs is denied before an operator could look at it. Under {@link #OPERATOR}
 * such an answer decides nothing: the call stays pending for the operator page, API and CLI, as for
 * a client that cannot ask at all, but only while an operator console is live to answer it; with
 * none, it is denied as under {@code DENY} (fail closed), and the denial says why.
 */
public enum ClientDecline {
    DENY, OPERATOR;

    /** The config value ({@code deny}, {@code operator}); null if it is neither. */
    public static ClientDecline parse(String s) {
        if (s == null) {
            return null;
        }
        return switch (s.strip().toLowerCase(Locale.ROOT)) {
            case "deny" -> DENY;
            case "operator" -> OPERATOR;
            default -> null;
        };
    }
}
