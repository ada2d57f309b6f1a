package dev.warden.policy;

import java.util.List;
import java.util.Map;

/** config/policy.yaml as written (snake_case keys); {@link PolicyLoader} checks and compiles it. */
public record PolicyFile(String preset, String defaultAction, String l3Fallback, Map<String, ContainerSpec> containers,
        List<RuleSpec> rules) {

    /** Limits of one language's container; a key left out takes the `default` entry's value. */
    public record ContainerSpec(Integer memoryMb, Long timeoutMs, Integer pids, Double cpus, Long compileTimeoutMs) {
    }

    public record RuleSpec(String id, MatchSpec match, String action, Map<String, String> presets, String severity,
            String reason, String recommendation, Boolean enabled) {
    }

    public record MatchSpec(List<String> programs, List<String> options, List<String> args, String argv,
            List<String> paths, List<String> destPaths, List<String> redirects, List<String> pipedTo, String check,
            CodeSpec code) {
    }

    public record CodeSpec(List<String> languages, List<String> imports, List<String> calls) {
    }
}
