package dev.warden.contract;

import java.util.List;
import java.util.Map;

/**
 * run_command arguments, already type-checked. Optional ones are null when absent; {@code network}
 * names hosts ({@code host} or {@code host:port}) or registry presets the call asks for beyond the policy;
 * {@code background}: answer at once with status running, the run going on (get_execution reads it).
 */
public record CommandCall(String command, String cwd, Long timeoutMs, String stdin, Map<String, String> env,
        List<String> network, boolean background) {

    public CommandCall(String command, String cwd, Long timeoutMs, String stdin, Map<String, String> env) {
        this(command, cwd, timeoutMs, stdin, env, null, false);
    }

    public CommandCall(String command, String cwd, Long timeoutMs, String stdin, Map<String, String> env,
            List<String> network) {
        this(command, cwd, timeoutMs, stdin, env, network, false);
    }
}
