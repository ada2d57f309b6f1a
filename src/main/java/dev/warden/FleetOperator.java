package dev.warden;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.warden.approval.ApprovalRequest;
import dev.warden.approval.Ruling;
import dev.warden.fleet.FleetConsole;
import dev.warden.limit.Executions;
import dev.warden.operator.OperatorConsole;
import dev.warden.policy.Finding;
import dev.warden.policy.Severity;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The operator console's view of the other replicas, read from the fleet's shared state: the glue
 * between operator's interface and fleet's rows (neither package knows the other).
 */
public final class FleetOperator implements OperatorConsole.Fleet {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final FleetConsole fleet;

    public FleetOperator(FleetConsole fleet) {
        this.fleet = fleet;
    }

    /** What the holder writes of why a call was held: its rules and findings, as JSON (read back by {@link #pending}). */
    public static String details(ApprovalRequest r) {
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("rules", r.rules());
        d.put("findings", r.findings().stream().map(f -> Map.of("rule", f.rule(), "severity", f.severity().name(),
                "detail", f.detail() == null ? "" : f.detail())).toList());
        try {
            return JSON.writeValueAsString(d);
        }
        catch (JsonProcessingException e) {
            return null;
        }
    }

    private record Held(List<String> rules, List<Finding> findings) {
    }

    private static Held held(String details) {
        if (details == null) {
            return new Held(List.of(), List.of());
        }
        try {
            Map<String, Object> d = JSON.readValue(details, new TypeReference<Map<String, Object>>() {
            });
            List<String> rules = new ArrayList<>();
            if (d.get("rules") instanceof List<?> l) {
                l.forEach(o -> rules.add(String.valueOf(o)));
            }
            List<Finding> findings = new ArrayList<>();
            if (d.get("findings") instanceof List<?> l) {
                for (Object o : l) {
                    if (o instanceof Map<?, ?> f) {
                        findings.add(new Finding(String.valueOf(f.get("rule")), Severity.valueOf(String.valueOf(
                                f.get("severity"))), String.valueOf(f.get("detail"))));
                    }
                }
            }
            return new Held(rules, findings);
        }
        catch (JsonProcessingException | IllegalArgumentException e) {
            return new Held(List.of(), List.of());
        }
    }

    @Override
    public String replica() {
        return fleet.self();
    }

    @Override
    public OperatorConsole.Answer decide(String id, Ruling ruling) {
        FleetConsole.Reply r = fleet.decide(id, ruling);
        return new OperatorConsole.Answer(r.code(), r.message());
    }

    @Override
    public OperatorConsole.Answer stop(String id, String by) {
        FleetConsole.Reply r = fleet.stop(id, by);
        return new OperatorConsole.Answer(r.code(), r.message());
    }

    @Override
    public String killSwitch(boolean on, String by) {
        return fleet.replica().shareKillSwitch(on, by);
    }

    @Override
    public List<OperatorConsole.HeldElsewhere> pending() {
        return fleet.pendingElsewhere().stream().map(p -> {
            Held h = held(p.details());
            return new OperatorConsole.HeldElsewhere(p.replica(), new ApprovalRequest(p.id(), p.session(), p.client(),
                    p.kind(), p.subject(), p.language(), p.cwd(), p.tier(), h.findings(), h.rules(), p.reason(),
                    p.created(), p.expires() == null ? Instant.now() : p.expires()));
        }).toList();
    }

    @Override
    public List<OperatorConsole.RunningElsewhere> running() {
        return fleet.runningElsewhere().stream().map(r -> new OperatorConsole.RunningElsewhere(r.replica(),
                new Executions.Running(r.id(), r.session(), r.client(), r.tool(), r.subject(), r.tier(), r.started(),
                        null))).toList();
    }

    @Override
    public List<Map<String, Object>> replicas() {
        return fleet.replicas().stream().map(r -> {
            Map<String, Object> v = new LinkedHashMap<>();
            v.put("id", r.id());
            v.put("url", r.url());
            v.put("state", r.state());
            v.put("heartbeat_age_ms", r.heartbeatAgeMs());
            v.put("running", r.running());
            v.put("pending", r.pending());
            v.put("sessions", r.sessions());
            v.put("started_at", r.startedAt() == null ? null : r.startedAt().toString());
            v.put("self", r.self());
            return v;
        }).toList();
    }
}
