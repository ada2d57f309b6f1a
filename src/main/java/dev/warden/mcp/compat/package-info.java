/**
 * Workarounds for defects of the MCP Java SDK, each with the upstream behaviour it replaces. Only
 * {@code dev.warden.mcp} uses them; nothing here knows Warden's tools or policy.
 */
package dev.warden.mcp.compat;
