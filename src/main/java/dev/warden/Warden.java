package dev.warden;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.warden.approval.ApprovalService;
import dev.warden.audit.AuditLog;
import dev.warden.config.ConfigException;
import dev.warden.config.ConfigLoader;
import dev.warden.config.WardenConfig;
import dev.warden.core.CallPipeline;
import dev.warden.core.OperatorConsole;
import dev.warden.limit.Executions;
import dev.warden.limit.RateLimits;
import dev.warden.exec.DaemonThreads;
import dev.warden.exec.Executor;
import dev.warden.exec.Languages;
import dev.warden.exec.RefusingExecutor;
import dev.warden.exec.SandboxRuntime;
import dev.warden.exec.container.ContainerRuntime;
import dev.warden.mcp.HttpTransport;
import dev.warden.mcp.StdioTransport;
import dev.warden.mcp.WardenTools;
import dev.warden.policy.Policy;
import dev.warden.policy.PolicyLoader;
import dev.warden.policy.Tier;
import dev.warden.sanitize.Sanitizer;
import dev.warden.session.Leftovers;
import dev.warden.session.Volumes;
import dev.warden.session.WorkspaceDirs;
import dev.warden.session.Workspaces;
import io.modelcontextprotocol.json.jackson2.JacksonMcpJsonMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Entry point: parse arguments, load config, wire the parts by constructor, start a transport. */
public final class Warden {

    private static final Pattern SECRET_NAME = Pattern.compile("(?i).*(TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|ACCESS_?KEY|PRIVATE|CREDENTIAL|AUTH).*");

    static final String USAGE = """
        usage: java -jar warden.jar [--http HOST:PORT] [--config FILE] [--workspace DIR] [--audit FILE]
               java -jar warden.jar approvals list|approve ID [--session]|deny ID   (see `approvals --help`)
          (no --http)       serve MCP over stdio
          --http HOST:PORT  serve Streamable HTTP at /mcp and HTTP+SSE at /sse + /message
          --config FILE     YAML laid over the built-in defaults (see config/warden.yaml)
          --workspace DIR   root of the per-session workspaces (default: a fresh temp dir)
          --audit FILE      audit log (JSON lines)
        """;

    record Args(String http, Path config, Path workspace, Path audit) {
    }

    private static Logger log() {
        return LoggerFactory.getLogger(Warden.class);
    }

    public static void main(String[] argv) {
        // JDK 17 spawns through jspawnhelper (a second exec per process) by default; vfork saves ~1 ms
        // on every run. Read once, when the JDK's process class is first used, so set it first.
        System.setProperty("jdk.lang.Process.launchMechanism", "VFORK");
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
        catch (ConfigException | IllegalArgumentException e) {
            System.err.println("warden: " + e.getMessage());
            System.exit(2);
        }
        catch (Exception e) {
            log().error("warden stopped: {}", e.getMessage(), e);
            System.exit(1);
        }
    }

    static Args parse(String[] argv) {
        String http = null;
        Path config = null;
        Path workspace = null;
        Path audit = null;
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
                default -> throw new IllegalArgumentException("unknown argument: " + a);
            }
        }
        return new Args(http, config, workspace, audit);
    }

    static void run(Args args) throws Exception {
        WardenConfig config = new ConfigLoader().load(args.config());
        List<String> tokens = new ArrayList<>(config.http().tokens());
        String envToken = System.getenv("WARDEN_TOKEN");
        if (envToken != null && !envToken.isBlank()) {
            if (envToken.length() < 16) {
                throw new ConfigException("WARDEN_TOKEN needs at least 16 characters", null);
            }
            tokens.add(envToken.strip());
        }
        HttpTransport.Binding binding = args.http() == null ? null : binding(args.http());
        if (binding != null && tokens.isEmpty() && !HttpTransport.isLoopback(binding.host())) {
            throw new ConfigException("refusing to serve HTTP on " + binding.host()
                    + " without a token: anyone who can reach it could run code. Set WARDEN_TOKEN or http.tokens, "
                    + "or bind 127.0.0.1.", null);
        }

        ObjectMapper json = new ObjectMapper();
        Path stateDir = Files.createTempDirectory("warden-state-");
        Files.setAttribute(stateDir, "unix:mode", 0755);
        boolean ownsRoot = args.workspace() == null && config.server().workspaceRoot().isEmpty();
        Path wsRoot = args.workspace() != null ? args.workspace()
                : ownsRoot ? Files.createTempDirectory("warden-ws-") : Path.of(config.server().workspaceRoot());
        // what a kill -9 would leave behind is removed at the next start (Leftovers)
        Leftovers.mark(stateDir);
        if (ownsRoot) {
            Leftovers.mark(wsRoot);
        }
        Path auditFile = args.audit() != null ? args.audit()
                : !config.audit().file().isEmpty() ? Path.of(config.audit().file())
                        : Path.of(System.getProperty("user.home"), ".local", "state", "warden", "audit.jsonl");

        // Start-up on two cores is bound by CPU: what initialize does not need (the sandbox's self-test
        // and pools, docker-java, the operator console) waits until the first answer is out, or 2 s.
        // The first tool call waits for the sandbox if it comes sooner.
        CompletableFuture<Void> answered = new CompletableFuture<>();
        CompletableFuture.delayedExecutor(2, TimeUnit.SECONDS).execute(() -> answered.complete(null));
        // each of those jobs on a thread of its own (the common pool has one thread on two cores)
        java.util.concurrent.ThreadFactory startupThreads = DaemonThreads.named("warden-startup");
        java.util.concurrent.Executor startup = job -> startupThreads.newThread(job).start();
        CompletableFuture<SandboxRuntime> runtime =
                answered.thenApplyAsync(ignored -> SandboxRuntime.create(config, stateDir), startup);
        Policy policy = new Policy(new PolicyLoader().load(
                config.policy().file().isEmpty() ? null : Path.of(config.policy().file()), config.policy().preset()));
        log().info("policy: preset {}{}", policy.preset(),
                config.policy().file().isEmpty() ? "" : ", with " + config.policy().file());
        // L3 looks for the Docker engine in the background too; without one, L1 and L2 serve as ever.
        ContainerRuntime containers = ContainerRuntime.start(config, stateDir, policy::containerLimits,
                policy.containerRuntime(), answered);
        // the workspace quota (a volume per session) is proven and set up in the background too
        CompletableFuture<Volumes> volumes = answered.thenApplyAsync(ignored -> {
            Leftovers.sweep(Path.of(System.getProperty("java.io.tmpdir")));
            Volumes v = Volumes.create(stateDir, config.limits().diskMb());
            if (v.problem() == null) {
                log().info("workspace quota: each session's workspace is a volume of {} MB", config.limits().diskMb());
            }
            else {
                log().warn("workspace quota off: {}; a run can fill the disk the workspaces are on", v.problem());
            }
            return v;
        }, startup);
        Workspaces workspaces = new Workspaces(wsRoot.toAbsolutePath(), ownsRoot, config.sandbox().gid(), volumes,
                ws -> runtime.thenAccept(r -> r.prewarm(ws)), ws -> {
                    containers.forget(ws);
                    runtime.join().forget(ws);
                });
        Path incidents = !config.audit().incidents().isEmpty() ? Path.of(config.audit().incidents())
                : auditFile.toAbsolutePath().resolveSibling("incidents.jsonl");
        AuditLog audit = new AuditLog(auditFile, incidents, config.audit().fsync(), config.audit().maxMb() << 20,
                config.audit().keep(), json);
        Languages languages = new Languages(config.languages(), config.container().languages());
        String operatorToken = operatorToken(config, tokens);
        List<String> secrets = new ArrayList<>(tokens);
        secrets.add(operatorToken);
        Sanitizer sanitizer = new Sanitizer(serverSecrets(secrets),
                Map.of(stateDir.toString(), "<warden>", wsRoot.toAbsolutePath().toString(), "<workspaces>"));
        Executor none = new RefusingExecutor("no executor for this tier is configured on this server");
        ApprovalService approvals = new ApprovalService(policy.approvalTimeout(),
                (request, ruling) -> audit.append(CallPipeline.decisionRecord(request, ruling, sanitizer)));
        Executions executions = new Executions(config.rateLimits().maxConcurrent(), config.rateLimits().queue(),
                config.rateLimits().queueTimeoutMs());
        CallPipeline pipeline = new CallPipeline(policy, workspaces, languages,
                tier -> switch (tier) {
                    case L1 -> runtime.join().inline();
                    case L2 -> runtime.join().sandbox();
                    case L3 -> containers.executor();
                    case L4 -> none;
                }, sanitizer, audit, config.limits(), containers, approvals, new RateLimits(config.rateLimits()),
                executions);
        // a container-only language is offered only when the engine and its image are there
        long probeWaitMs = config.container().probeWaitMs();
        WardenTools tools = new WardenTools(pipeline, config.limits(),
                () -> languages.names(lang -> containers.ready(lang, probeWaitMs)), policy.approvalTimeout(), json);
        HttpTransport.Operator operator = new HttpTransport.Operator(
                new OperatorConsole(approvals, executions, audit, sanitizer), operatorToken);
        Path operatorState = config.operator().stateFile().isEmpty()
                ? Path.of(System.getProperty("user.home"), ".local", "state", "warden", "operator.json")
                : Path.of(config.operator().stateFile());
        String version = version();
        var mapper = new JacksonMcpJsonMapper(json);

        ScheduledExecutorService reaper = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "warden-session-reaper");
            t.setDaemon(true);
            return t;
        });
        CompletableFuture<org.eclipse.jetty.server.Server> operatorOnly = new CompletableFuture<>();
        Runnable shutdown = () -> {
            reaper.shutdownNow();
            approvals.close();
            OperatorCli.forget(operatorState);
            operatorOnly.complete(null); // not started yet: now it never will be
            if (operatorOnly.getNow(null) != null) {
                try {
                    operatorOnly.getNow(null).stop();
                }
                catch (Exception ignored) {
                    // stopping at exit
                }
            }
            workspaces.close();
            containers.close();
            runtime.join().close();
            WorkspaceDirs.delete(stateDir);
            try {
                audit.close();
            }
            catch (Exception ignored) {
                // closing an append-only file: every line was already written
            }
        };
        Thread hook = new Thread(shutdown, "warden-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);

        Logger log = log();
        log.info("warden {}: workspaces under {}, audit to {}, languages {} (in containers only: {})", version, wsRoot,
                auditFile, languages.names(), languages.allNames().subList(languages.names().size(),
                        languages.allNames().size()));
        if (binding == null) {
            String listen = config.operator().listen();
            if (!listen.isEmpty() && !listen.equals("off")) {
                HttpTransport.Binding at = binding(listen);
                if (!HttpTransport.isLoopback(at.host())) {
                    throw new ConfigException("operator.listen must be a loopback address under stdio, not "
                            + at.host(), null);
                }
                answered.thenRunAsync(() -> startOperatorConsole(at, operator, json, operatorState, operatorToken,
                        operatorOnly), startup);
            }
            StdioTransport.run(mapper, json, tools, version, () -> answered.complete(null));
        }
        else {
            long idleNanos = TimeUnit.SECONDS.toNanos(config.server().sessionIdleTimeoutS());
            reaper.scheduleWithFixedDelay(() -> workspaces.expireIdle(idleNanos), 60, 60, TimeUnit.SECONDS);
            HttpTransport http = HttpTransport.start(binding, tokens, config.http().allowedOrigins(),
                    config.http().allowedHosts(), config.http().maxRequestBytes(), mapper, json, tools, version,
                    workspaces::end, operator);
            answered.complete(null); // nothing to wait for under HTTP: set up the rest now
            String host = HttpTransport.isWildcard(binding.host()) ? "127.0.0.1" : binding.host();
            String url = "http://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + http.port() + "/operator";
            OperatorCli.remember(operatorState, url, operatorToken);
            log.info("operator console on {} (token in {})", url, operatorState);
            log.info("serving MCP on http://{}:{}/mcp (SSE: /sse){}", binding.host(), http.port(),
                    tokens.isEmpty() ? "; no token configured, so loopback only" : "; bearer token required");
            http.join();
        }
        Runtime.getRuntime().removeShutdownHook(hook);
        shutdown.run();
    }

    /** The operator console alone (under stdio), on a loopback port; a failure to start is logged, not fatal. */
    private static void startOperatorConsole(HttpTransport.Binding at, HttpTransport.Operator operator, ObjectMapper json,
            Path operatorState, String operatorToken, CompletableFuture<org.eclipse.jetty.server.Server> started) {
        try {
            org.eclipse.jetty.server.Server server = HttpTransport.startOperatorOnly(at, operator, json);
            if (!started.complete(server)) { // shut down meanwhile
                server.stop();
                return;
            }
            int port = ((org.eclipse.jetty.server.ServerConnector) server.getConnectors()[0]).getLocalPort();
            String url = "http://" + at.host() + ":" + port + "/operator";
            OperatorCli.remember(operatorState, url, operatorToken);
            log().info("operator console on {} (token in {})", url, operatorState);
        }
        catch (Exception e) {
            log().error("operator console not started on {}:{}: {}", at.host(), at.port(), e.getMessage());
        }
    }

    /** The operator's token: configured, from WARDEN_OPERATOR_TOKEN, or made now; never one of the client tokens. */
    static String operatorToken(WardenConfig config, List<String> clientTokens) {
        String env = System.getenv("WARDEN_OPERATOR_TOKEN");
        String token = env != null && !env.isBlank() ? env.strip() : config.operator().token();
        if (token == null || token.isEmpty()) {
            byte[] b = new byte[24];
            new java.security.SecureRandom().nextBytes(b);
            return java.util.HexFormat.of().formatHex(b);
        }
        if (token.length() < 16) {
            throw new ConfigException("the operator token needs at least 16 characters", null);
        }
        if (clientTokens.contains(token)) {
            throw new ConfigException("the operator token must differ from every client token: a client must not "
                    + "be able to approve its own calls", null);
        }
        return token;
    }

    static HttpTransport.Binding binding(String spec) {
        int colon = spec.lastIndexOf(':');
        if (colon <= 0 || colon == spec.length() - 1) {
            throw new IllegalArgumentException("--http needs HOST:PORT, e.g. 127.0.0.1:8765");
        }
        String host = spec.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        int port;
        try {
            port = Integer.parseInt(spec.substring(colon + 1));
        }
        catch (NumberFormatException e) {
            throw new IllegalArgumentException("--http port must be a number: " + spec);
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("--http port out of range: " + port);
        }
        return new HttpTransport.Binding(host, port);
    }

    /** Values of the server's own secret-looking variables and tokens: redacted if a run prints them. */
    static List<String> serverSecrets(List<String> tokens) {
        List<String> secrets = new ArrayList<>(tokens);
        Map<String, String> env = new LinkedHashMap<>(System.getenv());
        env.forEach((k, v) -> {
            if (SECRET_NAME.matcher(k).matches() && v != null && v.length() >= 8) {
                secrets.add(v);
            }
        });
        return secrets;
    }

    static String version() {
        String v = Warden.class.getPackage().getImplementationVersion();
        return v == null ? "0.1.0" : v;
    }
}
