package dev.warden.mcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** Which era a message picks, on HTTP (per request) and on stdio (the first request of the connection). */
class EraRouterTest {

    private final ObjectMapper json = new ObjectMapper();

    private boolean modern(String body) {
        return EraRouter.modernBody(json, body.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void serverDiscoverAndAModernEnvelopeAreModern() {
        assertTrue(modern("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"server/discover\"}"));
        assertTrue(modern("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\",\"params\":{\"_meta\":"
                + "{\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\"}}}"));
        // an unknown version in the envelope is still the modern era's to refuse (UnsupportedProtocolVersion)
        assertTrue(modern("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\",\"params\":{\"_meta\":"
                + "{\"io.modelcontextprotocol/protocolVersion\":\"2099-01-01\"}}}"));
    }

    @Test
    void initializeAndBareRequestsAreLegacy() {
        assertFalse(modern("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":"
                + "\"2025-11-25\",\"capabilities\":{},\"clientInfo\":{\"name\":\"x\",\"version\":\"1\"}}}"));
        assertFalse(modern("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"_meta\":"
                + "{\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\"}}}"));
        assertFalse(modern("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}"));
        assertFalse(modern("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\",\"params\":{\"_meta\":{}}}"));
        assertFalse(modern("not json"));
        assertFalse(modern("[1,2]"));
    }

    @Test
    void onStdioNotificationsAndResponsesDecideNothing() {
        byte[] note = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n".getBytes(StandardCharsets.UTF_8);
        assertNull(StdioTransport.modern(json, note));
        byte[] response = "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n".getBytes(StandardCharsets.UTF_8);
        assertNull(StdioTransport.modern(json, response));
        assertEquals(Boolean.TRUE, StdioTransport.modern(json,
                "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"server/discover\"}\n".getBytes(StandardCharsets.UTF_8)));
        assertEquals(Boolean.FALSE, StdioTransport.modern(json,
                "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\"}\n".getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void handshakeVersionsAreTheLegacyOnes() {
        assertTrue(EraRouter.LEGACY_VERSIONS.contains("2025-11-25"));
        assertTrue(EraRouter.LEGACY_VERSIONS.contains("2025-06-18"));
        assertFalse(EraRouter.LEGACY_VERSIONS.contains("2026-07-28"));
        assertTrue(ModernEra.VERSIONS.contains("2026-07-28"));
    }
}
