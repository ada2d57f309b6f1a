/**
 * The MCP edge: tool definitions and schemas, argument validation, the stdio and HTTP transports,
 * and the translation between MCP types and Warden's call road. The only package (with its compat
 * workarounds) that imports the MCP SDK, and of Jetty but for the egress proxy (Jetty's proxy handlers).
 * Calls into pipeline; nothing calls back into here.
 *
 * <ul>
 * <li>{@link dev.warden.mcp.StdioTransport} and {@link dev.warden.mcp.HttpTransport}: the wiring of
 * each transport; {@link dev.warden.mcp.McpServers} builds the SDK server the same way for each.</li>
 * <li>{@link dev.warden.mcp.StdioGuard} and {@link dev.warden.mcp.HttpGuardFilter}: what stands in
 * front of the SDK: bad lines answered on stdio; bearer tokens, the body-size cap and session
 * ownership ({@link dev.warden.mcp.SessionOwners}) over HTTP.</li>
 * <li>{@link dev.warden.mcp.ClientCancels}: cancellation of running calls by the client.</li>
 * <li>{@link dev.warden.mcp.WardenTools}, {@link dev.warden.mcp.ToolCatalog},
 * {@link dev.warden.mcp.ElicitationPrompter}: the tools themselves.</li>
 * </ul>
 *
 * <p>Everything that only works around the SDK (and should go when the SDK is fixed) is in
 * {@link dev.warden.mcp.compat}, with the upstream issue it names; the guards call it.
 */
package dev.warden.mcp;
