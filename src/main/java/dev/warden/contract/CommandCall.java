package dev.warden.contract;

import java.util.Map;

/** run_command arguments, already type-checked. Optional ones are null when absent. */
public record CommandCall(String command, String cwd, Long timeoutMs, String stdin, Map<String, String> env) {
}
