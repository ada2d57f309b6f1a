/**
 * The road every call travels, in one place: validate, decide, run, sanitize, audit. Uses call, contract,
 * policy, approval, limit, exec, session, sanitize, audit and egress; knows nothing of MCP (mcp calls in here,
 * never the reverse) nor of the operator's console.
 */
package dev.warden.pipeline;
