package dev.warden.mcp.compat;

import io.modelcontextprotocol.json.McpJsonMapper;
import io.modelcontextprotocol.json.TypeRef;
import io.modelcontextprotocol.spec.McpSchema;
import io.modelcontextprotocol.spec.McpServerSession;
import io.modelcontextprotocol.spec.McpServerTransport;
import io.modelcontextprotocol.spec.McpServerTransportProvider;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;

/**
 * MCP over a pair of byte streams, one JSON-RPC message a line, that never drops an outgoing message.
 *
 * <p><b>What the SDK does (2.1.0).</b> {@code StdioServerTransportProvider.StdioMcpSessionTransport.sendMessage}
 * hands every outgoing message to one unicast Reactor sink shared by the session. Up to 2.0.x it used
 * {@code tryEmitNext}, which fails at once with {@code FAIL_NON_SERIALIZED} ("Spec. Rule 1.3") when
 * another thread is emitting; 2.1.0 uses {@code emitNext(message, busyLooping(100 ms))}, which spins
 * instead, but still gives up after 100 ms. Either way the SDK logs "Failed to enqueue message" and
 * the message is lost.
 *
 * <p><b>Why that breaks Warden.</b> Answers are sent from whichever thread finishes a call (two tool
 * calls finishing together, a progress notification beside an answer); a lost answer leaves the
 * client waiting until its own timeout. Seen with 100 concurrent calls on one session before 2.1.0
 * (30 to 99 answers lost); with 2.1.0, measured on 2 cores, about 6 of 1000 and 74 of 3000 messages
 * sent at once are still lost, whenever a sender is descheduled mid-emission for 100 ms.
 *
 * <p><b>The workaround.</b> A message is serialised on the sending thread and written whole under one
 * lock, so any number of threads may send at once and each message is on the wire when its
 * {@code Mono} completes. The reading side is the SDK's own shape: one thread reads lines and hands
 * each message to the session, whose handlers answer asynchronously.
 *
 * <p><b>Upstream.</b> <a href="https://github.com/modelcontextprotocol/java-sdk/issues/304">
 * modelcontextprotocol/java-sdk#304</a> ("STDIO Message sending is not thread-safe") and
 * <a href="https://github.com/modelcontextprotocol/java-sdk/issues/686">#686</a> ("... does not support
 * multiple asynchronous tool calls for the same session"), both closed by the busy loop of 2.1.0 (pull
 * requests <a href="https://github.com/modelcontextprotocol/java-sdk/pull/834">#834</a>,
 * <a href="https://github.com/modelcontextprotocol/java-sdk/pull/935">#935</a>), which still drops
 * after 100 ms. No upstream issue found as of 2026-12 for that remaining drop.
 *
 * <p><b>When to remove it.</b> When the SDK's stdio transport waits for a busy sender instead of
 * dropping the message ({@code SdkStdioSendTest} then fails).
 */
public final class SerialStdioTransportProvider implements McpServerTransportProvider {

    private static final Logger log = LoggerFactory.getLogger(SerialStdioTransportProvider.class);

    private final McpJsonMapper json;
    private final InputStream in;
    private final OutputStream out;
    private final int maxLineChars;
    private final Object writeLock = new Object();
    private final AtomicBoolean closing = new AtomicBoolean();
    private final CountDownLatch ended = new CountDownLatch(1);
    private volatile McpServerSession session;

    public SerialStdioTransportProvider(McpJsonMapper json, InputStream in, OutputStream out, int maxLineChars) {
        this.json = json;
        this.in = in;
        this.out = out;
        this.maxLineChars = maxLineChars;
    }

    @Override
    public void setSessionFactory(McpServerSession.Factory factory) {
        Transport transport = new Transport();
        this.session = factory.create(transport);
        Thread reader = new Thread(transport::readLoop, "warden-stdio-in");
        reader.setDaemon(true);
        reader.start();
    }

    @Override
    public Mono<Void> notifyClients(String method, Object params) {
        McpServerSession s = session;
        return s == null ? Mono.error(new IllegalStateException("no session")) : s.sendNotification(method, params);
    }

    @Override
    public Mono<Void> closeGracefully() {
        McpServerSession s = session;
        return s == null ? Mono.empty() : s.closeGracefully();
    }

    /** Blocks until the input has ended and every message read was handed over. */
    public void awaitEnd() throws InterruptedException {
        ended.await();
    }

    private final class Transport implements McpServerTransport {

        /** Messages read, handled in order of arrival; each handler answers on its own time. */
        private final Sinks.Many<McpSchema.JSONRPCMessage> inbound = Sinks.many().unicast().onBackpressureBuffer();

        Transport() {
            // flatMap: many requests in flight at once (the default concurrency, 256); a request
            // beyond that waits in the buffer, it is never dropped.
            Flux<Void> handled = inbound.asFlux().flatMap(m -> session.handle(m).onErrorResume(e -> {
                log.warn("message handling failed: {}", e.toString());
                return Mono.empty();
            }));
            handled.doFinally(s -> ended.countDown()).subscribe();
        }

        void readLoop() {
            try (BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                String line;
                while (!closing.get() && (line = reader.readLine()) != null) {
                    if (line.length() > maxLineChars) {
                        log.warn("a message of {} characters is over the limit and was not read", line.length());
                        continue;
                    }
                    McpSchema.JSONRPCMessage message;
                    try {
                        message = McpSchema.deserializeJsonRpcMessage(json, line);
                    }
                    catch (Exception e) {
                        log.warn("a message could not be read: {}", e.getMessage());
                        continue;
                    }
                    // only this thread emits into the inbound sink, so the emission is serial
                    if (inbound.tryEmitNext(message).isFailure()) {
                        log.error("an incoming message could not be queued; the session ends");
                        break;
                    }
                }
            }
            catch (IOException e) {
                if (!closing.get()) {
                    log.warn("stdin: {}", e.getMessage());
                }
            }
            finally {
                closing.set(true);
                inbound.tryEmitComplete();
            }
        }

        @Override
        public Mono<Void> sendMessage(McpSchema.JSONRPCMessage message) {
            return Mono.fromRunnable(() -> {
                String text;
                try {
                    text = json.writeValueAsString(message);
                }
                catch (IOException e) {
                    throw new IllegalStateException("a message could not be serialised", e);
                }
                // JSON never needs a raw line break; the framing depends on there being none
                byte[] line = (text.replace("\r", "\\r").replace("\n", "\\n") + "\n").getBytes(StandardCharsets.UTF_8);
                synchronized (writeLock) {
                    try {
                        out.write(line);
                        out.flush();
                    }
                    catch (IOException e) {
                        if (!closing.get()) {
                            log.warn("stdout: {}", e.getMessage());
                        }
                        throw new IllegalStateException("stdout is closed", e);
                    }
                }
            });
        }

        @Override
        public <T> T unmarshalFrom(Object data, TypeRef<T> type) {
            return json.convertValue(data, type);
        }

        @Override
        public Mono<Void> closeGracefully() {
            return Mono.fromRunnable(this::close);
        }

        @Override
        public void close() {
            closing.set(true);
        }
    }
}
