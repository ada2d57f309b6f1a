package dev.warden.mcp.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The SDK's own error answers (2.1.0), without Warden in front: while these pass, {@link CleanErrorBodies}
 * is still needed. When one fails, the SDK has changed what the workaround works around.
 */
class SdkErrorBodyTest {

    static SdkHttp sdk;

    @BeforeAll
    static void start() throws Exception {
        sdk = new SdkHttp(null, null);
    }

    @AfterAll
    static void stop() throws Exception {
        sdk.close();
    }

    @Test
    void theSdkStillAnswersWithASerialisedExceptionAndAStackTrace() throws Exception {
        SdkHttp.Answer a = sdk.post("{not json", Map.of());
        assertEquals(400, a.status(), a.text());
        JsonNode body = SdkHttp.JSON.readTree(a.body());
        assertTrue(body.path("stackTrace").isArray() && body.path("stackTrace").size() > 0,
                "the SDK fixed its error bodies (no stack trace any more, java-sdk#955): CleanErrorBodies may be "
                        + "removed once they are JSON-RPC errors; the body now is " + a.text());
        assertTrue(!body.has("jsonrpc") && !body.has("error"),
                "the SDK now answers errors as JSON-RPC responses (java-sdk#955): remove CleanErrorBodies' rewriting; "
                        + a.text());
    }

    @Test
    void theSdkStillReportsAnUnparsableBodyOnlyInTheParsersWords() throws Exception {
        JsonNode err = SdkHttp.JSON.readTree(sdk.post("{not json", Map.of()).body()).path("jsonRpcError");
        assertEquals(-32600, err.path("code").asInt(),
                "the SDK now gives an unparsable body its own code: recognise parse errors by that code in "
                        + "CleanErrorBodies and drop its phrase lists; " + err);
        assertTrue(err.path("data").isNull() || err.path("data").isMissingNode(),
                "the SDK now says more than the parser's words: use that instead of CleanErrorBodies' phrases; " + err);
        assertTrue(err.path("message").asText().startsWith("Invalid message format: Unexpected character"), err.toString());
    }

    @Test
    void theSdkStillCallsAMissingSessionAnUnknownMethod() throws Exception {
        JsonNode err = SdkHttp.JSON.readTree(sdk.post(
                "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}", Map.of()).body()).path("jsonRpcError");
        assertEquals(-32601, err.path("code").asInt(),
                "the SDK no longer answers a missing session id with -32601 (java-sdk#577): CleanErrorBodies' "
                        + "'Session ID required' remapping may go; " + err);
    }
}
