/**
 * The MCP edge: tool definitions and schemas, argument validation, the stdio and HTTP transports,
 * and the translation between MCP types and Warden's call road. The only package (with its compat
 * workarounds) that imports the MCP SDK or Jetty. Calls into pipeline; nothing calls back into here.
 */
package dev.warden.mcp;
