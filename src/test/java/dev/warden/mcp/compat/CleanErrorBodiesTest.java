package dev.warden.mcp.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.fasterxml.jackson.databind.JsonNode;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpFilter;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Warden's rewriting of the SDK's error answers, driven by the real SDK and the real parser: each kind
 * of bad body must still be recognised from the SDK's text (a reworded Jackson or SDK message shows
 * up here), and no answer may carry a stack trace.
 */
class CleanErrorBodiesTest {

    /** What HttpGuardFilter does with the SDK's answers, and nothing else. */
    static final class Rewriting extends HttpFilter {

        private static final long serialVersionUID = 1L;

        @Override
        protected void doFilter(HttpServletRequest req, HttpServletResponse res, FilterChain chain)
                throws IOException, ServletException {
            CleanErrorBodies.Capture capture = CleanErrorBodies.capture(res, null);
            chain.doFilter(req, capture);
            if (capture.captured()) {
                capture.replace(SdkHttp.JSON);
            }
        }
    }

    static SdkHttp sdk;

    @BeforeAll
    static void start() throws Exception {
        sdk = new SdkHttp(null, new Rewriting());
    }

    @AfterAll
    static void stop() throws Exception {
        sdk.close();
    }

    private static JsonNode answer(byte[] body, int status) throws Exception {
        SdkHttp.Answer a = sdk.post(body, Map.of());
        assertFalse(a.text().contains("stackTrace"), a.text());
        assertEquals(status, a.status(), a.text());
        JsonNode n = SdkHttp.JSON.readTree(a.body());
        assertEquals("2.0", n.path("jsonrpc").asText());
        assertEquals(3, n.size(), "jsonrpc, id and error only: " + a.text());
        return n.path("error");
    }

    private static void expect(String body, int status, int code, String message) throws Exception {
        JsonNode e = answer(body.getBytes(StandardCharsets.UTF_8), status);
        assertEquals(code, e.path("code").asInt(), e.toString());
        assertEquals(message, e.path("message").asText(), "the SDK's or Jackson's words for " + body
                + " changed: see CleanErrorBodies.parseProblem");
    }

    @Test
    void aBodyThatIsNotJsonIsAParseError() throws Exception {
        String parse = "Parse error: the body is not valid JSON";
        expect("{not json", 400, -32700, parse); // "Unexpected character"
        expect("", 400, -32700, parse); // "No content to map"
        expect("{\"jsonrpc\":\"2.0\",\"id\":1", 400, -32700, parse); // "Unexpected end-of-input"
        expect("{'a':1}", 400, -32700, parse);
    }

    @Test
    void jsonThatIsNotAMessageIsAnInvalidRequest() throws Exception {
        String invalid = "Invalid Request: the body is not a JSON-RPC 2.0 message";
        expect("[1,2]", 400, -32600, invalid); // "Cannot deserialize value of type `java.util.HashMap`"
        expect("\"x\"", 400, -32600, invalid);
        expect("42", 400, -32600, invalid);
        expect("{\"foo\":1}", 400, -32600, invalid); // the SDK's "Cannot deserialize JSONRPCMessage"
    }

    @Test
    void otherErrorsKeepTheFirstLineOfTheirMessageWithoutTheParserDump() throws Exception {
        // As Warden has always answered these (noticed in the redesign, left alone): an unrecognised
        // token loses its parser detail before it is classified, so it is an invalid request, not a
        // parse error; a number with leading zeroes keeps Jackson's words; a JSON null trips the SDK.
        expect("nope", 400, -32600, "Invalid message format: the body is not valid JSON");
        expect("{\"a\":01}", 400, -32600, "Invalid message format: Invalid numeric value: Leading zeroes not allowed");
        expect("null", 500, -32603,
                "Error processing message: Cannot invoke \"java.util.HashMap.containsKey(Object)\" because \"map\" is null");
    }

    @Test
    void aMissingSessionIsAnInvalidRequestNotAnUnknownMethod() throws Exception {
        expect("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}", 400, -32600,
                "Session ID required in mcp-session-id header");
    }

    @Test
    void theTextMatchingAlone() {
        assertEquals(-32700, CleanErrorBodies.parseProblem("Invalid message format: Unexpected character ('n')").code());
        assertEquals(-32600, CleanErrorBodies.parseProblem("Invalid message format: Cannot deserialize value").code());
        assertEquals(null, CleanErrorBodies.parseProblem("Session ID required in mcp-session-id header"));
    }
}
