/**
 * Per-session workspaces: one private directory per MCP session, created on first use, kept across
 * its calls, removed when the session ends or idles out. Path resolution that cannot escape it.
 * Depends on config only.
 */
package dev.warden.session;
