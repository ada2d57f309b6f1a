package dev.warden.egress;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a call's runs did on the network: the result's {@code network} field ({@code allowed} with the
 * bytes of each host and port, {@code denied} with the reason, {@code presets}) and, for the audit
 * line, every connection attempt with the address it resolved to and the rule that let it through.
 */
public record NetworkReport(List<Map<String, Object>> allowed, List<Map<String, Object>> denied, List<String> presets,
        List<Map<String, Object>> attempts) {

    public NetworkReport {
        allowed = List.copyOf(allowed);
        denied = List.copyOf(denied);
        presets = List.copyOf(presets);
        attempts = List.copyOf(attempts);
    }

    /** The result's {@code network} object. */
    public Map<String, Object> resultField() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("allowed", allowed);
        m.put("denied", denied);
        m.put("presets", presets);
        return m;
    }

    /** At most this many denials in a result (the audit line has every attempt listed, up to the ledger's size). */
    static final int DENIED_MAX = 50;

    /**
     * Built from the attempts of a call: allowed ones summed per host and port, denied ones each once
     * per reason (the first {@value #DENIED_MAX}; a last entry says how many more), and refusals past
     * the ledger's size counted.
     */
    static NetworkReport of(List<CallNetwork.Attempt> attempts, List<String> presets, long unlisted) {
        Map<String, Map<String, Object>> allowed = new LinkedHashMap<>();
        Map<String, Map<String, Object>> denied = new LinkedHashMap<>();
        List<Map<String, Object>> lines = new ArrayList<>();
        for (CallNetwork.Attempt a : attempts) {
            lines.add(a.auditLine());
            String key = a.host() + ":" + a.port();
            if (a.refusal() == null) {
                Map<String, Object> e = allowed.computeIfAbsent(key, k -> {
                    Map<String, Object> m = new LinkedHashMap<>();
                    m.put("host", a.host());
                    m.put("port", a.port());
                    m.put("bytes_in", 0L);
                    m.put("bytes_out", 0L);
                    return m;
                });
                e.put("bytes_in", (Long) e.get("bytes_in") + a.bytesIn());
                e.put("bytes_out", (Long) e.get("bytes_out") + a.bytesOut());
            }
            if (a.refusal() != null || a.cut() != null) {
                String reason = a.refusal() != null ? a.refusal() : a.cut();
                denied.computeIfAbsent(key + " " + reason, k -> {
                    Map<String, Object> m = new LinkedHashMap<>();
                    m.put("host", a.host());
                    m.put("port", a.port());
                    m.put("reason", reason);
                    return m;
                });
            }
        }
        List<Map<String, Object>> refused = new ArrayList<>(denied.values());
        long more = unlisted + Math.max(0, refused.size() - DENIED_MAX);
        if (refused.size() > DENIED_MAX) {
            refused = new ArrayList<>(refused.subList(0, DENIED_MAX));
        }
        if (more > 0) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("host", "*");
            m.put("port", 0);
            m.put("reason", more + " more refused connection attempts are not listed one by one");
            refused.add(m);
            Map<String, Object> line = new LinkedHashMap<>();
            line.put("unlisted_refusals", unlisted);
            lines.add(line);
        }
        return new NetworkReport(List.copyOf(allowed.values()), refused, presets, lines);
    }
}
