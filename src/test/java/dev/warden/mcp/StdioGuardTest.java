package dev.warden.mcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.modelcontextprotocol.json.jackson2.JacksonMcpJsonMapper;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class StdioGuardTest {

    final ObjectMapper json = new ObjectMapper();

    /** Feeds raw input through the guard: what the SDK would read, and what the guard answered itself. */
    private List<String> run(byte[] input, ByteArrayOutputStream answered) throws Exception {
        StdioGuard guard = new StdioGuard(new ByteArrayInputStream(input), answered, new JacksonMcpJsonMapper(json), json, 1000, () -> { }, new ClientCancels());
        InputStream forwarded = guard.input();
        List<String> lines = new ArrayList<>(new String(forwarded.readAllBytes(), StandardCharsets.UTF_8).lines().toList());
        guard.awaitEnd(); // returns at once: reading to the end is what ends the guard
        return lines;
    }

    @Test
    void goodMessagesPassAndBadOnesAreAnsweredWithoutEndingTheStream() throws Exception {
        ByteArrayOutputStream answered = new ByteArrayOutputStream();
        String good = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}";
        byte[] badUtf8 = {'{', '"', (byte) 0xFF, '"', '}', '\n'};
        String input = "{not json\n" + "[1,2]\n" + "{\"jsonrpc\":\"1.0\",\"id\":2,\"method\":\"ping\"}\n"
                + "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":42}\n" + "x".repeat(2000) + "\n" + "\n";
        ByteArrayOutputStream in = new ByteArrayOutputStream();
        in.writeBytes(input.getBytes(StandardCharsets.UTF_8));
        in.writeBytes(badUtf8);
        in.writeBytes((good + "\n").getBytes(StandardCharsets.UTF_8));
        List<String> forwarded = run(in.toByteArray(), answered);
        assertEquals(List.of(good), forwarded);
        List<JsonNode> errors = new ArrayList<>();
        for (String l : answered.toString(StandardCharsets.UTF_8).lines().toList()) {
            errors.add(json.readTree(l));
        }
        assertEquals(6, errors.size(), answered.toString());
        assertEquals(-32700, errors.get(0).path("error").path("code").asInt());
        assertEquals(3, errors.get(3).path("id").asInt(), "the id of a bad request is echoed when it is valid");
        assertTrue(errors.stream().allMatch(e -> e.path("jsonrpc").asText().equals("2.0")));
    }
}
