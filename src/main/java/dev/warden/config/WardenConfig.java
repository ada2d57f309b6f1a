package dev.warden.config;

import java.util.List;
import java.util.Map;

/** The whole configuration, as read from YAML (snake_case keys). Immutable once loaded. */
public record WardenConfig(Server server, Http http, Operator operator, Audit audit, LimitsConfig limits,
        RateLimitsConfig rateLimits, Sandbox sandbox, PolicyRef policy, Map<String, LanguageConfig> languages,
        Container container, Approvals approvals, Fleet fleet) {

    public WardenConfig {
        fleet = fleet == null ? Fleet.SINGLE : fleet;
    }

    /**
     * @param name this server's instance id (empty: derived)
     * @param stateDir where instances/ID/ lives (empty: XDG default)
     * @param maxSessionsPerClient live MCP sessions one client identity may hold (HTTP; its token)
     * @param maxSessions live MCP sessions of all clients together
     */
    public record Server(String workspaceRoot, long sessionIdleTimeoutS, String name, String stateDir,
            int maxSessionsPerClient, int maxSessions, String projectDir, List<String> projectReadOnly,
            int maxWorkspacesPerClient, long maxWorkspaceTtlS, String logFormat) {

        public Server(String workspaceRoot, long sessionIdleTimeoutS, String name, String stateDir) {
            this(workspaceRoot, sessionIdleTimeoutS, name, stateDir, 8, 64, "", List.of(".git/hooks", ".git/config"), 4,
                    30L * 86400, "text");
        }

        public Server {
            projectReadOnly = projectReadOnly == null ? List.of() : List.copyOf(projectReadOnly);
            logFormat = logFormat == null ? "text" : logFormat;
        }

        /**
         * The launcher's --protect arguments for a project: each top directory of a read-only path pinned
         * first (so it cannot be renamed away with the protection inside), then each path read-only.
         */
        public List<String> projectProtection() {
            java.util.LinkedHashSet<String> pins = new java.util.LinkedHashSet<>();
            for (String p : projectReadOnly) {
                int slash = p.indexOf('/');
                if (slash > 0) {
                    pins.add(p.substring(0, slash));
                }
            }
            List<String> spec = new java.util.ArrayList<>();
            pins.forEach(p -> spec.addAll(List.of("pin", p)));
            projectReadOnly.forEach(p -> spec.addAll(List.of("ro", p)));
            return List.copyOf(spec);
        }
    }

    public record Http(List<String> tokens, List<String> allowedOrigins, List<String> allowedHosts,
            int maxRequestBytes) {
    }

    public record Audit(String file, boolean fsync, String incidents, long maxMb, int keep, boolean failClosed) {
    }

    /**
     * The operator console (/operator) and its API: a token of its own, and where it listens under stdio.
     *
     * @param publicUrl the page as the approving person reaches it (links to an approval's entry); empty: none
     * @param webhook where events are posted, signed
     */
    public record Operator(String token, String listen, String stateFile, String publicUrl, Webhook webhook) {

        public Operator(String token, String listen, String stateFile) {
            this(token, listen, stateFile, "", new Webhook("", "", List.of(), 3000, 3));
        }
    }

    /**
     * A signed JSON POST per event to the operator's receiver.
     *
     * @param url http or https; empty: no webhook
     * @param secret the HMAC-SHA256 key
     * @param events which events are sent (approval_pending, approval_decided, kill_switch)
     * @param timeoutMs each attempt's limit
     * @param retries attempts after a failed one
     */
    public record Webhook(String url, String secret, List<String> events, long timeoutMs, int retries) {

        public static final List<String> EVENTS = List.of("approval_pending", "approval_decided", "kill_switch");

        public Webhook {
            events = events == null ? List.of() : List.copyOf(events);
        }
    }

    /**
     * How a held call reaches a person, beyond the policy's approval timeout.
     *
     * @param onClientDecline {@code deny} or {@code operator}: what a client's decline, cancel or error does
     * @param elicitation {@code form}, {@code url} or {@code auto}: how a client that declared elicitation is asked
     */
    public record Approvals(String onClientDecline, String elicitation) {
    }

    /**
     * Several replicas as one service (docs/FLEET.md). With neither {@code redis} nor {@code postgres.url}
     * set, this server is a single Warden, exactly as without this section.
     *
     * @param replicaId this replica's name in the fleet, on its audit lines and in the shared tables
     *     (empty: the host name, then the port)
     * @param advertiseUrl how the other replicas and a redirected client reach this one (http://HOST:PORT)
     * @param secret shared by the replicas: authenticates their requests to each other (16+ characters)
     * @param redis the Redis of the shared rate limits (redis://HOST:PORT); empty: local limits
     * @param postgres the PostgreSQL of the shared control state
     * @param heartbeatMs how often a replica says it lives (and reads the shared kill switch)
     * @param deadAfterMs a replica not heard from this long is dead: its runs lost, its approvals denied
     */
    public record Fleet(String replicaId, String advertiseUrl, String secret, String redis, Postgres postgres,
            long heartbeatMs, long deadAfterMs) {

        public static final Fleet SINGLE = new Fleet("", "", "", "", new Postgres("", "", "", 4), 1000, 5000);

        public Fleet {
            replicaId = replicaId == null ? "" : replicaId;
            advertiseUrl = advertiseUrl == null ? "" : advertiseUrl;
            secret = secret == null ? "" : secret;
            redis = redis == null ? "" : redis;
            postgres = postgres == null ? SINGLE.postgres() : postgres;
        }

        /** Whether this server is a replica of a fleet at all. */
        public boolean enabled() {
            return !redis.isEmpty() || !postgres.url().isEmpty();
        }
    }

    /** A JDBC URL (jdbc:postgresql://HOST:PORT/DB), its user and password, and the pool's size. */
    public record Postgres(String url, String user, String password, int poolSize) {

        public Postgres {
            url = url == null ? "" : url;
            user = user == null ? "" : user;
            password = password == null ? "" : password;
        }
    }

    /** One token bucket: {@code capacity} calls at once, refilled at {@code refillPerMinute}. 0 capacity: no limit. */
    public record RateConfig(long capacity, long refillPerMinute) {
    }

    /**
     * @param maxConcurrentPerClient of the {@code maxConcurrent} execution places, how many one identity may hold
     * @param queuePerClient of the {@code queue}, how many calls of one identity may wait
     * @param maxCallsPerClient calls one identity may have in flight in any phase (policy, queue, approval, run)
     * @param maxCalls calls of all identities in flight together
     */
    public record RateLimitsConfig(RateConfig perClient, Map<String, RateConfig> perTier, int maxConcurrent, int queue,
            long queueTimeoutMs, int maxConcurrentPerClient, int queuePerClient, int maxCallsPerClient, int maxCalls) {

        public RateLimitsConfig(RateConfig perClient, Map<String, RateConfig> perTier, int maxConcurrent, int queue,
                long queueTimeoutMs) {
            this(perClient, perTier, maxConcurrent, queue, queueTimeoutMs, Math.max(1, (maxConcurrent + 1) / 2),
                    Math.max(0, queue / 2), 64, 256);
        }
    }

    /**
     * @param maxBackgroundTimeoutMs the wall limit of a background run (and the most it may ask for)
     * @param maxBackgroundPerSession background runs one session may have running at once
     * @param maxBackground background runs of all sessions running at once
     * @param backgroundBufferBytes per stream of a background run: the latest bytes kept for its client
     * @param artifactsWalkMs the most the walk for a run's changed files may take (0: no artifacts)
     * @param maxImages images a run wrote sent back as MCP image content, at most (0: none)
     * @param maxImageBytes the largest image sent back so
     * @param maxKernelsPerSession live kernels (execute_code with kernel) one session may hold
     * @param maxKernels live kernels of all sessions together (each holds a sandbox slot)
     * @param kernelIdleTimeoutS a kernel no cell used for this long is ended
     * @param kernelCpuS the CPU time a kernel may use over its whole life (each cell has cpu_ms)
     */
    public record LimitsConfig(long timeoutMs, long maxTimeoutMs, long cpuMs, int memoryMb, int pids, int outputBytes,
            int fileSizeMb, int openFiles, int tmpMb, int stdinBytes, int codeBytes, int commandBytes,
            int filesBytes, int envEntries, int diskMb, long maxBackgroundTimeoutMs, int maxBackgroundPerSession,
            int maxBackground, int backgroundBufferBytes, long artifactsWalkMs, int maxImages, int maxImageBytes,
            int maxKernelsPerSession, int maxKernels, long kernelIdleTimeoutS, long kernelCpuS) {
    }

    /**
     * @param shareSessionNetwork the runs of a session share one network namespace (loopback only)
     * @param sessionUidBase the first of the uids a session's runs have (one per live session, host-wide)
     * @param sessionUids how many there are
     * @param environment what L2 runs see as /usr: {@code warden} (the tree exported from the image
     *     warden/env, at {@code environmentDir}) or {@code host} (the host's own /usr)
     * @param environmentDir where tools/build-images.sh exports Warden's environment
     * @param warmInterpreters whether a pre-created sandbox may have its python or javascript interpreter
     *     started too, after a stateless execute_code call in that language
     */
    public record Sandbox(String bwrap, int uidBase, int gid, int slots, int warmPerSession, int warmMax,
            String cgroupRoot, String cgroupName, boolean shareSessionNetwork, int sessionUidBase, int sessionUids,
            String environment, String environmentDir, boolean warmInterpreters) {

        public static final String ENV_WARDEN = "warden";
        public static final String ENV_HOST = "host";

        public Sandbox(String bwrap, int uidBase, int gid, int slots, int warmPerSession, int warmMax,
                String cgroupRoot, String cgroupName, boolean shareSessionNetwork) {
            this(bwrap, uidBase, gid, slots, warmPerSession, warmMax, cgroupRoot, cgroupName, shareSessionNetwork,
                    100_000, 4096, ENV_WARDEN, "/var/cache/warden/env/current", true);
        }
    }

    /** Which policy applies: an operator file on top of the built-in config/policy.yaml, and the preset. */
    public record PolicyRef(String file, String preset) {
    }

    /**
     * The L3 engine: where Docker answers, how images are named, warm containers per session, and how
     * each language compiles and runs inside its image. The limits per language are policy
     * ({@code containers:} in policy.yaml).
     */
    public record Container(String dockerHost, String imagePrefix, String label, int uid, int maxRunning,
            Map<String, Integer> pool, int warmMax, String cgroupParent, int tmpMb, long probeWaitMs,
            Map<String, ContainerLanguage> languages) {
    }

    /** How one language runs in its container: {code}, {source} and {class} are replaced per call. */
    public record ContainerLanguage(List<String> aliases, String source, List<String> compile, List<String> run,
            Map<String, String> env) {
    }

    public record LanguageConfig(List<String> aliases, List<String> command, Map<String, String> env) {
    }
}
