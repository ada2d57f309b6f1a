package dev.warden.mcp.compat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import jakarta.servlet.ServletOutputStream;
import jakarta.servlet.WriteListener;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.HttpServletResponseWrapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * Error answers of the SDK's HTTP transports (and of Jetty) replaced by a plain JSON-RPC error: a
 * one-line message, never a stack trace or a parser dump.
 *
 * <p><b>What the SDK does (2.1.0).</b> {@code HttpServletStreamableServerTransportProvider.responseError}
 * and the error paths of {@code HttpServletSseServerTransportProvider.doPost} write
 * {@code jsonMapper.writeValueAsString(mcpError)}: the {@code McpError} <i>exception</i> itself, so the
 * body is {@code {"stackTrace":[...],"jsonRpcError":{...},"message":...,"localizedMessage":...}}, not a
 * JSON-RPC response. A body that is not JSON, or not a JSON-RPC message, is answered with the
 * parser's own words ({@code "Invalid message format: Unexpected character ('n' ...) at [Source: ...]"}),
 * with code -32600 (Streamable HTTP) or -32603 with status 500 (HTTP+SSE), never JSON-RPC's -32700.
 * A request without a session id gets -32601 (method not found).
 *
 * <p><b>Why that breaks Warden.</b> The stack trace shows Warden's and the SDK's internals to any
 * client (unauthenticated ones included, for answers before a session exists), and clients that
 * expect a JSON-RPC error cannot read the answer.
 *
 * <p><b>Parse errors are recognised by the SDK's text.</b> The SDK catches the parser's exception and
 * puts only its message into a new {@code McpError} (no cause, no data), so the exception type never
 * reaches the answer; {@link #parseProblem} matches the parser's phrases, here and only here. The
 * phrases are Jackson's (2.21); {@code CleanErrorBodiesTest} sends each kind of bad body through the
 * real SDK and checks it is still recognised, so a reworded message is noticed.
 *
 * <p><b>Upstream.</b> <a href="https://github.com/modelcontextprotocol/java-sdk/issues/955">
 * modelcontextprotocol/java-sdk#955</a> ("Servlet transports serialize McpError exceptions instead of
 * JSON-RPC error envelopes", open) and
 * <a href="https://github.com/modelcontextprotocol/java-sdk/issues/577">#577</a> ("Simplify error
 * response when accessing MCP without session ID", open). No upstream issue found as of 2026-12 for
 * answering an unparsable body with -32700.
 *
 * <p><b>When to remove it.</b> When the SDK's error bodies are JSON-RPC errors without a stack trace
 * ({@code SdkErrorBodyTest} then fails); the -32700 mapping when the SDK answers a parse error with
 * -32700 itself (the same test says so).
 */
public final class CleanErrorBodies {

    private CleanErrorBodies() {
    }

    /** What a parse failure is answered with: JSON-RPC's code and a message of Warden's. */
    public record ParseProblem(int code, String message) {
    }

    private static final List<String> NOT_JSON = List.of("Unexpected character", "Unexpected end-of-input",
            "Unrecognized token", "was expecting", "Illegal unquoted character", "Unexpected close marker",
            "Invalid UTF-8", "Illegal character", "No content to map");
    private static final List<String> NOT_A_MESSAGE = List.of("Cannot deserialize", "Cannot construct",
            "Cannot deserialize JSONRPCMessage", "Unknown message type", "MismatchedInput");

    /**
     * Whether the SDK's message says the body could not be read (the SDK gives only the parser's
     * words), and what to answer instead; null when it is some other error.
     */
    public static ParseProblem parseProblem(String message) {
        if (NOT_JSON.stream().anyMatch(message::contains)) {
            return new ParseProblem(-32700, "Parse error: the body is not valid JSON");
        }
        if (NOT_A_MESSAGE.stream().anyMatch(message::contains)) {
            return new ParseProblem(-32600, "Invalid Request: the body is not a JSON-RPC 2.0 message");
        }
        return null;
    }

    /**
     * Writes a plain JSON-RPC error (id null) as the whole response, replacing anything buffered.
     * Warden's own refusals (401, 404, 413, 429) use it too.
     */
    public static void writeError(HttpServletResponse res, ObjectMapper json, int status, int code, String message)
            throws IOException {
        ObjectNode err = json.createObjectNode();
        err.put("jsonrpc", "2.0");
        err.putNull("id");
        err.putObject("error").put("code", code).put("message", message);
        send(res, status, json.writeValueAsBytes(err));
    }

    /** Replaces whatever the response held with this JSON body and status. */
    private static void send(HttpServletResponse res, int status, byte[] body) throws IOException {
        res.resetBuffer();
        res.setStatus(status);
        res.setContentType("application/json");
        res.setCharacterEncoding("UTF-8");
        res.setContentLength(body.length);
        res.getOutputStream().write(body);
    }

    /**
     * The response as the SDK should see it: an error status and whatever is written with it are held
     * back (see {@link Capture#replace}); anything else goes through, its writer made by
     * {@code streamWriter} from the real one (null: the real one).
     */
    public static Capture capture(HttpServletResponse res, UnaryOperator<PrintWriter> streamWriter) {
        return new Capture(res, streamWriter);
    }

    /** Holds back the body of any response whose status is an error, so it can be replaced whole. */
    public static final class Capture extends HttpServletResponseWrapper {

        private final HttpServletResponse real;
        private int status;
        private String message;
        private final ByteArrayOutputStream body = new ByteArrayOutputStream();
        private PrintWriter writer;
        private final UnaryOperator<PrintWriter> streamWriter;
        private PrintWriter stream;

        private Capture(HttpServletResponse res, UnaryOperator<PrintWriter> streamWriter) {
            super(res);
            this.real = res;
            this.streamWriter = streamWriter;
        }

        /** Whether the SDK or Jetty answered with an error (held back, not yet sent). */
        public boolean captured() {
            return status >= 400;
        }

        /** Sends the held-back error as a plain JSON-RPC error; only when {@link #captured()}. */
        public void replace(ObjectMapper json) throws IOException {
            JsonNode b = bodyJson(json);
            if (isEnvelope(b)) {
                // already a JSON-RPC error (the 2026-07-28 transport writes them so): its id, code and
                // data are the client's to read; only its message is cut to one line
                ObjectNode err = json.createObjectNode();
                err.put("jsonrpc", "2.0");
                err.set("id", b.get("id"));
                ObjectNode e = err.putObject("error");
                e.put("code", b.get("error").get("code").asInt());
                String m = b.get("error").get("message").asText();
                String first = m.lines().findFirst().orElse("Error");
                e.put("message", first.length() > 300 ? first.substring(0, 300) : first);
                if (b.get("error").has("data")) {
                    e.set("data", b.get("error").get("data"));
                }
                send(real, status, json.writeValueAsBytes(err));
                return;
            }
            String msg = message(json);
            ParseProblem problem = parseProblem(msg);
            if (problem != null) {
                writeError(real, json, 400, problem.code(), problem.message());
            }
            else {
                writeError(real, json, status, code(json, msg), msg);
            }
        }

        /**
         * A plain JSON-RPC error response: {@code jsonrpc}, {@code id} (string, number or null) and an
         * {@code error} of an integer code, a string message and maybe data; nothing else, so neither a
         * serialised exception (its {@code stackTrace}) nor anything in data that looks like one.
         */
        public static boolean isEnvelope(JsonNode b) {
            if (b == null || !b.isObject() || !"2.0".equals(b.path("jsonrpc").asText(null)) || !b.has("id")
                    || !(b.get("id").isNull() || b.get("id").isTextual() || b.get("id").isIntegralNumber())) {
                return false;
            }
            for (var names = b.fieldNames(); names.hasNext();) {
                if (!Set.of("jsonrpc", "id", "error").contains(names.next())) {
                    return false;
                }
            }
            JsonNode e = b.get("error");
            if (e == null || !e.isObject() || !e.path("code").isInt() || !e.path("message").isTextual()) {
                return false;
            }
            for (var names = e.fieldNames(); names.hasNext();) {
                if (!Set.of("code", "message", "data").contains(names.next())) {
                    return false;
                }
            }
            return !e.has("data") || !e.get("data").toString().contains("stackTrace");
        }

        private int code(ObjectMapper json, String message) {
            if (message.startsWith("Session ID required")) {
                return -32600; // the SDK says -32601 (method not found), which it is not
            }
            JsonNode b = bodyJson(json);
            JsonNode rpc = b == null ? null : b.path("jsonRpcError").path("code");
            if (rpc != null && rpc.isInt()) {
                return rpc.asInt();
            }
            return status == 400 ? -32600 : -32000;
        }

        /** The first line of what the SDK or Jetty meant to say, never a stack trace or a parser dump. */
        private String message(ObjectMapper json) {
            String msg = message;
            JsonNode b = bodyJson(json);
            if (b != null) {
                JsonNode m = b.path("jsonRpcError").path("message");
                msg = m.isTextual() ? m.asText() : b.path("message").asText(msg);
            }
            if (msg == null || msg.isBlank()) {
                msg = switch (status) {
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

        private JsonNode bodyJson(ObjectMapper json) {
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
                if (streamWriter == null) {
                    return super.getWriter();
                }
                if (stream == null) {
                    stream = streamWriter.apply(super.getWriter());
                }
                return stream;
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
