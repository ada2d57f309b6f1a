package dev.warden.contract;

import java.util.Map;

/** execute_code arguments, already type-checked. Optional ones are null when absent. */
public record CodeCall(String language, String code, String stdin, Long timeoutMs, Map<String, String> files) {
}
