package dev.warden.approval;

import dev.warden.call.Channel;
import java.time.Instant;

/**
 * A decision on one pending approval: who made it, through which {@link Channel}, for which scope,
 * and when. {@code note} is one sentence for the model, e.g. why it was denied.
 */
public record Ruling(Verdict verdict, Scope scope, String approver, Channel channel, Instant decidedAt, String note) {

    public static Ruling approve(Scope scope, String approver, Channel channel) {
        return new Ruling(Verdict.APPROVED, scope, approver, channel, Instant.now(), null);
    }

    public static Ruling deny(String approver, Channel channel, String note) {
        return new Ruling(Verdict.DENIED, Scope.ONCE, approver, channel, Instant.now(), note);
    }

    public boolean approved() {
        return verdict == Verdict.APPROVED;
    }
}
