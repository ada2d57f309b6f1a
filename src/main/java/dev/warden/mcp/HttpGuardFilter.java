package dev.warden.mcp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.modelcontextprotocol.server.transport.ServerTransportSecurityException;
import io.modelcontextprotocol.server.transport.ServerTransportSecurityValidator;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletOutputStream;
import jakarta.servlet.WriteListener;
import jakarta.servlet.http.HttpFilter;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.HttpServletResponseWrapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.List;
import java.util.function.Consumer;

/**
 * In front of every MCP endpoint: bearer tokens (when configured), error bodies rewritten to a
 * plain JSON-RPC error (the SDK serialises whole Java exceptions, stack traces and all, into 4xx
 * bodies), and the end of a Streamable HTTP session (DELETE) passed on so its workspace goes too.
 */
final class HttpGuardFilter extends HttpFilter {

    private static final long serialVersionUID = 1L;

    private final List<byte[]> tokens;
    private final transient ObjectMapper json;
    private final transient Consumer<String> sessionEnded;
    private final transient ClientCancels cancels;
    private final int maxRequestBytes;
    private final transient SessionOwners owners;
    @SuppressWarnings("deprecation") // the transports' validator, shared with the SDK's (see HttpTransport.start)
    private final transient ServerTransportSecurityValidator origins;

    @SuppressWarnings("deprecation")
    HttpGuardFilter(List<String> tokens, ObjectMapper json, Consumer<String> sessionEnded, ClientCancels cancels,
            int maxRequestBytes, SessionOwners owners, ServerTransportSecurityValidator origins) {
        this.origins = origins;
        this.tokens = tokens.stream().map(t -> t.getBytes(StandardCharsets.UTF_8)).toList();
        this.json = json;
        this.owners = owners;
        this.sessionEnded = id -> {
            owners.end(id);
            sessionEnded.accept(id);
        };
        this.cancels = cancels;
        this.maxRequestBytes = maxRequestBytes;
    }

    /**
     * A POSTed message that is a tools/call is tagged for cancellation, one that is
     * notifications/cancelled stops its call (see {@link ClientCancels}); the SDK then reads the
     * body as ever. The session part of the key is the transport's: the Streamable HTTP session
     * header, or the SSE session of /message.
     */
    private HttpServletRequest tagged(HttpServletRequest req) throws IOException {
        if (!"POST".equals(req.getMethod())) {
            return req;
        }
        byte[] body = req.getInputStream().readNBytes(maxRequestBytes + 1);
        if (body.length > maxRequestBytes) {
            return null;
        }
        String text = new String(body, StandardCharsets.UTF_8);
        if (text.contains("tools/call") || text.contains("notifications/cancelled")) {
            String session = req.getRequestURI().endsWith("/message") ? "sse:" + req.getParameter("sessionId")
                    : "http:" + req.getHeader("mcp-session-id");
            try {
                JsonNode node = json.readTree(text);
                if (cancels.inspect(node, session)) {
                    body = ClientCancels.write(json, node);
                }
            }
            catch (IOException notJson) {
                // the SDK answers it with its own parse error
            }
        }
        return new BodyRequest(req, body);
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
            writeError(res, 401, -32001, "Unauthorized: a valid bearer token is required");
            return;
        }
        HttpServletRequest body = tagged(req);
        if (body == null) {
            writeError(res, 413, -32600, "Request body too large: the limit is " + maxRequestBytes + " bytes");
            return;
        }
        req = body;
        boolean sseStream = "GET".equals(req.getMethod()) && req.getRequestURI().endsWith("/sse");
        // Sessions belong to the identity that opened them (see SessionOwners): another token's
        // session id is answered as unknown, and a new session must fit the caps.
        String identity = tokens.isEmpty() ? "local" : HttpTransport.identity(req.getHeader("Authorization"));
        String uri = req.getRequestURI();
        // a request the SDK refuses anyway (foreign Origin or Host) gets the SDK's own answer, 403/421
        boolean acceptable = acceptable(req);
        boolean opening = sseStream && acceptable;
        if (!acceptable) {
            // nothing below: the SDK refuses it before it reaches a session
        }
        else if (uri.endsWith("/mcp")) {
            String sid = req.getHeader("mcp-session-id");
            if (sid != null) {
                if (!owners.use(identity, sid)) {
                    writeError(res, 404, -32001, "Session not found");
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
                writeError(res, 404, -32001, "Session not found");
                return;
            }
        }
        if (opening) {
            var refusal = owners.open(identity);
            if (refusal.isPresent()) {
                res.setHeader("Retry-After", "5");
                writeError(res, 429, -32000, "Too many sessions: " + refusal.get().why());
                return;
            }
        }
        // An SSE session is owned from the moment its id is written, before the endpoint event
        // reaches the client: its first POST /message may arrive before this filter returns.
        final String owner = identity;
        SessionSniffer sniffer = sseStream && opening ? new SessionSniffer(id -> owners.opened(owner, "sse-" + id))
                : sseStream ? new SessionSniffer(id -> {
                }) : null;
        // likewise a Streamable HTTP session from the moment its id header is set: the client's
        // next POST may come as soon as the initialize answer is flushed
        java.util.concurrent.atomic.AtomicReference<String> openedId = new java.util.concurrent.atomic.AtomicReference<>();
        Consumer<String> sessionHeader = opening && !sseStream ? id -> {
            if (openedId.compareAndSet(null, id)) {
                owners.opened(owner, id);
            }
        } : null;
        ErrorCapture capture = new ErrorCapture(res, sniffer, sessionHeader);
        try {
            chain.doFilter(req, capture);
        }
        finally {
            if (opening && sseStream) {
                if (sniffer.sessionId == null) {
                    owners.abandoned(identity);
                }
                else if (capture.captured()) {
                    owners.end("sse-" + sniffer.sessionId);
                }
            }
            else if (opening) {
                if (openedId.get() == null) {
                    owners.abandoned(identity);
                }
                else if (capture.captured()) {
                    owners.end(openedId.get());
                }
            }
        }
        if (capture.captured()) {
            String msg = message(capture);
            ParseProblem problem = ParseProblem.of(msg);
            if (problem != null) {
                writeError(res, 400, problem.code, problem.message);
            }
            else {
                writeError(res, capture.status, code(capture, msg), msg);
            }
            return;
        }
        if (sniffer != null && req.isAsyncStarted()) {
            // An SSE session lives as long as its stream: when the stream ends, so does the workspace.
            req.getAsyncContext().addListener(new jakarta.servlet.AsyncListener() {
                @Override
                public void onComplete(jakarta.servlet.AsyncEvent e) {
                    sniffer.ended(sessionEnded);
                }

                @Override
                public void onTimeout(jakarta.servlet.AsyncEvent e) {
                    sniffer.ended(sessionEnded);
                }

                @Override
                public void onError(jakarta.servlet.AsyncEvent e) {
                    sniffer.ended(sessionEnded);
                }

                @Override
                public void onStartAsync(jakarta.servlet.AsyncEvent e) {
                }
            });
        }
        if ("DELETE".equals(req.getMethod()) && res.getStatus() < 300) {
            String session = req.getHeader("mcp-session-id");
            if (session != null) {
                sessionEnded.accept(session);
            }
        }
    }

    /** Whether the SDK's Origin and Host checks will let this request through. */
    private boolean acceptable(HttpServletRequest req) {
        java.util.Map<String, List<String>> headers = new java.util.TreeMap<>(String.CASE_INSENSITIVE_ORDER);
        for (String name : java.util.Collections.list(req.getHeaderNames())) {
            headers.put(name, java.util.Collections.list(req.getHeaders(name)));
        }
        try {
            origins.validateHeaders(headers);
            return true;
        }
        catch (ServerTransportSecurityException refused) {
            return false;
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

    private int code(ErrorCapture c, String message) {
        if (message.startsWith("Session ID required")) {
            return -32600; // the SDK says -32601 (method not found), which it is not
        }
        JsonNode body = c.bodyJson(json);
        JsonNode rpc = body == null ? null : body.path("jsonRpcError").path("code");
        if (rpc != null && rpc.isInt()) {
            return rpc.asInt();
        }
        return c.status == 400 ? -32600 : -32000;
    }

    /** The SDK reports a body it could not read with the parser's own words; the client gets JSON-RPC's. */
    private record ParseProblem(int code, String message) {

        private static final List<String> NOT_JSON = List.of("Unexpected character", "Unexpected end-of-input",
                "Unrecognized token", "was expecting", "Illegal unquoted character", "Unexpected close marker",
                "Invalid UTF-8", "Illegal character", "No content to map");
        private static final List<String> NOT_A_MESSAGE = List.of("Cannot deserialize", "Cannot construct",
                "Cannot deserialize JSONRPCMessage", "Unknown message type", "MismatchedInput");

        static ParseProblem of(String message) {
            if (NOT_JSON.stream().anyMatch(message::contains)) {
                return new ParseProblem(-32700, "Parse error: the body is not valid JSON");
            }
            if (NOT_A_MESSAGE.stream().anyMatch(message::contains)) {
                return new ParseProblem(-32600, "Invalid Request: the body is not a JSON-RPC 2.0 message");
            }
            return null;
        }
    }

    /** Reads the session id out of the SSE stream's first event ("endpoint", /message?sessionId=...). */
    private static final class SessionSniffer {

        private static final java.util.regex.Pattern ID = java.util.regex.Pattern.compile("sessionId=([A-Za-z0-9-]+)");
        private final StringBuilder head = new StringBuilder();
        private final Consumer<String> found;
        private volatile String sessionId;

        SessionSniffer(Consumer<String> found) {
            this.found = found;
        }
        private final java.util.concurrent.atomic.AtomicBoolean done = new java.util.concurrent.atomic.AtomicBoolean();

        void saw(char[] cbuf, int off, int len) {
            if (sessionId != null || head.length() > 4096) {
                return;
            }
            head.append(cbuf, off, len);
            java.util.regex.Matcher m = ID.matcher(head);
            if (m.find()) {
                sessionId = m.group(1);
                found.accept(sessionId);
            }
        }

        void ended(Consumer<String> sessionEnded) {
            if (sessionId != null && done.compareAndSet(false, true)) {
                sessionEnded.accept("sse-" + sessionId);
            }
        }
    }

    /** The first line of what the SDK or Jetty meant to say, never a stack trace or a parser dump. */
    private String message(ErrorCapture c) {
        String msg = c.message;
        JsonNode body = c.bodyJson(json);
        if (body != null) {
            JsonNode m = body.path("jsonRpcError").path("message");
            msg = m.isTextual() ? m.asText() : body.path("message").asText(msg);
        }
        if (msg == null || msg.isBlank()) {
            msg = switch (c.status) {
                case 400 -> "Bad Request";
                case 403 -> "Forbidden";
                case 404 -> "Not Found";
                case 405 -> "Method Not Allowed";
                case 406 -> "Not Acceptable";
                case 413 -> "Request too large";
                case 415 -> "Unsupported Media Type";
                case 421 -> "Misdirected Request";
                default -> "Error";
            };
        }
        String first = msg.lines().findFirst().orElse(msg);
        int source = first.indexOf(" at [Source");
        if (source > 0) {
            first = first.substring(0, source);
        }
        int detail = first.indexOf(": Unrecognized");
        if (detail > 0) {
            first = first.substring(0, detail) + ": the body is not valid JSON";
        }
        return first.length() > 300 ? first.substring(0, 300) : first;
    }

    private void writeError(HttpServletResponse res, int status, int code, String message) throws IOException {
        ObjectNode err = json.createObjectNode();
        err.put("jsonrpc", "2.0");
        err.putNull("id");
        err.putObject("error").put("code", code).put("message", message);
        byte[] body = json.writeValueAsBytes(err);
        res.resetBuffer();
        res.setStatus(status);
        res.setContentType("application/json");
        res.setCharacterEncoding("UTF-8");
        res.setContentLength(body.length);
        res.getOutputStream().write(body);
    }

    /** Holds back the body of any response whose status is an error, so it can be replaced whole. */
    private static final class ErrorCapture extends HttpServletResponseWrapper {

        private int status;
        private String message;
        private final ByteArrayOutputStream body = new ByteArrayOutputStream();
        private PrintWriter writer;
        private final SessionSniffer sniffer;
        private PrintWriter sniffing;

        private final Consumer<String> sessionHeader;

        ErrorCapture(HttpServletResponse res, SessionSniffer sniffer, Consumer<String> sessionHeader) {
            super(res);
            this.sniffer = sniffer;
            this.sessionHeader = sessionHeader;
        }

        @Override
        public void setHeader(String name, String value) {
            sawHeader(name, value);
            super.setHeader(name, value);
        }

        @Override
        public void addHeader(String name, String value) {
            sawHeader(name, value);
            super.addHeader(name, value);
        }

        private void sawHeader(String name, String value) {
            if (sessionHeader != null && value != null && "mcp-session-id".equalsIgnoreCase(name)) {
                sessionHeader.accept(value);
            }
        }

        boolean captured() {
            return status >= 400;
        }

        JsonNode bodyJson(ObjectMapper json) {
            if (writer != null) {
                writer.flush();
            }
            try {
                return body.size() == 0 ? null : json.readTree(body.toByteArray());
            }
            catch (IOException e) {
                return null;
            }
        }

        @Override
        public void setStatus(int sc) {
            if (sc >= 400) {
                status = sc;
            }
            else {
                super.setStatus(sc);
            }
        }

        @Override
        public void sendError(int sc) {
            status = sc;
        }

        @Override
        public void sendError(int sc, String msg) {
            status = sc;
            message = msg;
        }

        @Override
        public PrintWriter getWriter() throws IOException {
            if (!captured()) {
                if (sniffer == null) {
                    return super.getWriter();
                }
                if (sniffing == null) {
                    PrintWriter real = super.getWriter();
                    // The SDK's SSE transport writes an event as two writes and a flush, from
                    // whichever thread sends it, with no lock (2.1.0): two answers sent at once
                    // interleave into garbage the client cannot parse, and both are lost. Each
                    // thread's writes are kept apart until its flush, which writes the event whole.
                    sniffing = new PrintWriter(new java.io.Writer() {
                        private final ThreadLocal<StringBuilder> pending = ThreadLocal.withInitial(StringBuilder::new);

                        @Override
                        public void write(char[] cbuf, int off, int len) {
                            sniffer.saw(cbuf, off, len);
                            pending.get().append(cbuf, off, len);
                        }

                        @Override
                        public void flush() {
                            StringBuilder mine = pending.get();
                            String event = mine.toString();
                            mine.setLength(0);
                            synchronized (real) {
                                real.write(event);
                                real.flush();
                            }
                        }

                        @Override
                        public void close() {
                            real.close();
                        }
                    }) {
                        @Override
                        public boolean checkError() {
                            return super.checkError() || real.checkError(); // the SDK's way to see a gone client
                        }
                    };
                }
                return sniffing;
            }
            if (writer == null) {
                writer = new PrintWriter(body, false, StandardCharsets.UTF_8);
            }
            return writer;
        }

        @Override
        public ServletOutputStream getOutputStream() throws IOException {
            if (!captured()) {
                return super.getOutputStream();
            }
            return new ServletOutputStream() {
                @Override
                public void write(int b) {
                    body.write(b);
                }

                @Override
                public boolean isReady() {
                    return true;
                }

                @Override
                public void setWriteListener(WriteListener l) {
                }
            };
        }
    }
}
