package dev.warden.mcp.compat;

import io.modelcontextprotocol.server.transport.DefaultServerTransportSecurityValidator;
import io.modelcontextprotocol.server.transport.ServerTransportSecurityException;
import io.modelcontextprotocol.server.transport.ServerTransportSecurityValidator;
import jakarta.servlet.http.HttpServletRequest;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * DNS-rebinding protection (Origin and Host checks) for the SDK's HTTP transports, which have it off
 * unless told otherwise.
 *
 * <p><b>What the SDK does (2.1.0).</b> The builders of {@code HttpServletStreamableServerTransportProvider}
 * and {@code HttpServletSseServerTransportProvider} default their {@code securityValidator} to
 * {@code ServerTransportSecurityValidator.NOOP}: any Origin and any Host are served.
 * {@code DefaultServerTransportSecurityValidator} does the checks, but only when it is built and
 * passed in, and with no allowed hosts it checks no Host at all.
 *
 * <p><b>Why that breaks Warden.</b> A web page the user visits could rebind its own name to 127.0.0.1
 * and drive a local Warden from the browser: run commands in the sandbox, read the workspace.
 *
 * <p><b>The workaround.</b> {@link #validator} builds the SDK's own validator with the loopback
 * origins and hosts (and the bound address, and whatever the configuration adds); Warden passes it to
 * both transports and asks it, with {@link #accepts}, before its own session bookkeeping, so a
 * request the SDK will refuse takes no session slot.
 *
 * <p><b>Upstream.</b> The checks came with the advisory
 * <a href="https://github.com/modelcontextprotocol/java-sdk/security/advisories/GHSA-8jxr-pr72-r468">GHSA-8jxr-pr72-r468</a>
 * (CVE-2026-35568) and <a href="https://github.com/modelcontextprotocol/java-sdk/pull/775">
 * modelcontextprotocol/java-sdk#775</a> ("DNS rebinding protection: check host header"); the earlier
 * <a href="https://github.com/modelcontextprotocol/java-sdk/pull/284">#284</a> left turning them on
 * by default to a later, ecosystem-wide change. No upstream issue found as of 2026-12 asking the Java
 * SDK to turn them on by default.
 *
 * <p><b>When to remove it.</b> Not while Warden has its own list of origins and hosts; but when the
 * SDK's default refuses a foreign Origin and Host ({@code SdkRebindingDefaultTest} then fails), a
 * transport built without the validator would no longer be open.
 */
public final class RebindingProtection {

    private RebindingProtection() {
    }

    /** The validator for a server bound to {@code bindHost}, with configured extra origins and hosts. */
    public static DefaultServerTransportSecurityValidator validator(String bindHost, boolean wildcardBind,
            List<String> extraOrigins, List<String> extraHosts) {
        List<String> origins = new ArrayList<>(List.of("http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*",
                "https://localhost:*", "https://127.0.0.1:*", "https://[::1]:*"));
        origins.addAll(extraOrigins);
        List<String> hosts = new ArrayList<>(List.of("localhost:*", "127.0.0.1:*", "[::1]:*"));
        String host = bindHost.contains(":") && !bindHost.startsWith("[") ? "[" + bindHost + "]" : bindHost;
        if (!wildcardBind) {
            hosts.add(host + ":*");
        }
        hosts.addAll(extraHosts);
        return DefaultServerTransportSecurityValidator.builder().allowedOrigins(origins).allowedHosts(hosts).build();
    }

    /** Whether the SDK's Origin and Host checks will let this request through. */
    @SuppressWarnings("deprecation") // the SDK's validator type, as its transports take it (2.1.0)
    public static boolean accepts(ServerTransportSecurityValidator validator, HttpServletRequest req) {
        Map<String, List<String>> headers = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
        for (String name : Collections.list(req.getHeaderNames())) {
            headers.put(name, Collections.list(req.getHeaders(name)));
        }
        try {
            validator.validateHeaders(headers);
            return true;
        }
        catch (ServerTransportSecurityException refused) {
            return false;
        }
    }
}
