package dev.warden.policy;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.warden.config.ConfigException;
import dev.warden.config.ContainerLimits;
import java.io.IOException;
import java.time.Duration;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Reads the policy built into the jar ({@code config/policy.yaml}), lays an operator's policy file
 * over it rule by rule, applies the preset, and refuses at start-up anything unknown or malformed.
 */
public final class PolicyLoader {

    public static final String DEFAULTS_RESOURCE = "/config/policy.yaml";
    static final Set<String> PRESETS = Set.of("strict", "standard", "relaxed");
    static final Set<String> CHECKS = Set.of("fork_bomb", "dynamic_program", "dynamic_eval", "unparsed",
            "path_escape", "long_timeout", "code_unparsed");

    private final ObjectMapper yaml = new ObjectMapper(new YAMLFactory())
        .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
        .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    /**
     * The compiled rules, the active preset and the default action; how long a held call waits for a
     * person before it is denied, and the largest workspace snapshotted before an approved call;
     * whether L3 may fall back to L2, the container limits per language, and the OCI runtime of L3
     * containers (runc, runsc or auto: runsc when the engine has it, else runc).
     */
    public record Compiled(String preset, Action defaultAction, List<Rule> rules, Duration approvalTimeout,
            long checkpointMaxBytes, boolean l3FallbackToL2, Map<String, ContainerLimits> containers,
            String containerRuntime, JsonNode network) {

        public Compiled(String preset, Action defaultAction, List<Rule> rules) {
            this(preset, defaultAction, rules, DEFAULT_APPROVAL_TIMEOUT, DEFAULT_CHECKPOINT_MB << 20, false,
                    Map.of("default", DEFAULT_CONTAINER), "runc", null);
        }

        public Compiled(String preset, Action defaultAction, List<Rule> rules, Duration approvalTimeout,
                long checkpointMaxBytes, boolean l3FallbackToL2, Map<String, ContainerLimits> containers) {
            this(preset, defaultAction, rules, approvalTimeout, checkpointMaxBytes, l3FallbackToL2, containers,
                    "runc", null);
        }
    }

    /**
     * The network presets a rule may grant (the registry host sets of the `network:` section): what a
     * matched command needs to reach, reported in {@link Decision#presets()}.
     */
    public static final Set<String> NETWORK_PRESETS = Set.of("pypi", "npm", "crates", "maven", "go", "debian", "github");

    /** Values of container_runtime; {@code preset} is auto under the strict preset and runc otherwise. */
    static final Set<String> CONTAINER_RUNTIMES = Set.of("runc", "runsc", "auto", "preset");

    static final Duration DEFAULT_APPROVAL_TIMEOUT = Duration.ofSeconds(50);
    static final long DEFAULT_CHECKPOINT_MB = 256;

    /** What a container gets when the policy names nothing for its language. */
    static final ContainerLimits DEFAULT_CONTAINER = new ContainerLimits(512, 30_000, 64, 1.0, 60_000);

    /**
     * @param operatorFile a policy file read on top of the built-in one, or null
     * @param preset the preset to use instead of the file's, or null/empty
     */
    public Compiled load(Path operatorFile, String preset) {
        ObjectNode merged = (ObjectNode) builtIn();
        if (operatorFile != null) {
            JsonNode overlay;
            try {
                overlay = yaml.readTree(Files.readString(operatorFile));
            }
            catch (IOException e) {
                throw new ConfigException("cannot read policy " + operatorFile + ": " + e.getMessage(), e);
            }
            if (overlay != null && !overlay.isNull() && !overlay.isMissingNode()) {
                if (!overlay.isObject()) {
                    throw new ConfigException("policy " + operatorFile + " must be a YAML mapping", null);
                }
                overlay(merged, (ObjectNode) overlay);
            }
        }
        if (preset != null && !preset.isBlank()) {
            merged.put("preset", preset);
        }
        PolicyFile file;
        try {
            file = yaml.treeToValue(merged, PolicyFile.class);
        }
        catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new ConfigException("invalid policy: " + e.getOriginalMessage(), e);
        }
        return compile(file);
    }

    private JsonNode builtIn() {
        try (InputStream in = PolicyLoader.class.getResourceAsStream(DEFAULTS_RESOURCE)) {
            if (in == null) {
                throw new ConfigException("built-in policy missing from the jar: " + DEFAULTS_RESOURCE, null);
            }
            return yaml.readTree(in);
        }
        catch (IOException e) {
            throw new ConfigException("built-in policy unreadable", e);
        }
    }

    /** Top-level scalars replace; a rule with a known id has the keys it names replaced; a new id is appended. */
    private static void overlay(ObjectNode base, ObjectNode over) {
        Iterator<Map.Entry<String, JsonNode>> it = over.properties().iterator();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().equals("containers") && e.getValue().isObject() && base.get("containers") instanceof ObjectNode bc) {
                // per language, and per key within a language: an override names only what it changes
                e.getValue().properties().forEach(l -> {
                    if (l.getValue().isObject() && bc.get(l.getKey()) instanceof ObjectNode bl) {
                        bl.setAll((ObjectNode) l.getValue());
                    }
                    else {
                        bc.set(l.getKey(), l.getValue());
                    }
                });
                continue;
            }
            if (!e.getKey().equals("rules")) {
                JsonNode mine = base.get(e.getKey());
                if (mine != null && mine.isObject() && e.getValue().isObject()) {
                    ((ObjectNode) mine).setAll((ObjectNode) e.getValue()); // approval: key by key
                }
                else {
                    base.set(e.getKey(), e.getValue());
                }
                continue;
            }
            if (!e.getValue().isArray()) {
                throw new ConfigException("policy: rules must be a list", null);
            }
            ArrayNode rules = (ArrayNode) base.get("rules");
            for (JsonNode r : e.getValue()) {
                if (!r.isObject() || !r.hasNonNull("id")) {
                    throw new ConfigException("policy: every rule in an override needs an id", null);
                }
                ObjectNode existing = null;
                for (JsonNode b : rules) {
                    if (b.path("id").asText().equals(r.get("id").asText())) {
                        existing = (ObjectNode) b;
                    }
                }
                if (existing == null) {
                    rules.add(r);
                }
                else {
                    existing.setAll((ObjectNode) r);
                }
            }
        }
    }

    static Compiled compile(PolicyFile file) {
        List<String> problems = new ArrayList<>();
        String preset = file.preset() == null ? "standard" : file.preset().toLowerCase(Locale.ROOT);
        if (!PRESETS.contains(preset)) {
            problems.add("preset must be one of strict, standard, relaxed (was \"" + file.preset() + "\")");
        }
        Action def = Action.parse(file.defaultAction() == null ? "L2" : file.defaultAction());
        if (def == null || def == Action.L1) {
            problems.add("default_action must be L2, L3, approve or block");
        }
        List<Rule> rules = new ArrayList<>();
        Set<String> ids = new HashSet<>();
        for (PolicyFile.RuleSpec r : file.rules() == null ? List.<PolicyFile.RuleSpec>of() : file.rules()) {
            String where = "rule " + (r.id() == null ? "(no id)" : r.id());
            if (r.id() == null || r.id().isBlank()) {
                problems.add("every rule needs an id");
                continue;
            }
            if (!ids.add(r.id())) {
                problems.add(where + ": the id is used twice");
            }
            if (Boolean.FALSE.equals(r.enabled())) {
                continue;
            }
            String actionText = r.presets() != null && r.presets().containsKey(preset) ? r.presets().get(preset) : r.action();
            Action action = Action.parse(actionText);
            if (action == null) {
                problems.add(where + ": action must be L1, L2, L3, approve or block (was \"" + actionText + "\")");
            }
            if (r.presets() != null) {
                r.presets().forEach((p, a) -> {
                    if (!PRESETS.contains(p) || Action.parse(a) == null) {
                        problems.add(where + ": presets." + p + " must name a preset and an action");
                    }
                });
            }
            Severity severity = null;
            try {
                severity = Severity.valueOf(String.valueOf(r.severity()).toUpperCase(Locale.ROOT));
            }
            catch (IllegalArgumentException e) {
                problems.add(where + ": severity must be info, low, medium, high or critical");
            }
            if (r.reason() == null || r.reason().isBlank()) {
                problems.add(where + ": a reason for the model is required");
            }
            PolicyFile.MatchSpec m = r.match();
            if (m == null) {
                problems.add(where + ": match is required");
                continue;
            }
            if (m.check() != null && !CHECKS.contains(m.check())) {
                problems.add(where + ": check must be one of " + String.join(", ", CHECKS.stream().sorted().toList()));
            }
            boolean anyKey = m.programs() != null || m.options() != null || m.args() != null || m.argv() != null
                    || m.paths() != null || m.destPaths() != null || m.redirects() != null || m.pipedTo() != null
                    || m.check() != null || m.code() != null;
            if (!anyKey) {
                problems.add(where + ": match names nothing to match");
            }
            if (action == Action.L1 && (m.check() != null || m.code() != null)) {
                problems.add(where + ": L1 applies to programs only");
            }
            List<String> grantsAlways = new ArrayList<>();
            Map<String, String> grantsByProgram = new java.util.LinkedHashMap<>();
            grants(where, r.grants(), m, grantsAlways, grantsByProgram, problems);
            boolean hostsFromArgs = Boolean.TRUE.equals(r.hostsFromArgs());
            if (hostsFromArgs && (m.check() != null || m.code() != null)) {
                problems.add(where + ": hosts_from_args applies to programs only (their arguments name the hosts)");
            }
            if (action == null || severity == null || r.reason() == null) {
                continue;
            }
            try {
                rules.add(new Rule(r.id(), action, severity, r.reason().strip(), r.recommendation(), m, grantsAlways,
                        grantsByProgram, hostsFromArgs));
            }
            catch (IllegalArgumentException e) { // PatternSyntaxException too
                problems.add(where + ": bad pattern: " + e.getMessage().lines().findFirst().orElse(""));
            }
        }
        PolicyFile.ApprovalSpec approval = file.approval();
        long timeoutS = approval == null || approval.timeoutS() == null ? DEFAULT_APPROVAL_TIMEOUT.toSeconds()
                : approval.timeoutS();
        long checkpointMb = approval == null || approval.checkpointMaxMb() == null ? DEFAULT_CHECKPOINT_MB
                : approval.checkpointMaxMb();
        if (timeoutS < 1 || timeoutS > 86_400) {
            problems.add("approval.timeout_s must be between 1 and 86400 seconds");
        }
        if (checkpointMb < 0) {
            problems.add("approval.checkpoint_max_mb may not be negative");
        }
        String fallback = file.l3Fallback() == null ? "none" : file.l3Fallback().trim();
        if (!fallback.equals("none") && !fallback.equals("L2")) {
            problems.add("l3_fallback must be none or L2 (was \"" + fallback + "\")");
        }
        Map<String, ContainerLimits> containers = containers(file.containers(), problems);
        String runtime = file.containerRuntime() == null ? "preset" : file.containerRuntime().trim();
        if (!CONTAINER_RUNTIMES.contains(runtime)) {
            problems.add("container_runtime must be runc, runsc, auto or preset (was \"" + runtime + "\")");
        }
        if (runtime.equals("preset")) {
            runtime = preset.equals("strict") ? "auto" : "runc";
        }
        if (!problems.isEmpty()) {
            throw new ConfigException("invalid policy: " + String.join("; ", problems), null);
        }
        return new Compiled(preset, def, List.copyOf(rules), Duration.ofSeconds(timeoutS), checkpointMb << 20,
                fallback.equals("L2"), containers, runtime, file.network());
    }

    /**
     * A rule's grants: a list of presets (every match), or a map from program basename to preset (the
     * matched program's). Each preset must be a network preset, each program one the rule can match.
     */
    static void grants(String where, JsonNode grants, PolicyFile.MatchSpec m, List<String> always,
            Map<String, String> byProgram, List<String> problems) {
        if (grants == null || grants.isNull()) {
            return;
        }
        String presetsText = String.join(", ", NETWORK_PRESETS.stream().sorted().toList());
        if (grants.isArray()) {
            for (JsonNode p : grants) {
                if (!p.isTextual() || !NETWORK_PRESETS.contains(p.asText())) {
                    problems.add(where + ": grants names " + p + ", not a network preset (" + presetsText + ")");
                }
                else {
                    always.add(p.asText());
                }
            }
            return;
        }
        if (!grants.isObject()) {
            problems.add(where + ": grants must be a list of presets or a map from program to preset");
            return;
        }
        if (m != null && (m.check() != null || m.code() != null)) {
            problems.add(where + ": grants by program applies to program rules only; give a list");
        }
        boolean anyProgram = m == null || m.programs() == null || m.programs().contains("*");
        grants.properties().forEach(e -> {
            String program = e.getKey();
            JsonNode p = e.getValue();
            if (!p.isTextual() || !NETWORK_PRESETS.contains(p.asText())) {
                problems.add(where + ": grants." + program + " names " + p + ", not a network preset (" + presetsText + ")");
            }
            else if (!anyProgram && !m.programs().contains(program)) {
                problems.add(where + ": grants." + program + " names a program the rule does not match");
            }
            else {
                byProgram.put(program, p.asText());
            }
        });
    }

    /** Each language's limits, with what it leaves out taken from `default` (and that from the built-in default). */
    static Map<String, ContainerLimits> containers(Map<String, PolicyFile.ContainerSpec> specs, List<String> problems) {
        Map<String, ContainerLimits> out = new java.util.LinkedHashMap<>();
        PolicyFile.ContainerSpec d = specs == null ? null : specs.get("default");
        ContainerLimits base = d == null ? DEFAULT_CONTAINER : fill(d, DEFAULT_CONTAINER);
        out.put("default", check("default", base, problems));
        if (specs != null) {
            specs.forEach((lang, spec) -> {
                if (spec == null) {
                    problems.add("containers." + lang + " must be a mapping");
                }
                else if (!lang.equals("default")) {
                    out.put(lang, check(lang, fill(spec, base), problems));
                }
            });
        }
        return Map.copyOf(out);
    }

    private static ContainerLimits fill(PolicyFile.ContainerSpec s, ContainerLimits d) {
        return new ContainerLimits(s.memoryMb() != null ? s.memoryMb() : d.memoryMb(),
                s.timeoutMs() != null ? s.timeoutMs() : d.timeoutMs(), s.pids() != null ? s.pids() : d.pids(),
                s.cpus() != null ? s.cpus() : d.cpus(),
                s.compileTimeoutMs() != null ? s.compileTimeoutMs() : d.compileTimeoutMs());
    }

    private static ContainerLimits check(String lang, ContainerLimits l, List<String> problems) {
        String where = "containers." + lang;
        // below these no runtime starts, and 0 or less would mean "unlimited" to Docker
        if (l.memoryMb() < 16) {
            problems.add(where + ".memory_mb must be at least 16");
        }
        if (l.pids() < 2) {
            problems.add(where + ".pids must be at least 2 (the container's init and the program)");
        }
        if (l.timeoutMs() <= 0 || l.compileTimeoutMs() <= 0) {
            problems.add(where + ": timeout_ms and compile_timeout_ms must be positive");
        }
        if (!(l.cpus() > 0) || l.cpus() > 64) {
            problems.add(where + ".cpus must be above 0 and at most 64");
        }
        return l;
    }
}
