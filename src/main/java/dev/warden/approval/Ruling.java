package dev.warden.approval;

import java.time.Instant;

/**
 * A decision on one pending approval: who made it, through which channel ({@code elicitation},
 * {@code operator}, {@code cli}, {@code policy} for an expiry or a session grant), for which scope,
 * and when. {@code note} is one sentence for the model, e.g. why it was denied.
 */
public record Ruling(Verdict verdict, Scope scope, String approver, String channel, Instant decidedAt, String note) {

    public static Ruling approve(Scope scope, String approver, String channel) {
        return new Ruling(Verdict.APPROVED, scope, approver, channel, Instant.now(), null);
    }

    public static Ruling deny(String approver, String channel, String note) {
        return new Ruling(Verdict.DENIED, Scope.ONCE, approver, channel, Instant.now(), note);
    }

    public boolean approved() {
        return verdict == Verdict.APPROVED;
    }
}
