package dev.warden.call;

import com.fasterxml.jackson.annotation.JsonValue;

/**
 * Through which channel a decision on a held call came, as results, the audit and the operator's
 * console name it: the client's user (MCP elicitation), the operator page, its JSON API, the CLI, a
 * grant of the session, the client giving up (cancelled), or Warden's policy (expiry, an error).
 */
public enum Channel {
    ELICITATION("elicitation"),
    OPERATOR("operator"),
    API("api"),
    CLI("cli"),
    SESSION_GRANT("session_grant"),
    CLIENT("client"),
    POLICY("policy");

    private final String wire;

    Channel(String wire) {
        this.wire = wire;
    }

    /** The name on the wire and in the audit. */
    @JsonValue
    public String wire() {
        return wire;
    }

    @Override
    public String toString() {
        return wire;
    }
}
