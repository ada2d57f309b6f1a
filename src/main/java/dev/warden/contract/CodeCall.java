package dev.warden.contract;

import java.util.List;
import java.util.Map;

/**
 * execute_code arguments, already type-checked. Optional ones are null when absent; {@code network}
 * and {@code background} as in {@link CommandCall}; {@code kernel} (null: a one-off run) names the
 * session's live interpreter to run the code in, started afresh first with {@code restartKernel}.
 */
public record CodeCall(String language, String code, String stdin, Long timeoutMs, Map<String, String> files,
        List<String> network, boolean background, String kernel, boolean restartKernel) {

    public CodeCall(String language, String code, String stdin, Long timeoutMs, Map<String, String> files,
            List<String> network, boolean background) {
        this(language, code, stdin, timeoutMs, files, network, background, null, false);
    }

    public CodeCall(String language, String code, String stdin, Long timeoutMs, Map<String, String> files) {
        this(language, code, stdin, timeoutMs, files, null, false);
    }

    public CodeCall(String language, String code, String stdin, Long timeoutMs, Map<String, String> files,
            List<String> network) {
        this(language, code, stdin, timeoutMs, files, network, false);
    }
}
