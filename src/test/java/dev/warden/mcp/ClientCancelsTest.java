package dev.warden.mcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.warden.exec.Cancel;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ClientCancelsTest {

    private final ObjectMapper json = new ObjectMapper();
    private final ClientCancels cancels = new ClientCancels();

    /** Tags a tools/call as the guard does and returns the _meta the handler would see. */
    @SuppressWarnings("unchecked")
    private Map<String, Object> tagged(String message, String session) throws Exception {
        JsonNode node = json.readTree(message);
        assertTrue(cancels.inspect(node, session));
        return json.convertValue(node.path("params").path("_meta"), Map.class);
    }

    private void cancelled(String id, String session) throws Exception {
        assertFalse(cancels.inspect(json.readTree(
                "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":" + id
                        + ",\"reason\":\"user\\u001b[31m pressed stop\"}}"), session));
    }

    @Test
    void aCancellationStopsTheRegisteredCallOfItsSessionAndId() throws Exception {
        Map<String, Object> meta = tagged("{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{\"name\":\"x\"}}", "s1");
        Cancel cancel = new Cancel();
        try (Cancel.Registration r = cancels.register(meta, cancel)) {
            cancelled("\"7\"", "s1"); // a string id is another id than the number 7
            cancelled("7", "s2"); // another session
            assertNull(cancel.reason());
            cancelled("7", "s1");
            assertEquals("the client cancelled the request (user [31m pressed stop)", cancel.reason());
        }
    }

    @Test
    void aCancellationThatArrivesBeforeTheHandlerStillStopsIt() throws Exception {
        Map<String, Object> meta = tagged("{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"method\":\"tools/call\",\"params\":{}}", "s1");
        cancelled("\"a\"", "s1");
        Cancel cancel = new Cancel();
        cancels.register(meta, cancel).close();
        assertTrue(cancel.reason().startsWith("the client cancelled"));
    }

    @Test
    void theClientCannotChooseTheKey() throws Exception {
        Map<String, Object> meta = tagged("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":"
                + "{\"_meta\":{\"dev.warden/request\":\"victim\",\"progressToken\":3}}}", "attacker");
        assertEquals(3, meta.get("progressToken"));
        Cancel cancel = new Cancel();
        try (Cancel.Registration r = cancels.register(meta, cancel)) {
            cancelled("1", "victim");
            assertNull(cancel.reason());
        }
    }

    @Test
    void aCallWithoutATagCannotBeCancelledButRuns() {
        Cancel cancel = new Cancel();
        cancels.register(Map.of(), cancel).close();
        cancels.register(null, cancel).close();
        assertNull(cancel.reason());
    }
}
