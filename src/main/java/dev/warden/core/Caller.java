package dev.warden.core;

/** Who is calling: the MCP session (its workspace key) and the client's name, for the audit. */
public record Caller(String sessionId, String client, String transport) {
}
