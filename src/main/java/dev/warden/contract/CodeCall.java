package dev.warden.contract;

import java.util.List;
import java.util.Map;

/**
 * execute_code arguments, already type-checked. Optional ones are null when absent; {@code network}
 * and {@code background} as in {@link CommandCall}.
 */
public record CodeCall(String language, String code, String stdin, Long timeoutMs, Map<String, String> files,
        List<String> network, boolean background) {

    public CodeCall(String language, String code, String stdin, Long timeoutMs, Map<String, String> files) {
        this(language, code, stdin, timeoutMs, files, null, false);
    }

    public CodeCall(String language, String code, String stdin, Long timeoutMs, Map<String, String> files,
            List<String> network) {
        this(language, code, stdin, timeoutMs, files, network, false);
    }
}
