/**
 * L4: calls held for a person. One {@link dev.warden.approval.ApprovalService} holds every pending
 * approval and takes the first answer from any channel: MCP elicitation to the client, the operator
 * page, the CLI. It records each decision, expires what nobody answers (expiry denies), and keeps
 * session-wide grants for exactly as long as the session lives. {@link dev.warden.approval.AgentText}
 * is how every channel shows what the agent wrote: exact, unredacted, invisible characters escaped.
 * May depend on policy (findings) and sanitize (what looks like a secret); never on mcp, exec or the
 * transports.
 */
package dev.warden.approval;
