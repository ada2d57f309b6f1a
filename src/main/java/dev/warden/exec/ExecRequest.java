package dev.warden.exec;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * What to run. {@code argv[0]} is a program name or an absolute path as seen by the executor;
 * {@code cwd} is relative to the workspace and already checked to stay inside it. {@code files}
 * (relative path to text) are written into the workspace by the executor, inside its confinement,
 * just before the program starts: never by Warden itself as root. {@code cancel} stops it from outside;
 * {@code egress} is the call's network, which the executor attaches to its sandbox's port while the run lasts;
 * {@code live} gets the program's output as the executor drains it (the latest lines of a running call,
 * both streams of a background run); {@code input}, of a background run only (else null), is what its
 * client keeps sending to its stdin after {@code stdin}.
 */
public record ExecRequest(List<String> argv, Path workspace, String cwd, byte[] stdin, Map<String, String> env,
        Map<String, String> files, String language, String code, Cancel cancel, CallEgress egress, LiveOutput live,
        StdinPipe input) {

    public ExecRequest(List<String> argv, Path workspace, String cwd, byte[] stdin, Map<String, String> env,
            Map<String, String> files, String language, String code, Cancel cancel) {
        this(argv, workspace, cwd, stdin, env, files, language, code, cancel, CallEgress.NONE, new LiveOutput(), null);
    }

    /** The same request with the call's network: what its sandbox's connections are judged by. */
    public ExecRequest withEgress(CallEgress e) {
        return new ExecRequest(argv, workspace, cwd, stdin, env, files, language, code, cancel, e, live, input);
    }

    /** The same request run in the background: its output kept in {@code streams}, its stdin kept open to {@code more}. */
    public ExecRequest inBackground(LiveOutput streams, StdinPipe more) {
        return new ExecRequest(argv, workspace, cwd, stdin, env, files, language, code, cancel, egress, streams, more);
    }

    public ExecRequest(List<String> argv, Path workspace, String cwd, byte[] stdin, Map<String, String> env) {
        this(argv, workspace, cwd, stdin, env, Map.of(), null, null, new Cancel());
    }

    public ExecRequest(List<String> argv, Path workspace, String cwd, byte[] stdin, Map<String, String> env,
            Map<String, String> files) {
        this(argv, workspace, cwd, stdin, env, files, null, null, new Cancel());
    }

    public ExecRequest(List<String> argv, Path workspace, String cwd, byte[] stdin, Map<String, String> env,
            Map<String, String> files, Cancel cancel) {
        this(argv, workspace, cwd, stdin, env, files, null, null, cancel);
    }

    /**
     * execute_code: the language and the code itself, for an executor that builds its own command
     * (the container executor compiles and runs in the language's image); argv is then the host
     * interpreter's command, empty for a language that exists only in containers.
     */
    public static ExecRequest code(List<String> argv, Path workspace, byte[] stdin, Map<String, String> env,
            Map<String, String> files, String language, String code, Cancel cancel) {
        return new ExecRequest(argv, workspace, "", stdin, env, files, language, code, cancel);
    }

    public static ExecRequest code(List<String> argv, Path workspace, byte[] stdin, Map<String, String> env,
            Map<String, String> files, String language, String code) {
        return code(argv, workspace, stdin, env, files, language, code, new Cancel());
    }

    public ExecRequest {
        argv = List.copyOf(argv);
        env = Map.copyOf(env);
        files = new java.util.LinkedHashMap<>(files == null ? Map.of() : files);
        stdin = stdin == null ? new byte[0] : stdin;
        cwd = cwd == null ? "" : cwd;
        cancel = cancel == null ? new Cancel() : cancel;
        egress = egress == null ? CallEgress.NONE : egress;
        live = live == null ? new LiveOutput() : live;
    }
}
