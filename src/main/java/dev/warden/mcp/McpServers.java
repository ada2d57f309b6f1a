package dev.warden.mcp;

import dev.warden.mcp.compat.ReservedExpansionTemplates;
import io.modelcontextprotocol.json.McpJsonMapper;
import io.modelcontextprotocol.server.McpServer;
import io.modelcontextprotocol.server.McpAsyncServer;
import io.modelcontextprotocol.spec.McpSchema;
import io.modelcontextprotocol.spec.McpServerTransportProvider;
import io.modelcontextprotocol.spec.McpStreamableServerTransportProvider;

/** Builds the MCP server object for a transport, the same way for each. */
final class McpServers {

    static final String INSTRUCTIONS = "Warden runs commands and code for you in an isolated sandbox with no network. "
            + "Each session has a private workspace directory that keeps files between calls. Use run_command for one "
            + "command line: Warden parses it as shell and judges every program in it; pipes, ;, &&, redirections "
            + "and $() run under bash inside the sandbox. Use execute_code for programs and longer scripts "
            + "(language bash for shell scripts). "
            + "Results are structured: check status, exit_code, stdout and stderr; message says why when status is not ok. "
            + "A call that comes back needs_approval waits for a person: call request_approval with its execution_id. "
            + "Files a run creates or changes are listed in artifacts, each a resource_link you can read with "
            + "resources/read.";

    private McpServers() {
    }

    /** A server over a single-session transport: stdio, or one SSE connection each. */
    static McpAsyncServer single(McpServerTransportProvider provider, McpJsonMapper mapper, WardenTools tools,
            String version, String transport) {
        return configure(McpServer.async(provider), mapper, tools, version, transport).build();
    }

    static McpAsyncServer streamable(McpStreamableServerTransportProvider provider, McpJsonMapper mapper,
            WardenTools tools, String version) {
        return configure(McpServer.async(provider), mapper, tools, version, "http").build();
    }

    // logging() is deprecated in SDK 2.2.0 because revision 2026-07-28 drops the capability; the
    // 2025-11-25 era this server speaks still has it (logging/setLevel, notifications/message)
    @SuppressWarnings("deprecation")
    private static McpServer.AsyncSpecification<?> configure(McpServer.AsyncSpecification<?> spec, McpJsonMapper mapper,
            WardenTools tools, String version, String transport) {
        return spec.jsonMapper(mapper)
            .serverInfo("warden", version)
            .instructions(INSTRUCTIONS)
            // resources: the workspace files, by one template (no subscriptions, no list changes)
            .capabilities(McpSchema.ServerCapabilities.builder().tools(false).resources(false, false).logging().build())
            .validateToolInputs(false) // Warden validates itself, so bad input gets a CONTRACT `invalid` result
            // The SDK's default of 10 s would fail every elicitation a person takes longer to answer.
            .requestTimeout(tools.requestTimeout())
            .tools(tools.specifications(transport))
            .uriTemplateManagerFactory(new ReservedExpansionTemplates()) // {+path} spans directories
            .resourceTemplates(tools.resourceTemplates(transport));
    }
}
