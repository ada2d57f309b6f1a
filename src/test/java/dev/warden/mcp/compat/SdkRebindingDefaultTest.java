package dev.warden.mcp.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.modelcontextprotocol.server.transport.DefaultServerTransportSecurityValidator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The SDK's HTTP transports serve any Origin and Host unless given a validator (2.1.0); with
 * {@link RebindingProtection}'s they refuse a rebound page.
 */
@SuppressWarnings("deprecation") // it exercises the SDK's own (deprecated) API on purpose
class SdkRebindingDefaultTest {

    private static final Map<String, String> REBOUND = Map.of("Origin", "http://evil.example", "Host",
            "evil.example:8080");

    @Test
    void theSdkDefaultStillServesAForeignOriginAndHost() throws Exception {
        try (SdkHttp sdk = new SdkHttp(null, null)) {
            SdkHttp.Answer a = sdk.post(SdkHttp.INITIALIZE, REBOUND);
            assertEquals(200, a.status(), "the SDK now refuses a foreign Origin/Host by default (status " + a.status()
                    + "): RebindingProtection is no longer the only thing between a rebound page and Warden; "
                    + "keep it for Warden's own lists, but update its comment");
            assertTrue(a.headers().containsKey("mcp-session-id"), "a session was opened for the rebound page");
        }
    }

    @Test
    void theSdkDefaultValidatorWithoutHostsChecksNoHost() {
        assertTrue(accepts(DefaultServerTransportSecurityValidator.builder().build(), "evil.example", null),
                "DefaultServerTransportSecurityValidator now checks Host with no list given: update RebindingProtection");
    }

    @Test
    void wardensValidatorRefusesTheReboundPageAndServesLoopback() throws Exception {
        var validator = RebindingProtection.validator("127.0.0.1", false, List.of(), List.of());
        try (SdkHttp sdk = new SdkHttp(validator, null)) {
            assertEquals(403, sdk.post(SdkHttp.INITIALIZE, REBOUND).status());
            assertEquals(421, sdk.post(SdkHttp.INITIALIZE, Map.of("Host", "evil.example:" + sdk.port())).status());
            assertEquals(200, sdk.post(SdkHttp.INITIALIZE, Map.of("Origin", "http://localhost:" + sdk.port())).status());
        }
        assertTrue(accepts(validator, "localhost:1234", "https://[::1]:9"));
        assertFalse(accepts(validator, "10.0.0.1:1234", null), "a wildcard-free bind serves only loopback and itself");
        var wildcard = RebindingProtection.validator("0.0.0.0", true, List.of("https://app.example"), List.of("box:*"));
        assertTrue(accepts(wildcard, "box:80", "https://app.example"));
        assertFalse(accepts(wildcard, "0.0.0.0:80", null), "a wildcard bind address is not a host to serve");
    }

    private static boolean accepts(io.modelcontextprotocol.server.transport.ServerTransportSecurityValidator v,
            String host, String origin) {
        Map<String, List<String>> h = new java.util.HashMap<>();
        h.put("Host", List.of(host));
        if (origin != null) {
            h.put("Origin", List.of(origin));
        }
        try {
            v.validateHeaders(h);
            return true;
        }
        catch (io.modelcontextprotocol.server.transport.ServerTransportSecurityException e) {
            return false;
        }
    }
}
