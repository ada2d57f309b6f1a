/**
 * Workarounds for defects of the MCP Java SDK (2.1.0), one type each. Every class comment says what
 * the SDK does (class and method), why that breaks Warden, the upstream issue (or that none was found)
 * and when to remove it; every workaround has a test in this package of the test tree that runs the
 * SDK's own code and fails, saying what to remove, once the SDK is fixed.
 *
 * <ul>
 * <li>{@link dev.warden.mcp.compat.SerialStdioTransportProvider}: stdio without lost messages when
 * threads send at once (java-sdk#304, #686).</li>
 * <li>{@link dev.warden.mcp.compat.CancellationTagger}: {@code notifications/cancelled}, which the SDK
 * ignores, and the tag that lets a tool handler be found by its request (java-sdk#130).</li>
 * <li>{@link dev.warden.mcp.compat.CleanErrorBodies}: JSON-RPC errors instead of serialised exceptions
 * with stack traces, and parse errors recognised from the SDK's text, here only (java-sdk#955, #577).</li>
 * <li>{@link dev.warden.mcp.compat.RebindingProtection}: Origin and Host checks, which the SDK's HTTP
 * transports leave off by default (GHSA-8jxr-pr72-r468).</li>
 * <li>{@link dev.warden.mcp.compat.SerializedSseWriter}: HTTP+SSE events kept whole when two are sent
 * at once (no upstream issue for the servlet transport; java-sdk#382 for WebMVC).</li>
 * <li>{@link dev.warden.mcp.compat.SseSessionEnd}: the HTTP+SSE session id and the end of its stream,
 * which the SDK does not tell.</li>
 * <li>{@link dev.warden.mcp.compat.ReservedExpansionTemplates}: a resource template's {@code {+path}}
 * matching a path with slashes (no Java SDK issue found; typescript-sdk#650).</li>
 * </ul>
 *
 * <p>Only {@code dev.warden.mcp} uses them; nothing here knows Warden's tools or policy.
 */
package dev.warden.mcp.compat;
