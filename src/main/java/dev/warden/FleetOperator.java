package dev.warden;

import dev.warden.approval.ApprovalRequest;
import dev.warden.approval.Ruling;
import dev.warden.fleet.FleetConsole;
import dev.warden.limit.Executions;
import dev.warden.operator.OperatorConsole;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The operator console's view of the other replicas, read from the fleet's shared state: the glue
 * between operator's interface and fleet's rows (neither package knows the other).
 */
public final class FleetOperator implements OperatorConsole.Fleet {

    private final FleetConsole fleet;

    public FleetOperator(FleetConsole fleet) {
        this.fleet = fleet;
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
        return fleet.pendingElsewhere().stream().map(p -> new OperatorConsole.HeldElsewhere(p.replica(),
                new ApprovalRequest(p.id(), p.session(), p.client(), p.kind(), p.subject(), p.language(), p.cwd(),
                        p.tier(), List.of(), List.of(), p.reason(), p.created(), p.expires() == null ? Instant.now()
                                : p.expires()))).toList();
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
