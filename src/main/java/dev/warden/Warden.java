package dev.warden;

import dev.warden.instance.StartupFailure;
import dev.warden.operator.OperatorCli;
import dev.warden.config.ConfigException;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Entry point: parse arguments, load config, wire the parts by constructor, start a transport. */
public final class Warden {


    static final String USAGE = """
        usage: java -jar warden.jar [--http HOST:PORT] [--config FILE] [--project DIR] [--workspace DIR] [--audit FILE] [--name NAME]
               java -jar warden.jar approvals list|approve ID [--session]|deny ID   (see `approvals --help`)
               java -jar warden.jar instances list                                    (the servers running here)
               java -jar warden.jar --version                                         (prints warden VERSION)
          (no --http)       serve MCP over stdio
          --http HOST:PORT  serve Streamable HTTP at /mcp and HTTP+SSE at /sse + /message
          --config FILE     YAML laid over the built-in defaults (see config/warden.yaml)
          --project DIR     work in this directory (your project): every session's /workspace, at every
                            tier, as the directory's owner; never deleted (default: an empty one per session)
          --workspace DIR   root of the per-session workspaces (default: a fresh temp dir)
          --audit FILE      audit log (JSON lines; default: in this server's state directory)
          --name NAME       this server's instance id (default http-PORT, or stdio-N: the first free N)
        """;

    record Args(String http, Path config, Path workspace, Path audit, String name, Path project) {
    }

    private static Logger log() {
        return LoggerFactory.getLogger(Warden.class);
    }

    public static void main(String[] argv) {
        // JDK 17 spawns through jspawnhelper (a second exec per process) by default; vfork saves ~1 ms
        // on every run. Read once, when the JDK's process class is first used, so set it first. Later JDKs
        // deprecate VFORK and say so on stderr at every start (JDK 25 with its AOT cache: tools/start.sh).
        if (Runtime.version().feature() <= 21) {
            System.setProperty("jdk.lang.Process.launchMechanism", "VFORK");
        }
        if (argv.length == 1 && (argv[0].equals("--version") || argv[0].equals("-V"))) {
            // before anything else starts (no preload, no logging, no config): a script's version check is instant
            System.out.println("warden " + version());
            System.out.flush();
            return;
        }
        if (argv.length > 0 && OperatorCli.COMMANDS.contains(argv[0])) {
            System.exit(OperatorCli.run(argv, System.out, System.err));
            return;
        }
        Preload.start();
        Args args;
        try {
            args = parse(argv);
        }
        catch (IllegalArgumentException e) {
            System.err.println("warden: " + e.getMessage());
            System.err.print(USAGE);
            System.exit(2);
            return;
        }
        if (args == null) {
            System.err.print(USAGE);
            return;
        }
        try {
            run(args);
            System.exit(0);
        }
        catch (ConfigException | IllegalArgumentException | StartupFailure e) {
            System.err.println("warden: " + e.getMessage());
            System.exit(2);
        }
        catch (Exception | Error e) {
            // one line for the operator; the trace is for a developer, at debug level
            System.err.println("warden: stopped: " + describe(e));
            log().debug("warden stopped", e);
            System.exit(1);
        }
    }

    static Args parse(String[] argv) {
        String http = null;
        Path config = null;
        Path workspace = null;
        Path audit = null;
        String name = null;
        Path project = null;
        for (int i = 0; i < argv.length; i++) {
            String a = argv[i];
            if (a.equals("-h") || a.equals("--help")) {
                return null;
            }
            if (i + 1 >= argv.length) {
                throw new IllegalArgumentException("unknown or incomplete argument: " + a);
            }
            switch (a) {
                case "--http" -> http = argv[++i];
                case "--config" -> config = Path.of(argv[++i]);
                case "--workspace" -> workspace = Path.of(argv[++i]);
                case "--audit" -> audit = Path.of(argv[++i]);
                case "--name" -> name = argv[++i];
                case "--project" -> project = Path.of(argv[++i]);
                default -> throw new IllegalArgumentException("unknown argument: " + a);
            }
        }
        return new Args(http, config, workspace, audit, name, project);
    }

    static void run(Args args) throws Exception {
        WardenServer.run(args);
    }

    /** An exception as one line: its message, or what it is if it has none. */
    static String describe(Throwable e) {
        if (e instanceof java.nio.file.AccessDeniedException a) {
            return "permission denied: " + a.getFile();
        }
        if (e instanceof java.nio.file.NoSuchFileException n) {
            return "no such file or directory: " + n.getFile();
        }
        if (e instanceof java.nio.file.FileSystemException f && f.getReason() != null) {
            return f.getReason() + ": " + f.getFile();
        }
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.getClass().getSimpleName() : m.replace('\n', ' ');
    }

    /**
     * The pom's version: from dev/warden/version.properties (filled in by the build's resource filtering, so
     * it is right from target/classes too), else the jar manifest's Implementation-Version.
     */
    static String version() {
        try (java.io.InputStream in = Warden.class.getResourceAsStream("version.properties")) {
            if (in != null) {
                java.util.Properties p = new java.util.Properties();
                p.load(in);
                String v = p.getProperty("version");
                if (v != null && !v.isBlank() && !v.startsWith("${")) {
                    return v.strip();
                }
            }
        }
        catch (java.io.IOException e) {
            // the manifest below
        }
        String v = Warden.class.getPackage().getImplementationVersion();
        return v == null ? "unknown" : v;
    }
}
