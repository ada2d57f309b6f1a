package dev.warden.exec;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The one request a sandbox stub ({@code warden-spawn --request}) serves: options and argv as
 * NUL-terminated tokens after a decimal length line. The stub reads exactly this many bytes, so
 * the program's stdin follows directly. Used by the L2 sandbox and by the L3 container's stub alike.
 */
public final class StubRequest {

    private final List<String> tokens = new ArrayList<>();

    public StubRequest option(String name, String value) {
        tokens.add(name);
        tokens.add(value);
        return this;
    }

    public StubRequest argv(List<String> argv) {
        tokens.add("--");
        tokens.addAll(argv);
        return this;
    }

    /** The tokens as they will be sent, in order (the isolation plan's golden tests read them). */
    public List<String> tokens() {
        return List.copyOf(tokens);
    }

    public byte[] encode() {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        for (String t : tokens) {
            byte[] b = t.getBytes(StandardCharsets.UTF_8);
            for (byte x : b) {
                if (x == 0) {
                    // A NUL would split one argument into two: refused earlier, asserted here.
                    throw new IllegalArgumentException("NUL byte in an argument");
                }
            }
            body.writeBytes(b);
            body.write(0);
        }
        byte[] head = (body.size() + "\n").getBytes(StandardCharsets.US_ASCII);
        ByteArrayOutputStream all = new ByteArrayOutputStream(head.length + body.size());
        all.writeBytes(head);
        all.writeBytes(body.toByteArray());
        return all.toByteArray();
    }
}
