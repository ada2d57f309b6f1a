package dev.warden.mcp;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.warden.mcp.compat.CancellationTagger;
import dev.warden.mcp.compat.CleanErrorBodies;
import dev.warden.mcp.compat.RebindingProtection;
import dev.warden.mcp.compat.SerializedSseWriter;
import dev.warden.mcp.compat.SseSessionEnd;
import io.modelcontextprotocol.server.transport.ServerTransportSecurityValidator;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpFilter;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * In front of every MCP endpoint, orchestration only: bearer tokens (when configured), the body-size
 * cap, and session ownership (see {@link SessionOwners}). The SDK workarounds it applies live in
 * {@code dev.warden.mcp.compat}, each with the upstream issue it works around:
 * {@link CancellationTagger} (tools/call tagging, notifications/cancelled),
 * {@link CleanErrorBodies} (error bodies without stack traces), {@link RebindingProtection} (whether
 * the SDK's Origin/Host checks will refuse a request), {@link SerializedSseWriter} and
 * {@link SseSessionEnd} (the HTTP+SSE stream). The end of a Streamable HTTP session (DELETE) is
 * passed on so its workspace goes too.
 */
final class HttpGuardFilter extends HttpFilter {

    private static final long serialVersionUID = 1L;

    private final List<byte[]> tokens;
    private final transient ObjectMapper json;
    private final transient Consumer<String> sessionEnded;
    private final transient CancellationTagger tagger;
    private final int maxRequestBytes;
    private final transient SessionOwners owners;
    @SuppressWarnings("deprecation") // the transports' validator, shared with the SDK's (see HttpTransport.start)
    private final transient ServerTransportSecurityValidator origins;
    /** On a replica of a fleet: where sessions are recorded and looked up; null on a single server. */
    private final transient FleetLink fleet;
    private final transient FleetProxy proxy;

    @SuppressWarnings("deprecation")
    HttpGuardFilter(List<String> tokens, ObjectMapper json, Consumer<String> sessionEnded, ClientCancels cancels,
            int maxRequestBytes, SessionOwners owners, ServerTransportSecurityValidator origins, FleetLink fleet) {
        this.origins = origins;
        this.fleet = fleet;
        this.proxy = fleet == null ? null : new FleetProxy();
        this.tokens = tokens.stream().map(t -> t.getBytes(StandardCharsets.UTF_8)).toList();
        this.json = json;
        this.owners = owners;
        this.sessionEnded = id -> {
            owners.end(id);
            sessionEnded.accept(id);
        };
        this.tagger = new CancellationTagger(json, cancels);
        this.maxRequestBytes = maxRequestBytes;
    }

    /**
     * A POST's body, read up to the cap (null when over it) and tagged for cancellation (see
     * {@link CancellationTagger}); the SDK then reads it as ever. Other methods pass as they are.
     */
    private HttpServletRequest bodyRead(HttpServletRequest req) throws IOException {
        if (!"POST".equals(req.getMethod())) {
            return req;
        }
        byte[] body = req.getInputStream().readNBytes(maxRequestBytes + 1);
        if (body.length > maxRequestBytes) {
            return null;
        }
        // A request to /mcp without a session is initialize or of the 2026-07-28 era, where a call is
        // cancelled by closing its stream: a notifications/cancelled there names no session, so it
        // must not reach another client's call of the same id (see ModernEra)
        boolean sessionless = req.getRequestURI().endsWith("/mcp") && req.getHeader("mcp-session-id") == null;
        return new BodyRequest(req, sessionless ? body : tagger.tagBody(body, () -> CancellationTagger.httpSession(req)));
    }

    /** The request with its body already read (and maybe tagged). */
    private static final class BodyRequest extends jakarta.servlet.http.HttpServletRequestWrapper {

        private final byte[] body;

        BodyRequest(HttpServletRequest req, byte[] body) {
            super(req);
            this.body = body;
        }

        /** Whether the body is an initialize request: the one message that opens a session. */
        boolean isInitialize(ObjectMapper json) {
            if (body.length == 0 || !new String(body, StandardCharsets.UTF_8).contains("initialize")) {
                return false;
            }
            try {
                return "initialize".equals(json.readTree(body).path("method").asText(null));
            }
            catch (IOException e) {
                return false;
            }
        }

        @Override
        public int getContentLength() {
            return body.length;
        }

        @Override
        public long getContentLengthLong() {
            return body.length;
        }

        @Override
        public jakarta.servlet.ServletInputStream getInputStream() {
            java.io.ByteArrayInputStream in = new java.io.ByteArrayInputStream(body);
            return new jakarta.servlet.ServletInputStream() {
                @Override
                public boolean isFinished() {
                    return in.available() == 0;
                }

                @Override
                public boolean isReady() {
                    return true;
                }

                @Override
                public void setReadListener(jakarta.servlet.ReadListener listener) {
                    throw new UnsupportedOperationException("the body was already read");
                }

                @Override
                public int read() {
                    return in.read();
                }

                @Override
                public int read(byte[] b, int off, int len) {
                    return in.read(b, off, len);
                }
            };
        }

        @Override
        public java.io.BufferedReader getReader() {
            return new java.io.BufferedReader(new java.io.InputStreamReader(getInputStream(), StandardCharsets.UTF_8));
        }
    }

    @Override
    protected void doFilter(HttpServletRequest req, HttpServletResponse res, FilterChain chain)
            throws IOException, ServletException {
        res.setHeader("X-Content-Type-Options", "nosniff");
        res.setHeader("Cache-Control", "no-store");
        if (!tokens.isEmpty() && !authorized(req.getHeader("Authorization"))) {
            res.setHeader("WWW-Authenticate", "Bearer realm=\"warden\"");
            CleanErrorBodies.writeError(res, json, 401, -32001, "Unauthorized: a valid bearer token is required");
            return;
        }
        if (fleet != null) {
            res.setHeader(FleetProxy.REPLICA, fleet.replicaId());
            String who = tokens.isEmpty() ? "local" : HttpTransport.identity(req.getHeader("Authorization"));
            if (RebindingProtection.accepts(origins, req) && routedElsewhere(req, res, who)) {
                return;
            }
        }
        HttpServletRequest body = bodyRead(req);
        if (body == null) {
            CleanErrorBodies.writeError(res, json, 413, -32600, "Request body too large: the limit is " + maxRequestBytes + " bytes");
            return;
        }
        req = body;
        boolean sseStream = "GET".equals(req.getMethod()) && req.getRequestURI().endsWith("/sse");
        // Sessions belong to the identity that opened them (see SessionOwners): another token's
        // session id is answered as unknown, and a new session must fit the caps.
        String identity = tokens.isEmpty() ? "local" : HttpTransport.identity(req.getHeader("Authorization"));
        String uri = req.getRequestURI();
        // a request the SDK refuses anyway (foreign Origin or Host) gets the SDK's own answer, 403/421
        boolean acceptable = RebindingProtection.accepts(origins, req);
        boolean opening = sseStream && acceptable;
        if (!acceptable) {
            // nothing below: the SDK refuses it before it reaches a session
        }
        else if (uri.endsWith("/mcp")) {
            String sid = req.getHeader("mcp-session-id");
            if (sid != null) {
                if (!owners.use(identity, sid)) {
                    CleanErrorBodies.writeError(res, json, 404, -32001, "Session not found");
                    return;
                }
            }
            else {
                opening = "POST".equals(req.getMethod()) && ((BodyRequest) req).isInitialize(json);
            }
        }
        else if (uri.endsWith("/message")) {
            String sid = req.getParameter("sessionId");
            // without a session id the SDK answers 400 itself
            if (sid != null && !owners.use(identity, "sse-" + sid)) {
                CleanErrorBodies.writeError(res, json, 404, -32001, "Session not found");
                return;
            }
        }
        if (opening) {
            var refusal = owners.open(identity);
            if (refusal.isPresent()) {
                res.setHeader("Retry-After", "5");
                CleanErrorBodies.writeError(res, json, 429, -32000, "Too many sessions: " + refusal.get().why());
                return;
            }
        }
        // A new session is owned from the moment its id is written (the SSE stream's endpoint event,
        // the Streamable HTTP id header), before the client can see it: the client's next request may
        // arrive before this filter returns.
        AtomicReference<String> openedId = new AtomicReference<>();
        Consumer<String> owned = !opening ? id -> {
        } : id -> {
            if (openedId.compareAndSet(null, id)) {
                owners.opened(identity, id);
                if (fleet != null) {
                    fleet.sessionOpened(id, identity);
                }
            }
        };
        // the SSE stream's writer keeps concurrent events whole, and shows the session id as it goes by
        SseSessionEnd sseSession = sseStream ? new SseSessionEnd(id -> owned.accept("sse-" + id)) : null;
        HttpServletResponse tapped = sseStream || !opening ? res : new SessionIdHeader(res, owned);
        CleanErrorBodies.Capture capture = CleanErrorBodies.capture(tapped,
                sseStream ? real -> SerializedSseWriter.wrap(real, sseSession) : null);
        try {
            chain.doFilter(req, capture);
        }
        finally {
            if (opening) {
                if (openedId.get() == null) {
                    owners.abandoned(identity);
                }
                else if (capture.captured()) {
                    owners.end(openedId.get());
                    if (fleet != null) {
                        fleet.sessionEnded(openedId.get());
                    }
                }
            }
        }
        if (capture.captured()) {
            capture.replace(json);
            return;
        }
        if (sseSession != null && req.isAsyncStarted()) {
            // An SSE session lives as long as its stream: when the stream ends, so does the workspace.
            sseSession.onEnd(req, id -> sessionEnded.accept("sse-" + id));
        }
        if ("DELETE".equals(req.getMethod()) && res.getStatus() < 300) {
            String session = req.getHeader("mcp-session-id");
            if (session != null) {
                sessionEnded.accept(session);
            }
        }
    }

    /**
     * On a replica of a fleet, a request in a session this replica does not hold: when the shared
     * table names a live owner (and the session is this identity's), the request goes there and its
     * answer comes back through here; when the owner is gone, a 404 whose JSON-RPC error says so (an
     * MCP client starts a new session on a 404). A session the table does not know, or of another
     * identity, or a request already forwarded once, is left to the usual "Session not found".
     *
     * @return true if answered here
     */
    private boolean routedElsewhere(HttpServletRequest req, HttpServletResponse res, String identity) throws IOException {
        String uri = req.getRequestURI();
        String key;
        if (uri.endsWith("/mcp")) {
            key = req.getHeader("mcp-session-id");
        }
        else if (uri.endsWith("/message")) {
            String sid = req.getParameter("sessionId");
            key = sid == null ? null : "sse-" + sid;
        }
        else {
            return false;
        }
        if (key == null || owners.knows(identity, key)) {
            return false;
        }
        var found = fleet.owner(FleetLink.Kind.SESSION, key);
        if (found.isEmpty() || !found.get().identity().equals(identity) || req.getHeader(FleetProxy.FORWARDED_BY) != null) {
            return false;
        }
        FleetLink.Owner owner = found.get();
        String shown = key.startsWith("sse-") ? key.substring(4) : key;
        boolean mine = owner.replica().equals(fleet.replicaId());
        if (!mine && (!owner.live() || owner.url() == null || owner.url().isBlank())) {
            // (a dead replica's sessions may already be marked ended by whoever declared it dead)
            CleanErrorBodies.writeError(res, json, 404, -32001, gone(shown, owner.replica(), "it is gone (no heartbeat)"));
            return true;
        }
        if (mine || "ended".equals(owner.status())) {
            CleanErrorBodies.writeError(res, json, 404, -32001, "Session " + shown + " is no longer open on replica "
                    + owner.replica() + " (it ended, or the replica restarted since): start a new session (initialize again)");
            return true;
        }
        byte[] body = "POST".equals(req.getMethod()) ? req.getInputStream().readNBytes(maxRequestBytes + 1) : new byte[0];
        if (body.length > maxRequestBytes) {
            CleanErrorBodies.writeError(res, json, 413, -32600, "Request body too large: the limit is " + maxRequestBytes + " bytes");
            return true;
        }
        try {
            proxy.forward(req, body, res, owner.url(), fleet.replicaId(),
                    // unknown (the database out of reach) is not dead: the connection itself still tells
                    () -> fleet.owner(FleetLink.Kind.SESSION, key).map(FleetLink.Owner::live).orElse(true));
        }
        catch (FleetProxy.Unreachable e) {
            if (!res.isCommitted()) {
                res.reset();
                res.setHeader(FleetProxy.REPLICA, fleet.replicaId());
                CleanErrorBodies.writeError(res, json, 404, -32001, gone(shown, owner.replica(),
                        "it could not be reached (" + e.getMessage() + ")"));
            }
        }
        catch (IOException clientGone) {
            // the client left while the owner's answer streamed: nothing more to do
        }
        return true;
    }

    private static String gone(String session, String replica, String why) {
        return "Session " + session + " belonged to replica " + replica + ", which " + why.replaceFirst("^it ", "")
                + ": start a new session (initialize again)";
    }

    /** Tells {@code owned} the Streamable HTTP session id the moment the SDK sets its header. */
    private static final class SessionIdHeader extends jakarta.servlet.http.HttpServletResponseWrapper {

        private final Consumer<String> owned;

        SessionIdHeader(HttpServletResponse res, Consumer<String> owned) {
            super(res);
            this.owned = owned;
        }

        @Override
        public void setHeader(String name, String value) {
            saw(name, value);
            super.setHeader(name, value);
        }

        @Override
        public void addHeader(String name, String value) {
            saw(name, value);
            super.addHeader(name, value);
        }

        private void saw(String name, String value) {
            if (value != null && "mcp-session-id".equalsIgnoreCase(name)) {
                owned.accept(value);
            }
        }
    }

    private boolean authorized(String header) {
        if (header == null || !header.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return false;
        }
        byte[] given = header.substring(7).trim().getBytes(StandardCharsets.UTF_8);
        boolean ok = false;
        for (byte[] t : tokens) {
            ok |= MessageDigest.isEqual(t, given); // constant time, and no early exit across tokens
        }
        return ok;
    }
}
