package dev.warden.mcp;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.modelcontextprotocol.json.McpJsonMapper;
import io.modelcontextprotocol.server.McpAsyncServer;
import dev.warden.mcp.compat.SerialStdioTransportProvider;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;

/** MCP over this process's stdin and stdout, with the guard in front. Runs until stdin ends. */
public final class StdioTransport {

    private static final int MAX_MESSAGE_BYTES = 8 * 1024 * 1024;

    private StdioTransport() {
    }

    /** {@code firstAnswer} runs once the first line (normally the answer to initialize) is on stdout. */
    public static void run(ObjectMapper json, WardenTools tools, String version, Runnable firstAnswer) throws Exception {
        McpJsonMapper mapper = new io.modelcontextprotocol.json.jackson2.JacksonMcpJsonMapper(json);
        // The protocol owns fd 1. Anything else that prints to System.out goes to stderr instead.
        FileOutputStream stdout = new FileOutputStream(FileDescriptor.out);
        System.setOut(System.err);
        StdioGuard guard = new StdioGuard(new FileInputStream(FileDescriptor.in), stdout, mapper, json,
                MAX_MESSAGE_BYTES, firstAnswer, tools.cancels());
        var provider = new SerialStdioTransportProvider(mapper, guard.input(), guard.output(), MAX_MESSAGE_BYTES + 1);
        McpAsyncServer server = McpServers.single(provider, mapper, tools, version, "stdio");
        guard.awaitEnd();
        server.close();
    }
}
