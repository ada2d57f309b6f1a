package dev.warden.fleet;

import dev.warden.approval.ApprovalRequest;
import dev.warden.approval.ApprovalService;
import dev.warden.approval.Ruling;
import dev.warden.call.Status;
import dev.warden.limit.ExecutionIndex;
import java.sql.PreparedStatement;
import java.sql.Timestamp;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;

/**
 * What this replica writes to the shared state as calls go: a row in {@code executions} for each run
 * it starts and its final status at the end; a row in {@code approvals} for each call it holds for a
 * person, and the decision that took effect. Written off the calls' threads ({@link FleetWrites}); only a
 * background run's start and a held call's opening wait, briefly (at most {@value #BACKGROUND_WAIT_MS} ms),
 * for their row, so that a get_execution or request_approval sent to another replica right after the
 * answer finds its owner.
 */
public final class FleetIndex implements ExecutionIndex, ApprovalService.Watcher {

    /** The longest a background run's start waits for its row (the database slow or down: it starts anyway). */
    static final long BACKGROUND_WAIT_MS = 500;

    private final String replica;
    private final FleetWrites writes;
    /** The runs this replica indexed and has not seen end: only their ends are written. */
    private final Set<String> open = ConcurrentHashMap.newKeySet();
    /** Why a call was held (its rules and findings) as JSON, for an operator of another replica; from the composition root. */
    private volatile Function<ApprovalRequest, String> details = r -> null;

    FleetIndex(String replica, FleetWrites writes) {
        this.replica = replica;
        this.writes = writes;
    }

    /** How a held call's rules and findings are written for the other replicas' operators (JSON). */
    public void details(Function<ApprovalRequest, String> d) {
        details = d;
    }

    @Override
    public void started(Started s) {
        open.add(s.id());
        var done = writes.submit("executions row of " + s.id(), c -> {
            try (PreparedStatement st = c.prepareStatement("INSERT INTO executions (id, replica, identity, session, tool, "
                    + "tier, background, client, subject) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING")) {
                st.setString(1, s.id());
                st.setString(2, replica);
                st.setString(3, s.identity() == null ? "" : s.identity());
                st.setString(4, s.session());
                st.setString(5, s.tool());
                st.setString(6, s.tier());
                st.setBoolean(7, s.background());
                st.setString(8, s.client());
                st.setString(9, s.subject());
                st.executeUpdate();
            }
        });
        if (s.background()) {
            awaitBriefly(done);
        }
    }

    @Override
    public void ended(String id, Status status, String message) {
        if (!open.remove(id)) {
            return;
        }
        writes.submit("end of " + id, c -> {
            // a run already reported lost (this replica was declared dead meanwhile) stays lost: reported once
            try (PreparedStatement st = c.prepareStatement("UPDATE executions SET status = ?, ended_at = now(), message = ? "
                    + "WHERE id = ? AND status = 'running'")) {
                st.setString(1, status.wire());
                st.setString(2, clip(message, 1000));
                st.setString(3, id);
                st.executeUpdate();
            }
        });
    }

    @Override
    public void opened(ApprovalRequest r) {
        String why;
        try {
            why = details.apply(r);
        }
        catch (RuntimeException e) {
            why = null;
        }
        String held = why;
        // waited for as a background run's row is (bounded): a request_approval sent to another replica right
        // after the needs_approval answer finds the call's holder
        awaitBriefly(writes.submit("approvals row of " + r.id(), c -> {
            try (PreparedStatement st = c.prepareStatement("INSERT INTO approvals (id, replica, identity, tool, summary, "
                    + "session, client, kind, language, cwd, tier, reason, created_at, expires_at, details) "
                    + "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING")) {
                st.setString(1, r.id());
                st.setString(2, replica);
                st.setString(3, r.session() == null ? "" : r.session());
                st.setString(4, r.kind());
                st.setString(5, r.subject() == null ? "" : r.subject()); // exact: a person decides on what runs
                st.setString(6, r.session());
                st.setString(7, r.client());
                st.setString(8, r.kind());
                st.setString(9, r.language());
                st.setString(10, r.cwd());
                st.setString(11, r.tier());
                st.setString(12, r.reason());
                st.setTimestamp(13, Timestamp.from(r.created()));
                st.setTimestamp(14, Timestamp.from(r.expires()));
                st.setString(15, held);
                st.executeUpdate();
            }
        }));
    }

    private static void awaitBriefly(java.util.concurrent.CompletableFuture<Boolean> done) {
        try {
            done.get(BACKGROUND_WAIT_MS, TimeUnit.MILLISECONDS);
        }
        catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        catch (ExecutionException | TimeoutException e) {
            // it goes on all the same: the index is a record, not a condition
        }
    }

    @Override
    public void decided(ApprovalRequest r, Ruling ruling) {
        writeDecision(r.id(), ruling);
    }

    /** The decision that took effect here, the holder: the last word on the row, whatever another replica wrote. */
    void writeDecision(String id, Ruling ruling) {
        writes.submit("decision of " + id, c -> {
            try (PreparedStatement st = c.prepareStatement("UPDATE approvals SET status = ?, scope = ?, channel = ?, "
                    + "decided_by = ?, decided_at = ?, reason = ?, remote = false WHERE id = ?")) {
                st.setString(1, ruling.verdict().wire());
                st.setString(2, ruling.scope().wire());
                st.setString(3, ruling.channel().wire());
                st.setString(4, ruling.approver());
                st.setTimestamp(5, Timestamp.from(ruling.decidedAt()));
                st.setString(6, clip(ruling.note(), 1000));
                st.setString(7, id);
                st.executeUpdate();
            }
        });
    }

    static String clip(String s, int max) {
        return s == null || s.length() <= max ? s : s.substring(0, max);
    }
}
