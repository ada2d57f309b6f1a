package dev.warden.mcp.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.modelcontextprotocol.json.jackson2.JacksonMcpJsonMapper;
import io.modelcontextprotocol.server.McpAsyncServer;
import io.modelcontextprotocol.server.McpServer;
import io.modelcontextprotocol.server.transport.HttpServletSseServerTransportProvider;
import jakarta.servlet.AsyncContext;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/**
 * The SDK's HTTP+SSE transport (2.1.0) writes an event as two unlocked writes, so two events sent at
 * once interleave; through {@link SerializedSseWriter} they stay whole.
 *
 * <p>Deterministic: the first thread to write an event's {@code data:} line is held (outside any
 * lock) until a second event has begun, which is exactly the moment two senders meet.
 */
@SuppressWarnings("deprecation") // it exercises the SDK's own (deprecated) API on purpose
class SdkSseInterleavingTest {

    /** Holds the first {@code data:} write until two event headers are out; otherwise a PrintWriter. */
    static final class Meeting extends PrintWriter {

        final AtomicBoolean armed = new AtomicBoolean();
        final AtomicBoolean held = new AtomicBoolean();
        final AtomicInteger headers = new AtomicInteger();
        final CountDownLatch secondHeader = new CountDownLatch(1);

        Meeting(PrintWriter out) {
            super(out);
        }

        @Override
        public void write(String s) {
            if (armed.get() && s.startsWith("data: ") && held.compareAndSet(false, true)) {
                try {
                    secondHeader.await(2, TimeUnit.SECONDS); // in vain when the SDK locks around an event
                }
                catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            super.write(s);
            if (armed.get() && s.startsWith("event: ") && headers.incrementAndGet() == 2) {
                secondHeader.countDown();
            }
        }
    }

    /** Two messages sent at once over one SSE session of the SDK; the stream as the client gets it. */
    private static String twoAtOnce(UnaryOperator<PrintWriter> between) throws Exception {
        StringWriter wire = new StringWriter();
        Meeting sdkWriter = new Meeting(between.apply(new PrintWriter(wire)));
        var provider = HttpServletSseServerTransportProvider.builder()
            .jsonMapper(new JacksonMcpJsonMapper(new ObjectMapper()))
            .messageEndpoint("/message")
            .build();
        McpAsyncServer server = McpServer.async(provider).serverInfo("sdk-test", "1").build();
        try {
            provider.service(request(), response(sdkWriter));
            sdkWriter.armed.set(true);
            CountDownLatch go = new CountDownLatch(1);
            List<Thread> senders = new ArrayList<>();
            for (String who : List.of("a", "b")) {
                Thread t = new Thread(() -> {
                    try {
                        go.await();
                        provider.notifyClients("notifications/message", Map.of("from", who)).block();
                    }
                    catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                });
                t.start();
                senders.add(t);
            }
            go.countDown();
            for (Thread t : senders) {
                t.join(10_000);
            }
            sdkWriter.flush();
            assertEquals(0, sdkWriter.secondHeader.getCount(), "the two senders met: " + wire);
            return wire.toString();
        }
        finally {
            server.close();
        }
    }

    /** Each event of the stream, as lines; an event is whole when it has one event: and one data: line. */
    private static List<List<String>> events(String stream) {
        List<List<String>> events = new ArrayList<>();
        for (String block : stream.split("\n\n")) {
            if (!block.isBlank()) {
                events.add(block.lines().toList());
            }
        }
        return events;
    }

    private static boolean allWhole(String stream) {
        return events(stream).stream().allMatch(e -> e.size() == 2 && e.get(0).startsWith("event: ")
                && e.get(1).startsWith("data: "));
    }

    @Test
    void theSdksSseEventsStillInterleaveWhenSentAtOnce() throws Exception {
        String stream = twoAtOnce(w -> w);
        assertTrue(stream.contains("event: endpoint"), stream);
        assertTrue(!allWhole(stream), "the SDK's HTTP+SSE transport now writes each event whole when two are sent "
                + "at once: remove Warden's SerializedSseWriter (compat); the stream was:\n" + stream);
    }

    @Test
    void throughSerializedSseWriterEveryEventStaysWhole() throws Exception {
        String stream = twoAtOnce(real -> SerializedSseWriter.wrap(real, null));
        assertTrue(allWhole(stream), stream);
        assertEquals(3, events(stream).size(), "the endpoint event and both messages: " + stream);
    }

    @Test
    void theTapSeesTheSessionIdAsItGoesBy() throws Exception {
        SseSessionEnd session = new SseSessionEnd();
        StringWriter wire = new StringWriter();
        PrintWriter w = SerializedSseWriter.wrap(new PrintWriter(wire), session);
        w.write("event: endpoint\n");
        w.write("data: /message?sessionId=0b7e-42\n\n");
        assertEquals("0b7e-42", session.sessionId(), "seen before the flush");
        w.flush();
        assertEquals("event: endpoint\ndata: /message?sessionId=0b7e-42\n\n", wire.toString());
    }

    private static HttpServletRequest request() {
        AsyncContext async = proxy(AsyncContext.class, Map.of());
        return proxy(HttpServletRequest.class, Map.of("getMethod", "GET", "getRequestURI", "/sse", "getHeaderNames",
                Collections.emptyEnumeration(), "startAsync", async, "getProtocol", "HTTP/1.1"));
    }

    private static HttpServletResponse response(PrintWriter writer) {
        return proxy(HttpServletResponse.class, Map.of("getWriter", writer));
    }

    /** An interface whose named methods answer as given, and whose others do nothing. */
    @SuppressWarnings("unchecked")
    private static <T> T proxy(Class<T> type, Map<String, Object> answers) {
        return (T) Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] {type}, (self, m, args) -> {
            if (answers.containsKey(m.getName())) {
                return answers.get(m.getName());
            }
            Class<?> r = m.getReturnType();
            if (r == boolean.class) {
                return false;
            }
            if (r == int.class) {
                return 0;
            }
            if (r == long.class) {
                return 0L;
            }
            return r == Object.class && m.getName().equals("toString") ? type.getSimpleName() : null;
        });
    }
}
