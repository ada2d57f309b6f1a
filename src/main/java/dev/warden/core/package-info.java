/**
 * The road every call travels, in one place: validate, decide, run, sanitize, audit. Uses policy,
 * exec, session, sanitize and audit; knows nothing of MCP (mcp/ calls in here, never the reverse).
 */
package dev.warden.core;
