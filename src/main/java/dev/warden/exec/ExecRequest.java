package dev.warden.exec;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * What to run. {@code argv[0]} is a program name or an absolute path as seen by the executor;
 * {@code cwd} is relative to the workspace and already checked to stay inside it.
 */
public record ExecRequest(List<String> argv, Path workspace, String cwd, byte[] stdin, Map<String, String> env) {

    public ExecRequest {
        argv = List.copyOf(argv);
        env = Map.copyOf(env);
        stdin = stdin == null ? new byte[0] : stdin;
        cwd = cwd == null ? "" : cwd;
    }
}
