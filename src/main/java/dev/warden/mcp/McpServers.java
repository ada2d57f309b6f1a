package dev.warden.mcp;

import io.modelcontextprotocol.json.McpJsonMapper;
import io.modelcontextprotocol.server.McpServer;
import io.modelcontextprotocol.server.McpSyncServer;
import io.modelcontextprotocol.spec.McpSchema;
import io.modelcontextprotocol.spec.McpServerTransportProvider;
import io.modelcontextprotocol.spec.McpStreamableServerTransportProvider;
import java.time.Duration;

/** Builds the MCP server object for a transport, the same way for each. */
final class McpServers {

    static final String INSTRUCTIONS = "Warden runs commands and code for you in an isolated sandbox with no network. "
            + "Each session has a private workspace directory that keeps files between calls. Use run_command for one "
            + "plain command (no shell syntax) and execute_code for programs and shell scripts (language bash). "
            + "Results are structured: check status, exit_code, stdout and stderr; message says why when status is not ok. "
            + "A call that comes back needs_approval waits for a person: call request_approval with its execution_id.";

    private McpServers() {
    }

    /** A server over a single-session transport: stdio, or one SSE connection each. */
    static McpSyncServer single(McpServerTransportProvider provider, McpJsonMapper mapper, WardenTools tools,
            String version, String transport) {
        return configure(McpServer.sync(provider), mapper, tools, version, transport).build();
    }

    static McpSyncServer streamable(McpStreamableServerTransportProvider provider, McpJsonMapper mapper,
            WardenTools tools, String version) {
        return configure(McpServer.sync(provider), mapper, tools, version, "http").build();
    }

    private static <S extends McpServer.SyncSpecification<S>> S configure(S spec, McpJsonMapper mapper,
            WardenTools tools, String version, String transport) {
        spec.jsonMapper(mapper);
        spec.serverInfo("warden", version);
        spec.instructions(INSTRUCTIONS);
        spec.capabilities(McpSchema.ServerCapabilities.builder().tools(false).logging().build());
        spec.validateToolInputs(false); // Warden validates itself, so bad input gets a CONTRACT `invalid` result
        // The SDK's default of 10 s would fail every elicitation a person takes longer to answer.
        spec.requestTimeout(tools.requestTimeout());
        spec.tools(tools.specifications(transport));
        return spec;
    }
}
