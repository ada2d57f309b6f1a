package dev.warden.exec;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** An executor that can keep a kernel (a live interpreter) in a sandbox of its own: L2's. */
public interface KernelHost {

    /** The languages that have a kernel. */
    List<String> LANGUAGES = List.of("python", "javascript", "bash");

    /**
     * Starts a kernel of {@code language} for the request's workspace and environment, under the
     * executor's isolation, with {@code lifetimeCpuMs} of CPU over its whole life (RLIMIT_CPU; each
     * cell's own CPU limit is {@link Kernel}'s); returns once it has said hello.
     *
     * @throws IOException it could not be started (no slot, a sandbox that failed): nothing is left of it
     */
    Kernel startKernel(ExecRequest request, String language, long lifetimeCpuMs) throws IOException;

    /** The command that starts a kernel inside a sandbox: bash runs kernel/start.sh with the language's program. */
    static List<String> argv(String language) {
        String program = switch (language) {
            case "python" -> "python.py";
            case "javascript" -> "javascript.js";
            case "bash" -> "bash.sh";
            default -> throw new IllegalArgumentException("no kernel for " + language);
        };
        return List.of("/bin/bash", "-c", resource("start.sh"), "warden-kernel", language, resource(program));
    }

    private static String resource(String name) {
        try (InputStream in = KernelHost.class.getResourceAsStream("/kernel/" + name)) {
            if (in == null) {
                throw new IllegalStateException("kernel/" + name + " is missing from the jar");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
