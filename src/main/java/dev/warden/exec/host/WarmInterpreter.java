package dev.warden.exec.host;

import dev.warden.exec.ExecRequest;
import dev.warden.exec.Limits;
import dev.warden.exec.StubRequest;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * An interpreter started ahead of its call in a pre-created sandbox, waiting for its code: the stub
 * has already served a request whose program is the interpreter with a loader in place of the code
 * ({@code python3 -c LOADER}, {@code node -e LOADER}). The loader reads {@link #frame} from fd 0,
 * exactly, then runs the code as {@code -c} / {@code -e} would, so the call's stdin follows it.
 *
 * <p>Whether a call may use one is one comparison ({@link #fits}): the stub request the call would
 * send cold, with the loader as its program, must be token for token the one the interpreter was
 * started with. Rlimits, umask, directory, environment: whatever differs (another language, other
 * limits, {@code files} to write first, which are never part of a warm request) makes the call start
 * cold; so does javascript that mentions {@code import}. So a warm call's program sees exactly what a
 * cold one's would.
 *
 * <p>Only the language's shape is taken from the call it follows (its interpreter command, limits and
 * configured environment); never its code, stdin or files.
 *
 * @param argv the interpreter's command with the loader as its code
 */
record WarmInterpreter(List<String> argv) {

    private static final String PYTHON = resource("warm-python.py");
    private static final String NODE = resource("warm-node.js");

    WarmInterpreter {
        argv = List.copyOf(argv);
    }

    /**
     * The warm form of an execute_code call's interpreter, if it has one: its program is {@code PYTHON -c
     * CODE} or {@code NODE -e CODE} (the configured commands of python and javascript). Bash is not
     * warmed: its start costs about as little as the stub's exec. (A call with {@code files} has one
     * too, so the session's next sandbox is warm; the call itself never {@link #fits}.)
     */
    static Optional<WarmInterpreter> of(ExecRequest r) {
        List<String> argv = r.argv();
        if (r.code() == null || r.language() == null || argv.size() != 3
                || !argv.get(2).equals(r.code())) {
            return Optional.empty();
        }
        String program = Path.of(argv.get(0)).getFileName().toString();
        String loader = null;
        if (argv.get(1).equals("-c") && program.matches("python3(\\.\\d+)?")) {
            loader = PYTHON;
        }
        else if (argv.get(1).equals("-e") && (program.equals("node") || program.equals("nodejs"))) {
            loader = NODE;
        }
        return loader == null ? Optional.empty() : Optional.of(new WarmInterpreter(List.of(argv.get(0), argv.get(1), loader)));
    }

    /**
     * The stub request that starts this call's interpreter ahead of it: its cold request with the
     * loader in place of the code (same rlimits, umask, directory and environment; no files). Empty when
     * the call has no warm form.
     */
    static Optional<StubRequest> request(ExecRequest r, Limits limits, boolean egress, int relayPort, String home) {
        return shape(r).map(s -> BwrapPlan.request(s, limits, egress, relayPort, home));
    }

    /**
     * The call's shape, all a warm interpreter is started from: its interpreter with the loader, its
     * directory and configured environment; nothing of its code, stdin or files. Empty without a warm form.
     */
    static Optional<ExecRequest> shape(ExecRequest r) {
        return of(r).map(w -> new ExecRequest(w.argv(), r.workspace(), r.cwd(), null, r.env(), java.util.Map.of()));
    }

    /**
     * Whether a call may run in an interpreter started with {@code started} (the tokens of its stub
     * request): its own warm request, made for the same sandbox, is exactly that one.
     */
    static boolean fits(List<String> started, ExecRequest r, Limits limits, boolean egress, int relayPort,
            String home) {
        // files are written by the stub before the program starts: an interpreter already started wrote none
        return r.files().isEmpty() && !importsDynamically(r) && request(r, limits, egress, relayPort, home).map(s -> s.tokens().equals(started)).orElse(false);
    }

    /**
     * Javascript that may {@code import()}: node runs it only through its own {@code -e} loader (node 18,
     * Warden's environment, lets code run by {@code vm} import only behind a flag), so it starts cold.
     */
    private static boolean importsDynamically(ExecRequest r) {
        return r.argv().size() == 3 && r.argv().get(1).equals("-e") && r.code() != null && r.code().contains("import");
    }

    /** What the loader reads before the call's stdin: "{@code <length>\n}" and the code in UTF-8. */
    static byte[] frame(String code) {
        byte[] body = code.getBytes(StandardCharsets.UTF_8);
        byte[] head = (body.length + "\n").getBytes(StandardCharsets.US_ASCII);
        byte[] all = new byte[head.length + body.length];
        System.arraycopy(head, 0, all, 0, head.length);
        System.arraycopy(body, 0, all, head.length, body.length);
        return all;
    }

    private static String resource(String name) {
        try (InputStream in = WarmInterpreter.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("missing resource " + name);
            }
            // the comments stay: a loader is read once per interpreter start, and says what it is in ps
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
