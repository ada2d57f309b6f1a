package dev.warden.mcp.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.modelcontextprotocol.json.jackson2.JacksonMcpJsonMapper;
import io.modelcontextprotocol.server.McpAsyncServer;
import io.modelcontextprotocol.server.McpServer;
import io.modelcontextprotocol.server.McpServerFeatures.AsyncToolSpecification;
import io.modelcontextprotocol.server.transport.StdioServerTransportProvider;
import io.modelcontextprotocol.spec.McpSchema;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;

/**
 * The SDK (2.1.0) ignores {@code notifications/cancelled}: a tool call it names runs on. Warden's
 * {@link CancellationTagger} does what the SDK does not.
 */
@SuppressWarnings("deprecation") // it exercises the SDK's own (deprecated) API on purpose
class SdkCancellationTest {

    private final ObjectMapper json = new ObjectMapper();

    @Test
    void theSdkStillLetsACancelledToolCallRunOn() throws Exception {
        CountDownLatch started = new CountDownLatch(1);
        CountDownLatch disposed = new CountDownLatch(1);
        AtomicReference<Map<String, Object>> meta = new AtomicReference<>();
        var tool = AsyncToolSpecification.builder()
            .tool(McpSchema.Tool.builder().name("wait").inputSchema(Map.of("type", "object")).build())
            .callHandler((exchange, req) -> Mono.<McpSchema.CallToolResult>never()
                .doOnSubscribe(s -> {
                    meta.set(req.meta());
                    started.countDown();
                })
                .doOnCancel(disposed::countDown))
            .build();
        PipedOutputStream feed = new PipedOutputStream();
        PipedInputStream in = new PipedInputStream(feed, 1 << 16);
        Out out = new Out();
        McpAsyncServer server = McpServer.async(new StdioServerTransportProvider(new JacksonMcpJsonMapper(json), in, out))
            .serverInfo("sdk-test", "1")
            .capabilities(McpSchema.ServerCapabilities.builder().tools(false).build())
            .tools(tool)
            .build();
        try {
            send(feed, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-06-18\","
                    + "\"capabilities\":{},\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}");
            out.await(1);
            send(feed, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}");
            send(feed, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{\"name\":\"wait\",\"arguments\":{}}}");
            assertTrue(started.await(10, TimeUnit.SECONDS), "the tool call started: " + out.lines());
            send(feed, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":7,\"reason\":\"stop\"}}");
            send(feed, "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"ping\"}");
            out.await(8); // the cancellation, read before the ping, has been handled by now
            assertFalse(disposed.await(300, TimeUnit.MILLISECONDS),
                    "the SDK now stops a tool call on notifications/cancelled (java-sdk#130, #803): Warden's "
                            + "CancellationTagger (compat) may go; let the handler stop its run when its Mono is cancelled");
            assertFalse(meta.get() != null && meta.get().containsValue(7),
                    "the SDK now gives the tool handler its request id: CancellationTagger's tag may go; " + meta.get());
        }
        finally {
            feed.close();
            server.close();
        }
    }

    @Test
    void theTaggerTagsACallAndPassesOnItsCancellationUnderTheSameKey() throws Exception {
        List<String> cancelled = new ArrayList<>();
        CancellationTagger tagger = new CancellationTagger(json, (key, reason) -> cancelled.add(key + "|" + reason));
        byte[] call = tagger.tagBody("{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{\"name\":\"x\"}}"
            .getBytes(StandardCharsets.UTF_8), () -> "http:s1");
        String key = json.readTree(call).path("params").path("_meta").path(CancellationTagger.META_KEY).asText();
        byte[] cancel = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":7,\"reason\":\"r\"}}"
            .getBytes(StandardCharsets.UTF_8);
        assertTrue(tagger.tagBody(cancel, () -> "http:s1") == cancel, "a cancellation goes on to the SDK as it was");
        assertEquals(List.of(key + "|r"), cancelled);
        byte[] other = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}".getBytes(StandardCharsets.UTF_8);
        assertTrue(tagger.tagBody(other, () -> {
            throw new AssertionError("the session is not asked for other messages");
        }) == other);
        byte[] bad = "{tools/call".getBytes(StandardCharsets.UTF_8);
        assertTrue(tagger.tagBody(bad, () -> "http:s1") == bad, "not JSON: the SDK answers it");
        JsonNode unicode = json.readTree(tagger.tagBody(
                "{\"jsonrpc\":\"2.0\",\"id\":\"é\",\"method\":\"tools/call\",\"params\":{}}".getBytes(StandardCharsets.UTF_8),
                () -> "http:s1"));
        assertEquals("é", unicode.path("id").asText(), "written back as ASCII escapes, read back the same");
    }

    private static void send(PipedOutputStream feed, String line) throws Exception {
        feed.write((line + "\n").getBytes(StandardCharsets.UTF_8));
        feed.flush();
    }

    /** What the SDK writes, as JSON lines, with a wait for the answer to an id. */
    static final class Out extends OutputStream {

        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();

        @Override
        public synchronized void write(int b) {
            bytes.write(b);
            notifyAll();
        }

        @Override
        public synchronized void write(byte[] b, int off, int len) {
            bytes.write(b, off, len);
            notifyAll();
        }

        synchronized List<String> lines() {
            return bytes.toString(StandardCharsets.UTF_8).lines().toList();
        }

        synchronized void await(int id) throws InterruptedException {
            long deadline = System.currentTimeMillis() + 10_000;
            while (lines().stream().noneMatch(l -> l.contains("\"id\":" + id + ","))) {
                long left = deadline - System.currentTimeMillis();
                if (left <= 0) {
                    throw new AssertionError("no answer to " + id + ": " + lines());
                }
                wait(left);
            }
        }
    }
}
