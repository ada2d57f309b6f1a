package dev.warden.mcp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.modelcontextprotocol.json.McpJsonMapper;
import io.modelcontextprotocol.spec.McpSchema;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stands between stdin and the SDK's stdio transport. The SDK ends the whole session on the first
 * line it cannot parse, or on one over its size limit: one bad line would cut off the client. The
 * guard checks each line as the SDK reads it, answers anything that is not a well-formed JSON-RPC
 * message with a JSON-RPC error, and hands over only well-formed ones. Output goes through a lock one whole line at
 * a time, so the guard's answers never interleave with the SDK's.
 */
final class StdioGuard {

    private static final Logger log = LoggerFactory.getLogger(StdioGuard.class);

    private final InputStream rawIn;
    private final LineOutput out;
    private final McpJsonMapper mcpJson;
    private final ObjectMapper json;
    private final int maxLineBytes;
    private final CountDownLatch ended = new CountDownLatch(1);
    private final ClientCancels cancels;
    /** A stdio server has exactly one session. */
    private static final String SESSION = "stdio";

    StdioGuard(InputStream rawIn, OutputStream rawOut, McpJsonMapper mcpJson, ObjectMapper json, int maxLineBytes,
            Runnable firstLine, ClientCancels cancels) {
        this.cancels = cancels;
        this.rawIn = rawIn;
        this.out = new LineOutput(rawOut, firstLine);
        this.mcpJson = mcpJson;
        this.json = json;
        this.maxLineBytes = maxLineBytes;
    }

    /**
     * What the SDK reads: only well-formed messages, one per line. The checking happens on the
     * SDK's own reader thread, as it reads: no extra thread or pipe between stdin and the SDK.
     */
    InputStream input() {
        return new Checked();
    }

    /** What the SDK writes to: whole lines only reach stdout. */
    OutputStream output() {
        return out;
    }

    /** Blocks until stdin ends. */
    void awaitEnd() throws InterruptedException {
        ended.await();
    }

    private final class Checked extends InputStream {

        private final byte[] buf = new byte[65536];
        private int pos;
        private int limit;
        private final ByteArrayOutputStream line = new ByteArrayOutputStream();
        private byte[] ready = new byte[0];
        private int readyPos;
        private boolean eof;

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (len == 0) {
                return 0;
            }
            while (readyPos >= ready.length) {
                if (eof) {
                    return -1;
                }
                byte[] next = nextGoodLine();
                if (next == null) {
                    eof = true;
                    ended.countDown();
                    return -1;
                }
                ready = next;
                readyPos = 0;
            }
            int n = Math.min(len, ready.length - readyPos);
            System.arraycopy(ready, readyPos, b, off, n);
            readyPos += n;
            return n;
        }

        /** The next well-formed message with its newline; bad ones are answered and skipped. Null at end. */
        private byte[] nextGoodLine() throws IOException {
            boolean overlong = false;
            while (true) {
                if (pos >= limit) {
                    limit = rawIn.read(buf);
                    pos = 0;
                    if (limit < 0) {
                        limit = 0;
                        byte[] last = line.size() > 0 && !overlong ? check(line.toByteArray()) : null;
                        line.reset();
                        return last;
                    }
                }
                int nl = -1;
                for (int i = pos; i < limit; i++) {
                    if (buf[i] == '\n') {
                        nl = i;
                        break;
                    }
                }
                int endOfChunk = nl < 0 ? limit : nl;
                if (!overlong) {
                    if (line.size() + (endOfChunk - pos) > maxLineBytes) {
                        overlong = true;
                        line.reset();
                    }
                    else {
                        line.write(buf, pos, endOfChunk - pos);
                    }
                }
                pos = nl < 0 ? limit : nl + 1;
                if (nl >= 0) {
                    byte[] good = null;
                    if (overlong) {
                        reject(null, McpSchema.ErrorCodes.INVALID_REQUEST, "message larger than " + maxLineBytes + " bytes");
                    }
                    else {
                        good = check(line.toByteArray());
                    }
                    line.reset();
                    overlong = false;
                    if (good != null) {
                        return good;
                    }
                }
            }
        }
    }

    /** The message, newline-terminated, if it is well-formed; otherwise answered here and null. */
    private byte[] check(byte[] raw) {
        int len = raw.length;
        if (len > 0 && raw[len - 1] == '\r') {
            len--;
        }
        if (len == 0) {
            return null;
        }
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(raw, 0, len)).toString();
        }
        catch (CharacterCodingException e) {
            reject(null, McpSchema.ErrorCodes.PARSE_ERROR, "Parse error: the message is not valid UTF-8");
            return null;
        }
        if (text.isBlank()) {
            return null;
        }
        JsonNode node;
        try {
            node = json.readTree(text);
        }
        catch (IOException e) {
            reject(null, McpSchema.ErrorCodes.PARSE_ERROR, "Parse error: the message is not valid JSON");
            return null;
        }
        JsonNode id = node != null && node.isObject() ? node.get("id") : null;
        String problem = shapeProblem(node);
        if (problem == null) {
            try {
                McpSchema.deserializeJsonRpcMessage(mcpJson, text);
            }
            catch (Exception e) {
                problem = "Invalid Request: the message is not a JSON-RPC 2.0 request, notification or response";
            }
        }
        if (problem != null) {
            boolean isResponseLike = node != null && node.isObject() && !node.has("method");
            if (!isResponseLike || id == null) {
                reject(validId(id) ? id : null, McpSchema.ErrorCodes.INVALID_REQUEST, problem);
            }
            return null;
        }
        if (cancels.inspect(node, SESSION)) {
            try {
                text = new String(ClientCancels.write(json, node), StandardCharsets.US_ASCII); // tagged
            }
            catch (IOException e) {
                reject(validId(id) ? id : null, McpSchema.ErrorCodes.INTERNAL_ERROR, "Internal error");
                return null;
            }
        }
        return (text + "\n").getBytes(StandardCharsets.UTF_8);
    }

    private static String shapeProblem(JsonNode node) {
        if (node == null || !node.isObject()) {
            return node != null && node.isArray() ? "Invalid Request: batches are not supported"
                    : "Invalid Request: a JSON-RPC message must be an object";
        }
        if (!"2.0".equals(node.path("jsonrpc").asText(null))) {
            return "Invalid Request: jsonrpc must be \"2.0\"";
        }
        JsonNode id = node.get("id");
        if (id != null && !validId(id)) {
            return "Invalid Request: id must be a string or a number";
        }
        if (node.has("method")) {
            if (!node.get("method").isTextual()) {
                return "Invalid Request: method must be a string";
            }
            JsonNode params = node.get("params");
            if (params != null && !params.isObject() && !params.isNull()) {
                return "Invalid Request: params must be an object";
            }
            return null;
        }
        if (id == null || !(node.has("result") || node.has("error"))) {
            return "Invalid Request: a message needs a method, or an id with a result or an error";
        }
        return null;
    }

    private static boolean validId(JsonNode id) {
        return id != null && (id.isTextual() || id.isIntegralNumber());
    }

    private void reject(JsonNode id, int code, String message) {
        ObjectNode err = json.createObjectNode();
        err.put("jsonrpc", "2.0");
        if (id == null) {
            err.putNull("id");
        }
        else {
            err.set("id", id);
        }
        err.putObject("error").put("code", code).put("message", message);
        try {
            out.writeLine(json.writeValueAsBytes(err));
        }
        catch (IOException e) {
            log.debug("could not answer a malformed message: {}", e.getMessage());
        }
    }

    /** Stdout, one whole line per write, under one lock. */
    static final class LineOutput extends OutputStream {

        private final OutputStream raw;
        private final ByteArrayOutputStream pending = new ByteArrayOutputStream();
        private Runnable firstLine;

        /** {@code firstLine} runs once, after the first whole line reached stdout (the answer to initialize). */
        LineOutput(OutputStream raw, Runnable firstLine) {
            this.raw = raw;
            this.firstLine = firstLine;
        }

        @Override
        public synchronized void write(int b) throws IOException {
            pending.write(b);
            if (b == '\n') {
                emit();
            }
        }

        @Override
        public synchronized void write(byte[] b, int off, int len) throws IOException {
            int start = off;
            for (int i = off; i < off + len; i++) {
                if (b[i] == '\n') {
                    pending.write(b, start, i + 1 - start);
                    emit();
                    start = i + 1;
                }
            }
            pending.write(b, start, off + len - start);
        }

        synchronized void writeLine(byte[] line) throws IOException {
            raw.write(line);
            raw.write('\n');
            raw.flush();
            written();
        }

        private void emit() throws IOException {
            pending.writeTo(raw);
            pending.reset();
            raw.flush();
            written();
        }

        private void written() {
            Runnable first = firstLine;
            if (first != null) {
                firstLine = null;
                first.run();
            }
        }

        @Override
        public synchronized void flush() throws IOException {
            raw.flush();
        }
    }
}
