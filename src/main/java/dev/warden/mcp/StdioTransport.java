package dev.warden.mcp;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.modelcontextprotocol.json.McpJsonMapper;
import io.modelcontextprotocol.server.McpAsyncServer;
import dev.warden.mcp.compat.SerialStdioTransportProvider;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.SequenceInputStream;
import io.modelcontextprotocol.modern.server.transport.StdioMcpTransport;

/**
 * MCP over this process's stdin and stdout, with the guard in front. Runs until stdin ends.
 *
 * <p>Both protocol eras are served; the client's first request picks one for the connection, as the
 * 2026-07-28 revision has a dual-era server do (a connection does not change era half way):
 * {@code initialize} (or any other request without the modern envelope) is the 2025-11-25 era, served
 * by the SDK's session server through {@link SerialStdioTransportProvider}; {@code server/discover}, or
 * a request whose {@code params._meta} claims a protocol version, is the 2026-07-28 era, served by the
 * SDK's modern server through its {@code StdioMcpTransport}. That transport writes every message from
 * one writer thread in order, so the loss of answers that the session transport suffers under
 * concurrent calls (see SerialStdioTransportProvider) does not happen there; it writes into the
 * guard's line output all the same, so the guard's own answers never interleave with it.
 */
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
        InputStream in = guard.input();
        ByteArrayOutputStream before = new ByteArrayOutputStream();
        boolean modern = false;
        for (byte[] line = line(in); line != null; line = line(in)) {
            before.write(line);
            Boolean era = modern(json, line);
            if (era != null) {
                modern = era;
                break;
            }
        }
        // what was read to decide is read again by the server that serves the connection
        InputStream replay = new SequenceInputStream(new ByteArrayInputStream(before.toByteArray()), in);
        if (modern) {
            var transport = new StdioMcpTransport(ModernEra.server(tools, mapper, json, version, "stdio"), mapper,
                    replay, guard.output(), MAX_MESSAGE_BYTES + 1);
            transport.start().subscribe();
            guard.awaitEnd();
            transport.closeGracefully().block(java.time.Duration.ofSeconds(5));
            return;
        }
        var provider = new SerialStdioTransportProvider(mapper, replay, guard.output(), MAX_MESSAGE_BYTES + 1);
        McpAsyncServer server = McpServers.single(provider, mapper, tools, version, "stdio");
        guard.awaitEnd();
        server.close();
    }

    /** One line from the guard's checked input (a well-formed message and its newline); null at the end. */
    private static byte[] line(InputStream in) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        int b;
        while ((b = in.read()) >= 0) {
            line.write(b);
            if (b == '\n') {
                return line.toByteArray();
            }
        }
        return line.size() == 0 ? null : line.toByteArray();
    }

    /**
     * The era a message picks: true for the 2026-07-28 one, false for 2025-11-25, null for a message
     * that picks none (a notification or a response: the next message decides).
     */
    static Boolean modern(ObjectMapper json, byte[] line) {
        try {
            var node = json.readTree(line);
            if (node == null || !node.has("method") || !node.has("id")) {
                return null;
            }
        }
        catch (IOException e) {
            return null; // the guard passes only well-formed JSON; nothing to decide on here
        }
        return EraRouter.modernBody(json, line);
    }
}
