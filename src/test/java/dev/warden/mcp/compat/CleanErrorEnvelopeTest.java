package dev.warden.mcp.compat;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

/**
 * Which error bodies pass through whole: a plain JSON-RPC error (the 2026-07-28 transport's, whose
 * code and data the client needs: -32602 for a bad requestState, -32022 with the supported versions),
 * never a serialised exception.
 */
class CleanErrorEnvelopeTest {

    private final ObjectMapper json = new ObjectMapper();

    private boolean envelope(String body) throws Exception {
        JsonNode b = json.readTree(body);
        return CleanErrorBodies.Capture.isEnvelope(b);
    }

    @Test
    void aPlainJsonRpcErrorIsAnEnvelope() throws Exception {
        assertTrue(envelope("{\"jsonrpc\":\"2.0\",\"id\":3,\"error\":{\"code\":-32602,\"message\":\"Invalid or expired requestState\"}}"));
        assertTrue(envelope("{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32022,\"message\":\"Unsupported\","
                + "\"data\":{\"supported\":[\"2026-07-28\"],\"requested\":\"1999-01-01\"}}}"));
    }

    @Test
    void aSerialisedExceptionOrAnythingElseIsNot() throws Exception {
        assertFalse(envelope("{\"stackTrace\":[{\"className\":\"x\"}],\"jsonRpcError\":{\"code\":-32600,\"message\":\"m\"},"
                + "\"message\":\"m\"}"));
        assertFalse(envelope("{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-1,\"message\":\"m\"},\"stackTrace\":[]}"));
        assertFalse(envelope("{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-1,\"message\":\"m\",\"cause\":{}}}"));
        assertFalse(envelope("{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-1,\"message\":\"m\",\"data\":"
                + "{\"stackTrace\":[]}}}"));
        assertFalse(envelope("{\"jsonrpc\":\"2.0\",\"id\":{},\"error\":{\"code\":-1,\"message\":\"m\"}}"));
        assertFalse(envelope("{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":\"x\",\"message\":\"m\"}}"));
        assertFalse(envelope("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}"));
        assertFalse(envelope("[]"));
    }
}
