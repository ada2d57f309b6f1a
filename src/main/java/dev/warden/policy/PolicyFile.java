package dev.warden.policy;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Map;

/**
 * config/policy.yaml as written (snake_case keys); {@link PolicyLoader} checks and compiles it. The
 * {@code network} section is compiled by the egress package, which owns its meaning.
 */
public record PolicyFile(String preset, String defaultAction, ApprovalSpec approval, String l3Fallback,
        Map<String, ContainerSpec> containers, List<RuleSpec> rules, String containerRuntime, JsonNode network) {

    public PolicyFile(String preset, String defaultAction, List<RuleSpec> rules) {
        this(preset, defaultAction, null, null, null, rules, null, null);
    }

    /** How held calls are handled: the wait for a person, and the workspace checkpoint before an approved run. */
    public record ApprovalSpec(Integer timeoutS, Integer checkpointMaxMb) {
    }

    /** Limits of one language's container; a key left out takes the `default` entry's value. */
    public record ContainerSpec(Integer memoryMb, Long timeoutMs, Integer pids, Double cpus, Long compileTimeoutMs) {
    }

    /**
     * One rule. {@code grants} is a list of network presets, or a map from program basename to preset
     * (checked by {@link PolicyLoader}); {@code hostsFromArgs} lets the hosts a matched command names
     * lower the rule when the network policy allows them all.
     */
    public record RuleSpec(String id, MatchSpec match, String action, Map<String, String> presets, String severity,
            String reason, String recommendation, Boolean enabled, JsonNode grants, Boolean hostsFromArgs) {

        public RuleSpec(String id, MatchSpec match, String action, Map<String, String> presets, String severity,
                String reason, String recommendation, Boolean enabled) {
            this(id, match, action, presets, severity, reason, recommendation, enabled, null, null);
        }
    }

    public record MatchSpec(List<String> programs, List<String> options, List<String> args, String argv,
            List<String> paths, List<String> destPaths, List<String> redirects, List<String> pipedTo, String check,
            CodeSpec code) {
    }

    public record CodeSpec(List<String> languages, List<String> imports, List<String> calls) {
    }
}
