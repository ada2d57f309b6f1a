package dev.warden.operator;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.warden.instance.Instance;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * operator.state_file, when configured: a copy of what the running server's instance operator.json
 * says (the console's {@code url} and {@code token}, the server's {@code pid}), mode 0600, for a CLI
 * or a script that was told where to look ({@code --state FILE}). The server writes it when its
 * console is up and removes it at exit if it is still its own.
 */
public final class OperatorStateFile {

    private static final ObjectMapper json = new ObjectMapper();

    private OperatorStateFile() {
    }

    public static void write(Path file, Map<String, Object> instance) {
        Instance.write(file, instance);
    }

    /** Removed if it is still this process's (another server may have written it since). */
    public static void remove(Path file) {
        try {
            Map<String, Object> m = read(file);
            if (String.valueOf(ProcessHandle.current().pid()).equals(String.valueOf(m.get("pid")))) {
                Files.deleteIfExists(file);
            }
        }
        catch (IOException ignored) {
            // not there, or another server's: leave it
        }
    }

    public static Map<String, Object> read(Path file) throws IOException {
        return json.readValue(file.toFile(), new TypeReference<Map<String, Object>>() {
        });
    }
}
