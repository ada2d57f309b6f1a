package dev.warden.config;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Reads the defaults built into the jar, lays an operator's file over them key by key, and refuses
 * at start-up anything unknown or out of range: a typo must not silently leave a default in force.
 */
public final class ConfigLoader {

    public static final String DEFAULTS_RESOURCE = "/config/warden.yaml";

    private final ObjectMapper yaml = new ObjectMapper(new YAMLFactory())
        .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
        .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
        .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES);

    public WardenConfig load(Path operatorFile) {
        return load(operatorFile, System.getenv());
    }

    /**
     * The fleet's variables that override the file (so one ConfigMap serves every replica of a StatefulSet, each
     * pod naming itself through the downward API): variable name to the key under {@code fleet:}.
     * WARDEN_POSTGRES_PASSWORD is read where the pool is made (FleetDb), never copied into the config.
     */
    static final Map<String, String> FLEET_ENV = Map.of("WARDEN_REPLICA_ID", "replica_id",
            "WARDEN_ADVERTISE_URL", "advertise_url", "WARDEN_FLEET_SECRET", "secret");

    /** As {@link #load(Path)}, with {@code env} as the process environment. */
    WardenConfig load(Path operatorFile, Map<String, String> env) {
        JsonNode merged = defaults();
        if (operatorFile != null) {
            JsonNode overlay;
            try {
                overlay = yaml.readTree(Files.readString(operatorFile));
            }
            catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                var at = e.getLocation();
                throw new ConfigException("cannot parse config " + operatorFile
                        + (at == null ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr()) + ": "
                        + ConfigProblem.firstLine(e.getOriginalMessage()), e);
            }
            catch (java.nio.file.NoSuchFileException e) {
                throw new ConfigException("config " + operatorFile + " does not exist", e);
            }
            catch (java.nio.file.AccessDeniedException e) {
                throw new ConfigException("config " + operatorFile + " is not readable by this user", e);
            }
            catch (IOException e) {
                throw new ConfigException("cannot read config " + operatorFile + ": " + e.getMessage(), e);
            }
            if (overlay != null && !overlay.isNull() && !overlay.isMissingNode()) {
                if (!overlay.isObject()) {
                    throw new ConfigException("config " + operatorFile + " must be a YAML mapping", null);
                }
                merge((ObjectNode) merged, overlay, "");
            }
        }
        FLEET_ENV.forEach((variable, key) -> {
            String value = env.get(variable);
            if (value != null && !value.isBlank() && merged.get("fleet") instanceof ObjectNode fleet) {
                fleet.put(key, value.strip());
            }
        });
        WardenConfig config;
        try {
            config = yaml.treeToValue(merged, WardenConfig.class);
        }
        catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new ConfigException("invalid config" + (operatorFile == null ? "" : " " + operatorFile) + ": "
                    + ConfigProblem.describe(e, merged), e);
        }
        validate(config);
        return config;
    }

    private JsonNode defaults() {
        try (InputStream in = ConfigLoader.class.getResourceAsStream(DEFAULTS_RESOURCE)) {
            if (in == null) {
                throw new ConfigException("built-in defaults missing from the jar: " + DEFAULTS_RESOURCE, null);
            }
            return yaml.readTree(in);
        }
        catch (IOException e) {
            throw new ConfigException("built-in defaults unreadable", e);
        }
    }

    /** Mappings merge key by key; scalars and lists replace. The languages map merges per language. */
    private static void merge(ObjectNode base, JsonNode overlay, String where) {
        Iterator<Map.Entry<String, JsonNode>> it = overlay.properties().iterator();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            JsonNode existing = base.get(e.getKey());
            if (existing != null && existing.isObject() && e.getValue().isObject()) {
                merge((ObjectNode) existing, e.getValue(), where + e.getKey() + ".");
            }
            else {
                base.set(e.getKey(), e.getValue());
            }
        }
    }

    static void validate(WardenConfig c) {
        List<String> problems = new ArrayList<>();
        var l = c.limits();
        positive(problems, "limits.timeout_ms", l.timeoutMs());
        positive(problems, "limits.max_timeout_ms", l.maxTimeoutMs());
        if (l.timeoutMs() > l.maxTimeoutMs()) {
            problems.add("limits.timeout_ms is above limits.max_timeout_ms");
        }
        positive(problems, "limits.cpu_ms", l.cpuMs());
        atLeast(problems, "limits.memory_mb", l.memoryMb(), 16);
        atLeast(problems, "limits.pids", l.pids(), 4);
        atLeast(problems, "limits.output_bytes", l.outputBytes(), 1024);
        positive(problems, "limits.file_size_mb", l.fileSizeMb());
        atLeast(problems, "limits.open_files", l.openFiles(), 16);
        positive(problems, "limits.tmp_mb", l.tmpMb());
        atLeast(problems, "limits.disk_mb", l.diskMb(), 0);
        positive(problems, "limits.code_bytes", l.codeBytes());
        positive(problems, "limits.command_bytes", l.commandBytes());
        positive(problems, "limits.max_background_timeout_ms", l.maxBackgroundTimeoutMs());
        atLeast(problems, "limits.max_background_per_session", l.maxBackgroundPerSession(), 0);
        atLeast(problems, "limits.max_background", l.maxBackground(), 0);
        atLeast(problems, "limits.background_buffer_bytes", l.backgroundBufferBytes(), 1024);
        for (String ro : c.server().projectReadOnly()) {
            if (ro.isEmpty() || ro.startsWith("/") || ro.endsWith("/") || ro.contains("//") || ro.indexOf('\0') >= 0
                    || java.util.Arrays.asList(ro.split("/")).contains("..")
                    || java.util.Arrays.asList(ro.split("/")).contains(".")) {
                problems.add("server.project_read_only: \"" + ro + "\" must be a path relative to the project, without . or ..");
            }
        }
        if (!List.of("text", "json").contains(c.server().logFormat())) {
            problems.add("server.log_format: expected text or json, got \"" + c.server().logFormat() + "\"");
        }
        atLeast(problems, "server.max_workspaces_per_client", c.server().maxWorkspacesPerClient(), 0);
        positive(problems, "server.max_workspace_ttl_s", c.server().maxWorkspaceTtlS());
        atLeast(problems, "limits.artifacts_walk_ms", l.artifactsWalkMs(), 0);
        atLeast(problems, "limits.max_images", l.maxImages(), 0);
        atLeast(problems, "limits.max_image_bytes", l.maxImageBytes(), 0);
        if (l.maxImageBytes() > 16 * 1024 * 1024) {
            problems.add("limits.max_image_bytes is above 16777216 (16 MiB): every image travels base64 in one answer");
        }
        var s = c.sandbox();
        // uid 0 would be root; uids below 1000 belong to system accounts on the host.
        atLeast(problems, "sandbox.uid_base", s.uidBase(), 1000);
        atLeast(problems, "sandbox.gid", s.gid(), 1000);
        atLeast(problems, "sandbox.slots", s.slots(), 1);
        atLeast(problems, "sandbox.session_uid_base", s.sessionUidBase(), 1000);
        atLeast(problems, "sandbox.session_uids", s.sessionUids(), 1);
        // the session uids, then as many for durable workspaces
        long lastSessionUid = (long) s.sessionUidBase() + 2L * s.sessionUids() - 1;
        long lastSlotUid = (long) s.uidBase() + 64L * 2 * s.slots() - 1; // every instance's slot and inline uids
        if (s.sessionUidBase() <= lastSlotUid && lastSessionUid >= s.uidBase()) {
            problems.add("sandbox.session_uid_base: the session uids " + s.sessionUidBase() + "-" + lastSessionUid
                    + " overlap the slots' uids " + s.uidBase() + "-" + lastSlotUid);
        }
        if (s.sessionUidBase() <= 65535 && lastSessionUid >= 65534) {
            problems.add("sandbox.session_uid_base: the session uids may not include 65534 or 65535 (nobody)");
        }
        if (s.slots() > 1024) {
            problems.add("sandbox.slots may be at most 1024");
        }
        if (s.warmPerSession() < 0 || s.warmMax() < 0) {
            problems.add("sandbox.warm_per_session and sandbox.warm_max may not be negative");
        }
        if (!Path.of(s.bwrap()).isAbsolute()) {
            problems.add("sandbox.bwrap must be an absolute path");
        }
        if (!WardenConfig.Sandbox.ENV_WARDEN.equals(s.environment()) && !WardenConfig.Sandbox.ENV_HOST.equals(s.environment())) {
            problems.add("sandbox.environment must be warden or host, not " + s.environment());
        }
        if (s.environmentDir() == null || !Path.of(s.environmentDir()).isAbsolute()) {
            problems.add("sandbox.environment_dir must be an absolute path");
        }
        if (c.languages() == null || c.languages().isEmpty()) {
            problems.add("languages: at least one language is needed");
        }
        else {
            c.languages().forEach((name, lang) -> {
                if (lang.command() == null || lang.command().isEmpty() || !lang.command().get(0).startsWith("/")) {
                    problems.add("languages." + name + ".command must start with an absolute interpreter path");
                }
                else if (lang.command().stream().noneMatch(a -> a.contains("{code}"))) {
                    problems.add("languages." + name + ".command must contain {code}");
                }
            });
        }
        validateContainer(problems, c.container());
        for (String t : c.http().tokens()) {
            if (t == null || t.length() < 16) {
                problems.add("http.tokens: every token needs at least 16 characters");
                break;
            }
        }
        var r = c.rateLimits();
        rate(problems, "rate_limits.per_client", r.perClient());
        r.perTier().forEach((tier, rc) -> {
            if (!List.of("L1", "L2", "L3", "L4").contains(tier)) {
                problems.add("rate_limits.per_tier: unknown tier " + tier + " (L1, L2, L3, L4)");
            }
            rate(problems, "rate_limits.per_tier." + tier, rc);
        });
        atLeast(problems, "rate_limits.max_concurrent", r.maxConcurrent(), 1);
        atLeast(problems, "rate_limits.queue", r.queue(), 0);
        atLeast(problems, "rate_limits.queue_timeout_ms", r.queueTimeoutMs(), 0);
        atLeast(problems, "rate_limits.max_concurrent_per_client", r.maxConcurrentPerClient(), 1);
        atLeast(problems, "rate_limits.queue_per_client", r.queuePerClient(), 0);
        atLeast(problems, "rate_limits.max_calls_per_client", r.maxCallsPerClient(), 1);
        atLeast(problems, "rate_limits.max_calls", r.maxCalls(), r.maxCallsPerClient());
        atLeast(problems, "server.max_sessions_per_client", c.server().maxSessionsPerClient(), 1);
        atLeast(problems, "server.max_sessions", c.server().maxSessions(), c.server().maxSessionsPerClient());
        atLeast(problems, "audit.max_mb", c.audit().maxMb(), 0);
        atLeast(problems, "audit.keep", c.audit().keep(), 1);
        validateApprovals(problems, c);
        if (c.operator().token() != null && !c.operator().token().isEmpty() && c.operator().token().length() < 16) {
            problems.add("operator.token needs at least 16 characters");
        }
        if (!problems.isEmpty()) {
            throw new ConfigException("invalid config: " + String.join("; ", problems), null);
        }
    }

    /**
     * approvals: and the operator's public URL and webhook. A URL must be http or https with a host
     * (a file: or javascript: link must never reach a person or a POST); a webhook needs its secret,
     * since an unsigned one could be forged by anyone who finds the receiver.
     */
    private static void validateApprovals(List<String> problems, WardenConfig c) {
        var a = c.approvals();
        if (a == null) {
            problems.add("approvals: the section is missing");
            return;
        }
        if (!List.of("deny", "operator").contains(String.valueOf(a.onClientDecline()))) {
            problems.add("approvals.on_client_decline must be deny or operator, not " + a.onClientDecline());
        }
        if (!List.of("form", "url", "auto").contains(String.valueOf(a.elicitation()))) {
            problems.add("approvals.elicitation must be form, url or auto, not " + a.elicitation());
        }
        var o = c.operator();
        String publicUrl = o.publicUrl() == null ? "" : o.publicUrl();
        if (!publicUrl.isEmpty()) {
            String bad = httpUrlProblem(publicUrl);
            if (bad != null) {
                problems.add("operator.public_url " + bad);
            }
            else if (publicUrl.contains("?") || publicUrl.contains("#")) {
                problems.add("operator.public_url must be the page's address without a query or fragment "
                        + "(a token in it would reach every client that is sent a link)");
            }
        }
        if ("url".equals(a.elicitation()) && publicUrl.isEmpty()) {
            problems.add("approvals.elicitation: url needs operator.public_url, the operator page's address as "
                    + "the approving person reaches it");
        }
        var w = o.webhook();
        if (w == null) {
            problems.add("operator.webhook: the section is missing");
            return;
        }
        if (w.url() != null && !w.url().isEmpty()) {
            String bad = httpUrlProblem(w.url());
            if (bad != null) {
                problems.add("operator.webhook.url " + bad);
            }
            String env = System.getenv("WARDEN_WEBHOOK_SECRET");
            String secret = env != null && !env.isBlank() ? env.strip() : w.secret();
            if (secret == null || secret.length() < 16) {
                problems.add("operator.webhook.secret needs at least 16 characters (or WARDEN_WEBHOOK_SECRET): "
                        + "the receiver checks each delivery's signature with it");
            }
        }
        for (String e : w.events()) {
            if (!WardenConfig.Webhook.EVENTS.contains(e)) {
                problems.add("operator.webhook.events: unknown event " + e + " (" + String.join(", ",
                        WardenConfig.Webhook.EVENTS) + ")");
            }
        }
        if (w.timeoutMs() < 100 || w.timeoutMs() > 30_000) {
            problems.add("operator.webhook.timeout_ms must be between 100 and 30000");
        }
        if (w.retries() < 0 || w.retries() > 10) {
            problems.add("operator.webhook.retries must be between 0 and 10");
        }
    }

    /** Why this is not an absolute http or https URL with a host, or null if it is one. */
    static String httpUrlProblem(String url) {
        java.net.URI u;
        try {
            u = new java.net.URI(url);
        }
        catch (java.net.URISyntaxException e) {
            return "is not a URL: " + e.getReason();
        }
        String scheme = u.getScheme() == null ? "" : u.getScheme().toLowerCase(java.util.Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https")) {
            return "must be an http or https URL, not " + (scheme.isEmpty() ? "one without a scheme" : scheme + ":");
        }
        if (u.getHost() == null || u.getHost().isEmpty()) {
            return "needs a host";
        }
        if (u.getUserInfo() != null) {
            return "must not carry a user or password";
        }
        return null;
    }

    private static void rate(List<String> problems, String key, WardenConfig.RateConfig rc) {
        if (rc == null) {
            problems.add(key + " needs capacity and refill_per_minute");
            return;
        }
        atLeast(problems, key + ".capacity", rc.capacity(), 0);
        if (rc.capacity() > 0) {
            atLeast(problems, key + ".refill_per_minute", rc.refillPerMinute(), 1);
        }
    }

    private static void validateContainer(List<String> problems, WardenConfig.Container k) {
        if (k == null) {
            problems.add("container: the section is missing");
            return;
        }
        // Only a local engine: workspaces are bind-mounted from this host and usage is read from its cgroups.
        if (k.dockerHost() == null || !k.dockerHost().startsWith("unix:///")) {
            problems.add("container.docker_host must be a local socket, unix:///...");
        }
        if (k.imagePrefix() == null || !k.imagePrefix().matches("[a-z0-9][a-z0-9._/-]*")) {
            problems.add("container.image_prefix must be a lower-case image name prefix, e.g. warden/");
        }
        if (k.label() == null || !k.label().matches("[a-z0-9][a-z0-9.-]*")) {
            problems.add("container.label must be a label key like dev.warden");
        }
        // uid 0 is root; below 1000 are the host's system accounts
        atLeast(problems, "container.uid", k.uid(), 1000);
        atLeast(problems, "container.max_running", k.maxRunning(), 1);
        if (k.cgroupParent() == null || !k.cgroupParent().matches("[A-Za-z0-9][A-Za-z0-9_.-]*")) {
            problems.add("container.cgroup_parent must be one plain cgroup name");
        }
        positive(problems, "container.tmp_mb", k.tmpMb());
        if (k.warmMax() < 0 || k.probeWaitMs() < 0) {
            problems.add("container.warm_max and container.probe_wait_ms may not be negative");
        }
        Map<String, WardenConfig.ContainerLanguage> langs = k.languages() == null ? Map.of() : k.languages();
        if (k.pool() != null) {
            k.pool().forEach((name, n) -> {
                if (!langs.containsKey(name)) {
                    problems.add("container.pool." + name + ": no such container language");
                }
                else if (n == null || n < 0) {
                    problems.add("container.pool." + name + " may not be negative");
                }
            });
        }
        langs.forEach((name, lang) -> {
            String where = "container.languages." + name;
            if (!name.matches("[a-z][a-z0-9+]*") || !(k.imagePrefix() + name).matches("[a-z0-9._/-]+")) {
                problems.add(where + ": the name must be lower-case letters and digits (it names the image)");
            }
            if (lang.run() == null || lang.run().isEmpty()) {
                problems.add(where + ".run is required");
            }
            boolean compiled = lang.compile() != null && !lang.compile().isEmpty();
            if (compiled && (lang.source() == null || !lang.source().matches("[A-Za-z0-9{}_.-]+"))) {
                problems.add(where + ": a compiled language needs a plain source file name");
            }
            if (!compiled && lang.run() != null && lang.run().stream().noneMatch(a -> a.contains("{code}"))) {
                problems.add(where + ".run must contain {code} (or give source and compile)");
            }
        });
    }

    private static void positive(List<String> problems, String key, long v) {
        if (v <= 0) {
            problems.add(key + " must be positive");
        }
    }

    private static void atLeast(List<String> problems, String key, long v, long min) {
        if (v < min) {
            problems.add(key + " must be at least " + min);
        }
    }
}
