package dev.warden;

import dev.warden.instance.StartupFailure;
import dev.warden.instance.Instance;
import dev.warden.operator.OperatorCli;
import dev.warden.fleet.FleetControl;
import dev.warden.fleet.Replica;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.warden.approval.ApprovalService;
import dev.warden.approval.ClientDecline;
import dev.warden.audit.AuditLog;
import dev.warden.config.ConfigException;
import dev.warden.config.ConfigLoader;
import dev.warden.config.WardenConfig;
import dev.warden.pipeline.CallPipeline;
import dev.warden.operator.OperatorConsole;
import dev.warden.operator.Webhook;
import dev.warden.mcp.ElicitationMode;
import dev.warden.limit.CallAdmission;
import dev.warden.limit.Executions;
import dev.warden.limit.RateLimits;
import dev.warden.fleet.RedisBuckets;
import dev.warden.exec.DaemonThreads;
import dev.warden.fleet.FleetDb;
import dev.warden.fleet.FleetHealth;
import dev.warden.exec.EgressPorts;
import dev.warden.exec.Executor;
import dev.warden.exec.Languages;
import dev.warden.exec.RefusingExecutor;
import dev.warden.exec.host.SandboxRuntime;
import dev.warden.exec.container.ContainerRuntime;
import dev.warden.mcp.HttpTransport;
import dev.warden.mcp.StdioTransport;
import dev.warden.mcp.WardenTools;
import dev.warden.metrics.Live;
import dev.warden.metrics.MetricsServlet;
import dev.warden.metrics.WardenMetrics;
import dev.warden.policy.Policy;
import dev.warden.policy.PolicyLoader;
import dev.warden.egress.Addresses;
import dev.warden.egress.EgressProxy;
import dev.warden.egress.NetworkPolicy;
import dev.warden.sanitize.Sanitizer;
import dev.warden.session.Leftovers;
import dev.warden.session.Volumes;
import dev.warden.session.WorkspaceDirs;
import dev.warden.session.Workspaces;
import dev.warden.session.UidLeases;
import dev.warden.session.DurableStore;
import dev.warden.call.Tenants;
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

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One running Warden. It owns every part it starts (the instance lease, the audit log, the state
 * directory, the sandbox and container runtimes, the workspaces, the transports, the scheduler of
 * idle sessions) and closes them in reverse order: the last thing started, the flow of calls, is
 * the first to stop. Stopping has two phases: first every call in flight is answered (new calls
 * refused, held ones denied, running ones stopped, a few seconds for their answers and audit
 * lines), then each part is closed, the transports before the workspaces and sandboxes they use,
 * the audit log and the instance lease last. {@link Warden#main} only parses and starts it.
 *
 * <p>Thread pools: the scheduler of idle sessions is made here; every other pool belongs to the
 * part that uses it (the sandbox and container runtimes, the approval service, the audit writer,
 * the call threads of {@link WardenTools}, Jetty) and is shut down by that part's close.
 */
final class WardenServer implements AutoCloseable {

    /** A part this server owns, and how it is closed. */
    private record Owned(String name, Closer close) {
    }

    /** Closes one part; a failure is logged and the next part is closed all the same. */
    @FunctionalInterface
    interface Closer {
        void close() throws Exception;
    }

    /** What serving is once everything is wired: returns when the transport ends. */
    @FunctionalInterface
    private interface Serving {
        void serve() throws Exception;
    }

    private static final Pattern SECRET_NAME = Pattern.compile("(?i).*(TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|ACCESS_?KEY|PRIVATE|CREDENTIAL|AUTH).*");

    private final Deque<Owned> owned = new ArrayDeque<>();
    private final AtomicBoolean closed = new AtomicBoolean();
    /** The fleet's one pool of its PostgreSQL (readiness, control state, routing); null without one. */
    private FleetDb fleetDb;
    private final java.util.concurrent.CountDownLatch done = new java.util.concurrent.CountDownLatch(1);

    private static Logger log() {
        return LoggerFactory.getLogger(WardenServer.class);
    }

    /** Starts a server and serves until its transport ends (stdin closed, HTTP stopped) or the JVM is told to stop. */
    static void run(Warden.Args args) throws Exception {
        WardenServer server = new WardenServer();
        Serving serving;
        try {
            serving = server.start(args);
        }
        catch (Exception | Error e) {
            server.close();
            throw e;
        }
        // The hook stays: a SIGTERM while the transport's end is closing everything waits for that
        // close to finish (close() is once, and a second caller waits), instead of the JVM exiting
        // half way and leaving mounts and cgroups for the next start to sweep.
        Runtime.getRuntime().addShutdownHook(new Thread(server::close, "warden-shutdown"));
        try {
            serving.serve();
        }
        finally {
            server.close();
        }
    }

    /** Owns {@code part}: it is closed (by {@code close}) after every part owned later. */
    /**
     * The egress proxy, or no egress (no proxy, no network at all) when the policy switches it off or
     * it cannot start: said in the log, and runs then simply have no way out.
     */
    /** The operator's project directory (--project, else server.project_dir), checked now; null for none. */
    private static Workspaces.Project project(Warden.Args args, WardenConfig config) {
        Path dir = args.project() != null ? args.project()
                : config.server().projectDir().isEmpty() ? null : Path.of(config.server().projectDir());
        if (dir == null) {
            return null;
        }
        try {
            return Workspaces.Project.of(dir);
        }
        catch (java.io.IOException e) {
            throw new StartupFailure(e.getMessage(), e);
        }
    }

    private static EgressPorts startEgress(NetworkPolicy network) {
        if (!network.enabled()) {
            log().info("network egress off (network.enabled: false): runs have no network");
            return EgressPorts.NONE;
        }
        try {
            EgressProxy p = new EgressProxy(network, EgressProxy.rootFor(ProcessHandle.current().pid()));
            log().info("network egress: proxy ready; allowed {}, presets {}", network.allow(), network.presetActions());
            return p;
        }
        catch (java.io.IOException | RuntimeException e) {
            log().warn("network egress off: the proxy did not start ({}); runs have no network", e.getMessage());
            return EgressPorts.NONE;
        }
    }

    private <T> T own(String name, T part, PartCloser<T> close) {
        synchronized (this) {
            if (!closed.get()) {
                owned.push(new Owned(name, () -> close.close(part)));
                return part;
            }
        }
        // told to stop while it was starting: this part goes at once, and the start ends here
        try {
            close.close(part);
        }
        catch (Exception e) {
            log().warn("stopping the {}: {}", name, Warden.describe(e));
        }
        throw new IllegalStateException("Warden was told to stop while it was starting");
    }

    @FunctionalInterface
    private interface PartCloser<T> {
        void close(T part) throws Exception;
    }

    /** A scheduler of daemon threads, owned: shut down (running tasks interrupted) when its turn comes. */
    private ScheduledExecutorService scheduler(String name) {
        ScheduledExecutorService s = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        });
        return own(name, s, ScheduledExecutorService::shutdownNow);
    }

    /**
     * The first thing to stop, owned last: every call in flight is answered before anything it
     * uses goes away. New calls are refused (answered), held ones denied, running ones stopped,
     * then a few seconds for their answers and audit lines.
     */
    private void quiesce(WardenTools tools, ApprovalService approvals, Executions executions, CallPipeline pipeline) {
        own("calls in flight", tools, t -> {
            t.stopAccepting();
            approvals.close();
            executions.stopAll("Warden is shutting down");
            if (!t.drain(java.time.Duration.ofSeconds(10))) {
                log().warn("{} calls were still in flight at shutdown", t.inFlight());
            }
            // background runs were stopped with the rest: their ends are audited before the audit closes
            int left = pipeline.awaitBackground(java.time.Duration.ofSeconds(10));
            if (left > 0) {
                log().warn("{} background runs had not ended at shutdown", left);
            }
        });
    }

    /** Closes every part in reverse order of start; once: whoever calls second (the shutdown hook, or the end of serving) waits for it. */
    @Override
    public void close() {
        boolean first;
        synchronized (this) {
            first = closed.compareAndSet(false, true);
        }
        if (!first) {
            awaitClosed();
            return;
        }
        try {
            closeEach();
        }
        finally {
            done.countDown();
        }
    }

    /** Another thread is closing: wait for it (bounded: a part that never returns must not hold the JVM forever). */
    private void awaitClosed() {
        try {
            if (!done.await(60, TimeUnit.SECONDS)) {
                log().warn("stopping took longer than 60 s; exiting anyway");
            }
        }
        catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void closeEach() {
        for (;;) {
            Owned o;
            synchronized (this) {
                o = owned.poll();
            }
            if (o == null) {
                return;
            }
            try {
                o.close().close();
            }
            catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            catch (Exception e) {
                log().warn("stopping the {}: {}", o.name(), Warden.describe(e));
            }
        }
    }

    private static void stopOperatorOnly(CompletableFuture<HttpTransport.OperatorOnly> operatorOnly) throws Exception {
        operatorOnly.complete(null); // not started yet: now it never will be
        HttpTransport.OperatorOnly s = operatorOnly.getNow(null);
        if (s != null) {
            s.stop();
        }
    }

    /**
     * Wires every part, owning each as it is made, and returns how it serves. A failure half way
     * closes what was already started (in reverse), then says why.
     */
    private Serving start(Warden.Args args) throws Exception {
        WardenConfig config = new ConfigLoader().load(args.config());
        LogSetup.format(config.server().logFormat());
        Workspaces.Project project = project(args, config); // refused now, before anything is set up
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

        Path stateRoot = Instance.stateRoot(config.server().stateDir());
        if (binding != null) {
            portFree(binding, stateRoot); // said now, before anything is set up that would have to be torn down
        }
        // this server's own directory: its lock, operator.json for the CLI, by default its audit files
        String name = args.name() != null ? args.name() : config.server().name().isEmpty() ? null
                : config.server().name();
        // last to go: a server taking this id over finds the audit file closed
        Instance instance = own("instance", Instance.claim(stateRoot, name,
                binding == null ? "stdio" : "http", binding == null ? 0 : binding.port()), i -> i.close());
        Path auditFile = args.audit() != null ? args.audit()
                : !config.audit().file().isEmpty() ? Path.of(config.audit().file())
                        : instance.dir().resolve("audit.jsonl");
        Path incidents = !config.audit().incidents().isEmpty() ? Path.of(config.audit().incidents())
                : auditFile.toAbsolutePath().resolveSibling("incidents.jsonl");
        ObjectMapper json = new ObjectMapper();
        AuditLog audit = own("audit log", openAudit(auditFile, incidents, config, json), a -> a.close());
        if (binding != null) {
            FleetRouting.requireSecret(config.fleet()); // routing between replicas needs it (FLEET-ROUTING.md)
        }
        // a replica of a fleet: what its readiness probe checks (nothing of it with the fleet off)
        FleetHealth fleetHealth = fleetHealth(config, binding);
        // No sandbox here (no bubblewrap, not root, no cgroups): docker-only mode, in which calls the
        // policy sends to L1 or L2 run in containers; the container runtime says in one line whether
        // it found an engine, or what to install. Without root, workspaces are this user's own.
        String hostProblem = SandboxRuntime.prerequisites(config.sandbox());
        boolean unprivileged = WorkspaceDirs.effectiveUid() != 0;
        int[] ownIds = WorkspaceDirs.ownIds();
        int wsGid = unprivileged && ownIds != null ? ownIds[1] : config.sandbox().gid();
        if (project != null && unprivileged) {
            throw new StartupFailure("--project needs Warden started as root (each session's view of the project is a "
                    + "bind mount, and its runs take the owner's uid); this server runs as uid "
                    + WorkspaceDirs.effectiveUid() + ".\nStart it as root, or without --project (server.project_dir)", null);
        }

        Path stateDir;
        try {
            stateDir = own("state directory", Files.createTempDirectory("warden-state-"), WorkspaceDirs::delete);
            Files.setAttribute(stateDir, "unix:mode", 0755);
        }
        catch (java.io.IOException e) {
            throw new StartupFailure("cannot create a directory in " + System.getProperty("java.io.tmpdir") + " ("
                    + Warden.describe(e) + "): start java with -Djava.io.tmpdir=DIR naming a writable directory", e);
        }
        boolean ownsRoot = args.workspace() == null && config.server().workspaceRoot().isEmpty();
        Path wsRoot = args.workspace() != null ? args.workspace()
                : ownsRoot ? Files.createTempDirectory("warden-ws-") : Path.of(config.server().workspaceRoot());
        if (!ownsRoot && !unprivileged) { // without root the runs are this user: it reaches its own directories
            reachableBySandbox(wsRoot, config.sandbox().gid());
        }
        // what a kill -9 would leave behind is removed at the next start (Leftovers)
        Leftovers.mark(stateDir);
        if (ownsRoot) {
            Leftovers.mark(wsRoot);
        }

        // Start-up on two cores is bound by CPU: what initialize does not need (the sandbox's self-test
        // and pools, docker-java, the operator console) waits until the first answer is out, or 2 s.
        // The first tool call waits for the sandbox if it comes sooner.
        CompletableFuture<Void> answered = new CompletableFuture<>();
        CompletableFuture.delayedExecutor(2, TimeUnit.SECONDS).execute(() -> answered.complete(null));
        // each of those jobs on a thread of its own (the common pool has one thread on two cores)
        java.util.concurrent.ThreadFactory startupThreads = DaemonThreads.named("warden-startup");
        java.util.concurrent.Executor startup = job -> startupThreads.newThread(job).start();
        Policy policy = new Policy(new PolicyLoader().load(
                config.policy().file().isEmpty() ? null : Path.of(config.policy().file()), config.policy().preset()));
        log().info("policy: preset {}{}", policy.preset(),
                config.policy().file().isEmpty() ? "" : ", with " + config.policy().file());
        NetworkPolicy network = NetworkPolicy.parse(policy.networkSection(), policy.preset());
        // the egress proxy starts in the background too; the sandboxes open their ports on it
        CompletableFuture<EgressPorts> egress = own("egress proxy", answered.thenApplyAsync(ignored -> startEgress(network),
                startup), e -> {
                    if (e.join() instanceof EgressProxy p) {
                        p.close();
                    }
                });
        // who each workspace's runs are (one uid per session, or the project's owner), for every tier
        Tenants tenants = new Tenants();
        CompletableFuture<SandboxRuntime> runtime = own("sandbox runtime", hostProblem != null
                ? CompletableFuture.completedFuture(SandboxRuntime.absent(hostProblem))
                : answered.thenApplyAsync(ignored -> SandboxRuntime.create(config, stateDir, egress.join(), tenants),
                        startup),
                r -> r.join().close());
        // L3 looks for the Docker engine in the background too; without one, L1 and L2 serve as ever.
        ContainerRuntime containers = own("container runtime", ContainerRuntime.start(config, stateDir,
                policy::containerLimits, policy.containerRuntime(), answered, port -> egress.join().open(port), tenants,
                hostProblem),
                c -> c.close());
        // the workspace quota (a volume per session) is proven and set up in the background too
        CompletableFuture<Volumes> volumes = answered.thenApplyAsync(ignored -> {
            Leftovers.sweep(Path.of(System.getProperty("java.io.tmpdir")));
            if (unprivileged && config.limits().diskMb() > 0) {
                if (containers.unavailable("bash").isPresent()) {
                    return Volumes.none("Warden runs without root"); // nothing runs: the one line said what to install
                }
                log().warn("workspace quota off: a volume per session needs root (a loop-mounted ext4 image); each "
                        + "workspace is a plain directory bound into its containers, so a run can fill the disk it is "
                        + "on (each file is still capped at limits.file_size_mb, and a container's /tmp at "
                        + "container.tmp_mb)");
                return Volumes.none("Warden runs without root");
            }
            Volumes v = Volumes.create(stateDir, config.limits().diskMb());
            if (v.problem() == null) {
                log().info("workspace quota: each session's workspace is a volume of {} MB", config.limits().diskMb());
            }
            else {
                log().warn("workspace quota off: {}; a run can fill the disk the workspaces are on", v.problem());
            }
            return v;
        }, startup);
        Workspaces workspaces;
        try {
            workspaces = own("workspaces", new Workspaces(wsRoot.toAbsolutePath(), ownsRoot, wsGid,
                    volumes, ws -> runtime.thenAccept(r -> r.prewarm(ws)), ws -> {
                        containers.forget(ws);
                        runtime.join().forget(ws);
                    }), w -> w.close());
            workspaces.onWorkspaceEnd(ws -> runtime.join().endSession(ws));
            var sc = config.sandbox();
            List<String> guard = config.server().projectProtection();
            workspaces.protection(view -> runtime.join().protect(view, guard), config.server().projectReadOnly());
            // without root, every session's runs are this user (no uid can be leased), and there are
            // no durable workspaces (each has a uid of its own)
            workspaces.tenancy(new Workspaces.Tenancy(tenants, unprivileged ? null
                    : new UidLeases(UidLeases.defaultDir(), sc.sessionUidBase(), sc.sessionUids()), project));
            if (!unprivileged) {
                // durable workspaces: under STATE/workspaces, their uids just above the session uids
                workspaces.durable(new DurableStore(stateRoot.resolve("workspaces"), sc.sessionUidBase()
                        + sc.sessionUids(), sc.sessionUids()), config.server().maxWorkspacesPerClient(),
                        config.server().maxWorkspaceTtlS() * 1000);
            }
            scheduler("warden-workspace-expiry").scheduleWithFixedDelay(workspaces::expireDurable, 5, 60,
                    TimeUnit.SECONDS);
            if (project != null) {
                log().info("project mode: every session works in {} as uid {} gid {}", project.dir(), project.uid(),
                        project.gid());
            }
        }
        catch (java.io.IOException e) {
            throw new StartupFailure("cannot use the workspace root " + wsRoot + " (" + Warden.describe(e)
                    + "): pass --workspace DIR or server.workspace_root naming a directory Warden can create", e);
        }
        Languages languages = new Languages(config.languages(), config.container().languages());
        String operatorToken = operatorToken(config, tokens);
        List<String> secrets = new ArrayList<>(tokens);
        secrets.add(operatorToken);
        String webhookSecret = webhookSecret(config);
        if (webhookSecret != null) {
            secrets.add(webhookSecret);
        }
        Sanitizer sanitizer = new Sanitizer(serverSecrets(secrets),
                Map.of(stateDir.toString(), "<warden>", wsRoot.toAbsolutePath().toString(), "<workspaces>"));
        Executor none = new RefusingExecutor("no executor for this tier is configured on this server");
        // The console's address once it serves (published for the CLI), null if it never will (stdio with
        // operator.listen off, or it failed to start): an operator channel is live once it has an address.
        // It starts a moment after the transport; a client's decline that comes sooner waits for it.
        CompletableFuture<String> console = new CompletableFuture<>();
        ApprovalService approvals = new ApprovalService(policy.approvalTimeout(),
                (request, ruling) -> audit.append(CallPipeline.decisionRecord(request, ruling, sanitizer)),
                ClientDecline.parse(config.approvals().onClientDecline()), () -> consoleLive(console));
        var rl = config.rateLimits();
        // Under stdio there is one client: a share of the places would only leave the rest idle.
        boolean oneClient = binding == null;
        Executions executions = new Executions(rl.maxConcurrent(), oneClient ? rl.maxConcurrent() : rl.maxConcurrentPerClient(),
                rl.queue(), oneClient ? rl.queue() : rl.queuePerClient(), rl.queueTimeoutMs());
        // what runs may not reach through the proxy: this machine's addresses, and Warden's own ports always
        Addresses addresses = Addresses.ofThisMachine();
        if (binding != null) {
            addresses.ownPort(binding.port());
        }
        if (!config.operator().listen().isEmpty() && !config.operator().listen().equals("off")) {
            addresses.ownPort(binding(config.operator().listen()).port());
        }
        // fleet.redis: the buckets are the fleet's, in Redis (fail closed while it cannot be reached)
        RedisBuckets shared = config.fleet().redis().isEmpty() ? null
                : own("shared rate limits", RedisBuckets.open(config.fleet().redis()), RedisBuckets::close);
        RateLimits rates = shared == null ? new RateLimits(config.rateLimits()) : new RateLimits(config.rateLimits(), shared);
        CallAdmission admission = new CallAdmission(rl.maxCallsPerClient(), rl.maxCalls());
        CallPipeline pipeline = new CallPipeline(policy, workspaces, languages,
                tier -> switch (tier) {
                    // docker-only: Routing sends L1 and L2 calls to L3; the file tools' and artifacts' own L2
                    // runs come here and run in containers too
                    case L1 -> hostProblem != null ? containers.executor() : runtime.join().inline();
                    case L2 -> hostProblem != null ? containers.executor() : runtime.join().sandbox();
                    case L3 -> containers.executor();
                    case L4 -> none;
                }, sanitizer, audit, config.limits(), containers, approvals, rates,
                executions, java.time.Clock.systemUTC(), network, addresses);
        // a container-only language is offered only when the engine and its image are there
        long probeWaitMs = config.container().probeWaitMs();
        WardenTools tools = new WardenTools(pipeline, config.limits(),
                () -> languages.names(lang -> containers.ready(lang, probeWaitMs)), policy.approvalTimeout(), json,
                admission);
        // URL-mode elicitation links to the operator page's public address, only while a console serves
        String publicUrl = config.operator().publicUrl();
        tools.elicitation(new ElicitationMode(config.approvals().elicitation(),
                () -> publicUrl.isEmpty() || console.getNow(null) == null ? null : publicUrl));
        OperatorConsole operatorConsole = new OperatorConsole(approvals, executions,
                new OperatorConsole.Kernels(pipeline::kernels, pipeline::endKernel), audit, sanitizer);
        if (webhookSecret != null) {
            Webhook webhook = own("webhook", new Webhook(config.operator().webhook(), webhookSecret, instance.id(),
                    config.operator().publicUrl(), audit, sanitizer, json), Webhook::close);
            approvals.watch(webhook);
            operatorConsole.onKillSwitch(webhook::killSwitch);
            log().info("webhook: {} to {}", config.operator().webhook().events(),
                    java.net.URI.create(config.operator().webhook().url()).getRawAuthority());
        }
        // in a fleet: this replica joins (after cleaning up what a kill -9 of its id left), writes its runs and held
        // calls to the shared state, and its console shows and acts on every replica; nothing of it otherwise
        FleetControl fleet = startFleet(config, binding, audit, executions, approvals, workspaces, pipeline,
                operatorConsole);
        String version = Warden.version();
        // the metrics' ~100 classes load once the first answer is out, like the rest initialize does not need;
        // a call that ends (or a scrape that comes) sooner waits for them, so none goes uncounted
        CompletableFuture<WardenMetrics> metrics = answered.thenApplyAsync(ignored -> metrics(version, pipeline, audit,
                tools, admission, rates, executions, approvals, runtime, containers, egress, fleet), startup)
                .exceptionally(e -> {
                    log().error("metrics off: {}", Warden.describe(e)); // never a reason to refuse calls
                    return null;
                });
        // its HMAC keys load the JCE (~60 classes): made after the first answer too
        CompletableFuture<dev.warden.operator.OperatorAuth> operatorAuth = answered.thenApplyAsync(
                ignored -> new dev.warden.operator.OperatorAuth(operatorToken), startup);
        if (shared != null) {
            metrics.thenAccept(m -> {
                if (m != null) {
                    m.sharedRateLimits(() -> shared.reachable() ? 1 : 0, rates::storeRefusals);
                }
            });
        }
        pipeline.meter((tool, tier, status, nanos) -> {
            WardenMetrics m = metrics.join();
            if (m != null) {
                m.ended(tool, tier, status, nanos);
            }
        });
        HttpTransport.Operator operator = new HttpTransport.Operator(operatorConsole, operatorToken,
                new MetricsServlet(metrics::join, header -> operatorAuth.join().bearer(header)));
        // operator.state_file: the console's address and token written there too (the instance's is always written)
        Path operatorState = config.operator().stateFile().isEmpty() ? null : Path.of(config.operator().stateFile());

        if (operatorState != null) {
            own("operator state file", operatorState, OperatorCli::forget);
        }
        Logger log = log();
        log.info("warden {}: instance {} ({}), workspaces under {}, audit to {}, languages {} (in containers only: {})",
                version, instance.id(), instance.dir(), wsRoot, auditFile, languages.names(), languages.allNames().subList(languages.names().size(),
                        languages.allNames().size()));
        if (binding == null) {
            String listen = config.operator().listen();
            if (!listen.isEmpty() && !listen.equals("off")) {
                HttpTransport.Binding at = binding(listen);
                if (!HttpTransport.isLoopback(at.host())) {
                    throw new ConfigException("operator.listen must be a loopback address under stdio, not "
                            + at.host(), null);
                }
                CompletableFuture<HttpTransport.OperatorOnly> operatorOnly = own("operator console",
                        new CompletableFuture<>(), WardenServer::stopOperatorOnly);
                answered.thenRunAsync(() -> startOperatorConsole(at, operator, json, instance, operatorState,
                        operatorToken, operatorOnly, console), startup);
            }
            else {
                console.complete(null);
            }
            quiesce(tools, approvals, executions, pipeline);
            return () -> StdioTransport.run(json, tools, version, () -> answered.complete(null));
        }
        if (fleet != null) {
            // routing: sessions, executions, held calls and workspaces of other replicas go to them (FLEET-ROUTING.md)
            tools.fleet(own("fleet routing", FleetRouting.start(config.fleet(), fleet), FleetRouting::close));
        }
        long idleNanos = TimeUnit.SECONDS.toNanos(config.server().sessionIdleTimeoutS());
        return () -> {
            HttpTransport http;
            try {
                http = own("HTTP transport", HttpTransport.start(binding, tokens, config.http().allowedOrigins(),
                        config.http().allowedHosts(), config.http().maxRequestBytes(), json, tools, version,
                        workspaces::end, operator, new HttpTransport.SessionCaps(config.server().maxSessionsPerClient(),
                                config.server().maxSessions())), h -> h.close());
            }
            catch (Exception e) {
                throw bindFailure(binding, e);
            }
            addresses.ownPort(http.port());
            if (fleet != null && config.fleet().advertiseUrl().isEmpty() && binding.port() == 0) {
                fleet.replica().url("http://" + (HttpTransport.isWildcard(binding.host()) ? "127.0.0.1" : binding.host())
                        + ":" + http.port());
            }
            // /readyz: 503 while stopping (new calls refused); a shared service of the fleet out of reach is said
            // as degraded, still 200: every replica lacks it alike, and each call is refused with the reason
            http.ready(() -> !tools.accepting() ? "stopping" : null,
                    () -> fleetHealth == null ? null : fleetHealth.problem());
            ScheduledExecutorService reaper = scheduler("warden-session-reaper");
            reaper.scheduleWithFixedDelay(() -> workspaces.expireIdle(idleNanos), 60, 60, TimeUnit.SECONDS);
            reaper.scheduleWithFixedDelay(() -> http.expireIdle(idleNanos), 60, 60, TimeUnit.SECONDS);
            quiesce(tools, approvals, executions, pipeline);
            answered.complete(null); // nothing to wait for under HTTP: set up the rest now
            String host = HttpTransport.isWildcard(binding.host()) ? "127.0.0.1" : binding.host();
            String url = "http://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + http.port() + "/operator";
            String address = (host.contains(":") ? "[" + host + "]" : host) + ":" + http.port();
            publish(instance, operatorState, Map.of("address", address, "mcp", "http://" + address + "/mcp",
                    "url", url, "token", operatorToken));
            console.complete(url);
            log.info("operator console on {} (token in {})", url, instance.dir().resolve(Instance.STATE_FILE));
            log.info("serving MCP on http://{}:{}/mcp (SSE: /sse){}", binding.host(), http.port(),
                    tokens.isEmpty() ? "; no token configured, so loopback only" : "; bearer token required");
            http.join();
        };
    }

    /**
     * With the fleet on: its PostgreSQL (connected and migrated now: a replica that cannot see the shared state
     * does not start) and the check of it and of Redis behind /readyz, both owned. Null with the fleet off.
     */
    private FleetHealth fleetHealth(WardenConfig config, HttpTransport.Binding binding) {
        WardenConfig.Fleet fleet = config.fleet();
        if (!fleet.enabled()) {
            return null;
        }
        FleetDb db = null;
        if (!fleet.postgres().url().isEmpty()) {
            try {
                db = own("fleet database", FleetDb.open(fleet.postgres(),
                        Replica.idFor(fleet, binding == null ? 0 : binding.port())), FleetDb::close);
            }
            catch (RuntimeException e) {
                throw new StartupFailure("cannot use the fleet's PostgreSQL (" + Warden.describe(e)
                        + ").\nCheck fleet.postgres (url, user, WARDEN_POSTGRES_PASSWORD) and that the database runs", e);
            }
        }
        fleetDb = db;
        return own("fleet health", FleetHealth.start(db == null ? null : db.dataSource(), fleet.redis(),
                fleet.heartbeatMs()), FleetHealth::close);
    }

    /**
     * The metrics, counting audit writes from now (calls are counted through the pipeline's meter); the rest is
     * read from each part when scraped, 0 for a part still starting (the sandbox, the egress proxy) or
     * without an engine (containers).
     */
    private static WardenMetrics metrics(String version, CallPipeline pipeline, AuditLog audit, WardenTools tools,
            CallAdmission admission, RateLimits rates, Executions executions, ApprovalService approvals,
            CompletableFuture<SandboxRuntime> runtime, ContainerRuntime containers, CompletableFuture<EgressPorts> egress,
            FleetControl fleet) {
        java.util.function.ToIntFunction<java.util.function.ToIntFunction<SandboxRuntime>> sandbox = f -> {
            SandboxRuntime r = runtime.isDone() && !runtime.isCompletedExceptionally() ? runtime.join() : null;
            return r == null ? 0 : f.applyAsInt(r);
        };
        java.util.function.ToLongFunction<java.util.function.ToLongFunction<EgressProxy>> proxy = f ->
                egress.isDone() && !egress.isCompletedExceptionally() && egress.join() instanceof EgressProxy p
                        ? f.applyAsLong(p) : 0;
        WardenMetrics m = new WardenMetrics(version, new Live(tools::inFlight, () -> executions.running().size(),
                executions::queued, () -> approvals.pending().size(), () -> pipeline.kernels().size(),
                () -> sandbox.applyAsInt(SandboxRuntime::slots), () -> sandbox.applyAsInt(SandboxRuntime::slotsFree),
                () -> sandbox.applyAsInt(SandboxRuntime::warmSandboxes), () -> containers.counts().existing(),
                () -> containers.counts().warm(), () -> containers.counts().running(),
                () -> proxy.applyAsLong(EgressProxy::bytesIn), () -> proxy.applyAsLong(EgressProxy::bytesOut),
                () -> proxy.applyAsLong(EgressProxy::refusals), rates::refusals, admission::refusals));
        audit.onWrite(m::auditWritten);
        if (fleet != null) {
            m.fleet(() -> fleet.console().replicas().stream().map(r -> new dev.warden.metrics.FleetLoad(r.id(), r.state(),
                    r.running(), r.pending(), r.sessions())).toList());
        }
        return m;
    }

    /**
     * The fleet's shared control state, when fleet.postgres.url is set: this replica joins, its runs and held
     * calls are written to the index, its console reaches every replica; null (nothing started) otherwise.
     * In a fleet (Redis or PostgreSQL), every audit and incident line names this replica.
     */
    FleetControl startFleet(WardenConfig config, HttpTransport.Binding binding, AuditLog audit,
            Executions executions, ApprovalService approvals, Workspaces workspaces, CallPipeline pipeline,
            OperatorConsole console) {
        WardenConfig.Fleet fc = config.fleet();
        if (!fc.enabled()) {
            return null;
        }
        int port = binding == null ? 0 : binding.port();
        String id = Replica.idFor(fc, port);
        audit.replica(id);
        if (fc.postgres().url().isEmpty()) {
            return null;
        }
        String url = !fc.advertiseUrl().isEmpty() ? fc.advertiseUrl() : binding == null ? "stdio"
                : "http://" + (HttpTransport.isWildcard(binding.host()) ? "127.0.0.1" : binding.host()) + ":" + port;
        FleetControl fleet;
        try {
            fleet = own("fleet", FleetControl.start(fleetDb, fc, id, url, executions, approvals, audit,
                    workspaces::sessions), FleetControl::close);
        }
        catch (RuntimeException e) {
            if (e instanceof IllegalStateException && String.valueOf(e.getMessage()).startsWith("Warden was told")) {
                throw e;
            }
            throw new StartupFailure("cannot join the fleet as replica " + id + ": " + Warden.describe(e)
                    + ".\nCheck fleet.postgres (url, user, WARDEN_POSTGRES_PASSWORD), or leave the fleet section out to "
                    + "run a single server", e);
        }
        pipeline.index(fleet.index());
        fleet.index().details(FleetOperator::details);
        console.fleet(new FleetOperator(fleet.console()));
        log().info("fleet: replica {} at {}; shared control state in PostgreSQL", id, url);
        return fleet;
    }

    /** The operator console alone (under stdio), on a loopback port; a failure to start is logged, not fatal. */
    private static void startOperatorConsole(HttpTransport.Binding at, HttpTransport.Operator operator, ObjectMapper json,
            Instance instance, Path operatorState, String operatorToken,
            CompletableFuture<HttpTransport.OperatorOnly> started, CompletableFuture<String> console) {
        try {
            HttpTransport.OperatorOnly server = HttpTransport.startOperatorOnly(at, operator, json);
            if (!started.complete(server)) { // shut down meanwhile
                server.stop();
                return;
            }
            int port = server.port();
            String url = "http://" + at.host() + ":" + port + "/operator";
            publish(instance, operatorState, Map.of("url", url, "token", operatorToken));
            console.complete(url);
            log().info("operator console on {} (token in {})", url, instance.dir().resolve(Instance.STATE_FILE));
        }
        catch (Exception e) {
            console.complete(null);
            log().error("operator console not started on {}:{}: {}", at.host(), at.port(), e.getMessage());
        }
    }

    /** Whether the operator console serves: it has an address (waiting up to 10 s for one that is starting). */
    private static boolean consoleLive(CompletableFuture<String> console) {
        try {
            return console.get(10, TimeUnit.SECONDS) != null;
        }
        catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
        catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            return false;
        }
    }

    /** The console's address and token: into the instance's operator.json, and operator.state_file if set. */
    private static void publish(Instance instance, Path operatorState, Map<String, Object> console) {
        instance.publish(console);
        if (operatorState != null) {
            OperatorCli.remember(operatorState, instance.info());
        }
    }

    private static AuditLog openAudit(Path auditFile, Path incidents, WardenConfig config, ObjectMapper json) {
        try {
            return new AuditLog(auditFile, incidents, config.audit().fsync(), config.audit().maxMb() << 20,
                    config.audit().keep(), config.audit().failClosed(), json);
        }
        catch (java.io.IOException e) {
            throw new StartupFailure("cannot write the audit log " + auditFile + " or " + incidents + " ("
                    + Warden.describe(e) + ", as uid " + WorkspaceDirs.effectiveUid() + ").\nPass --audit FILE (or audit.file, "
                    + "audit.incidents) naming a file this user can write", e);
        }
    }

    /** A clear line now rather than a bind failure after the rest is set up. */
    static void portFree(HttpTransport.Binding b, Path stateRoot) {
        if (b.port() == 0) {
            return;
        }
        try (java.net.ServerSocket s = new java.net.ServerSocket()) {
            s.setReuseAddress(true);
            s.bind(new java.net.InetSocketAddress(b.host(), b.port()));
        }
        catch (java.io.IOException e) {
            Instance.Live other = Instance.liveAt(stateRoot.resolve("instances").resolve("http-" + b.port()));
            if (other != null) {
                throw new StartupFailure("cannot serve HTTP on port " + b.port() + ": another Warden (pid " + other.pid()
                        + ", instance " + other.id() + ") serves it.\nPick another port with --http HOST:PORT, or stop "
                        + "that one", e);
            }
            throw bindFailure(b, e);
        }
    }

    static StartupFailure bindFailure(HttpTransport.Binding b, Throwable e) {
        String at = (b.host().contains(":") ? "[" + b.host() + "]" : b.host()) + ":" + b.port();
        for (Throwable t = e; t != null; t = t.getCause()) {
            String m = String.valueOf(t.getMessage());
            if (t instanceof java.net.BindException && m.contains("in use")) {
                return new StartupFailure("cannot serve HTTP on " + at + ": the port is in use by another program "
                        + "(`java -jar warden.jar instances list` shows Warden servers).\nPick another port with --http "
                        + "HOST:PORT, or stop what holds it", e);
            }
            if (t instanceof java.net.BindException && m.contains("ermission")) {
                return new StartupFailure("cannot serve HTTP on " + at + ": ports below 1024 need root; pick a port "
                        + "above 1024 with --http HOST:PORT", e);
            }
            if (t instanceof java.net.BindException && m.contains("assign")) {
                return new StartupFailure("cannot serve HTTP on " + at + ": " + b.host() + " is not an address of "
                        + "this host; bind 127.0.0.1 or one of its own addresses", e);
            }
            if (t instanceof java.net.UnknownHostException || t instanceof java.nio.channels.UnresolvedAddressException
                    || m.contains("Unresolved")) {
                return new StartupFailure("cannot serve HTTP on " + at + ": the host name " + b.host()
                        + " does not resolve; use an IP address such as 127.0.0.1", e);
            }
        }
        return new StartupFailure("cannot serve HTTP on " + at + ": " + Warden.describe(e), e);
    }

    /**
     * The sandbox's uids own nothing on the host: bwrap opens the workspace as one of them, so every
     * directory above the root must let others (or the sandbox's group) through. Said at start-up,
     * rather than as a failed first call.
     */
    static void reachableBySandbox(Path wsRoot, int gid) {
        for (Path p = wsRoot.toAbsolutePath().normalize().getParent(); p != null; p = p.getParent()) {
            if (!Files.isDirectory(p)) {
                continue; // created later with the default mode
            }
            try {
                int mode = (Integer) Files.getAttribute(p, "unix:mode");
                int group = (Integer) Files.getAttribute(p, "unix:gid");
                if ((mode & 01) == 0 && !((mode & 010) != 0 && group == gid)) {
                    throw new StartupFailure("the workspace root " + wsRoot + " cannot be reached by the sandbox's "
                            + "uids: " + p + " has mode " + String.format("%04o", mode & 07777) + ".\nRun chmod o+x " + p
                            + ", or pass --workspace DIR (or server.workspace_root) below directories others may enter", null);
                }
            }
            catch (java.io.IOException e) {
                throw new StartupFailure("cannot check the workspace root " + wsRoot + ": " + Warden.describe(e), e);
            }
        }
    }

    /** The webhook's signing secret (WARDEN_WEBHOOK_SECRET, else the config's), or null: no webhook. */
    static String webhookSecret(WardenConfig config) {
        if (config.operator().webhook().url().isEmpty()) {
            return null;
        }
        String env = System.getenv("WARDEN_WEBHOOK_SECRET");
        return env != null && !env.isBlank() ? env.strip() : config.operator().webhook().secret();
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
}
