package dev.warden.approval;

import dev.warden.call.Channel;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every call held at L4 waits here for one decision. Any channel may answer (elicitation, the
 * operator page, the CLI); the first answer wins and every later one is refused, so a call is never
 * decided twice. Nobody answering before the policy's timeout is a denial ({@link Verdict#EXPIRED}).
 * Each decision is handed to the recorder (the audit) before anyone waiting on it is released.
 *
 * <p>What a client's answer does is decided here, not in the prompter, so that every prompter (each
 * protocol era's) gets the same rules: a person's approve or deny decides; a decline, a cancel or an
 * error is no person's decision, and under {@link ClientDecline#OPERATOR} it hands the call over to
 * the operator (it stays pending, {@link Pending#handedOver}) while an operator console is live.
 */
public final class ApprovalService implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ApprovalService.class);
    private static final int RECENT = 50;
    /** Pending approvals one session may have open at once: an agent cannot flood the operator. */
    static final int PENDING_PER_SESSION = 20;

    /** One held call or action and its decision, once made. */
    public static final class Pending {

        private final ApprovalRequest request;
        private final CompletableFuture<Ruling> ruling = new CompletableFuture<>();
        private final CompletableFuture<String> handedOver = new CompletableFuture<>();
        private volatile ScheduledFuture<?> expiry;

        Pending(ApprovalRequest request) {
            this.request = request;
        }

        public ApprovalRequest request() {
            return request;
        }

        public CompletableFuture<Ruling> ruling() {
            return ruling;
        }

        /**
         * Completed, with one sentence on why, when the client answered without a person's decision and
         * the call was left to the operator: whoever waited for the client's answer stops waiting.
         */
        public CompletableFuture<String> handedOver() {
            return handedOver;
        }

        /** The decision if made, else empty. */
        public Optional<Ruling> decided() {
            return Optional.ofNullable(ruling.getNow(null));
        }
    }

    /**
     * Told of every approval opened and every decision, after the audit has it (the webhook). Called on
     * the thread that opened or decided it: a watcher must not block.
     */
    public interface Watcher {

        default void opened(ApprovalRequest request) {
        }

        default void decided(ApprovalRequest request, Ruling ruling) {
        }
    }

    /**
     * What a client's answer does: a {@code ruling}, or {@code handedOver} (why the call now waits for
     * the operator), or neither (URL mode: the person went to the operator page, whose answer decides).
     */
    record AfterAsk(Ruling ruling, String handedOver) {
    }

    /** How a decide call went: {@code DECIDED}, or why nothing changed. */
    public enum Outcome {
        DECIDED, UNKNOWN, ALREADY_DECIDED
    }

    private final Duration timeout;
    private final BiConsumer<ApprovalRequest, Ruling> recorder;
    private final ScheduledExecutorService timer;
    private final ExecutorService askers;
    private final Map<String, Pending> byId = new ConcurrentHashMap<>();
    private final Map<String, Set<String>> grants = new ConcurrentHashMap<>();
    private final Deque<Pending> recent = new ArrayDeque<>();
    private final ClientDecline onClientDecline;
    private final BooleanSupplier operatorLive;
    private final List<Watcher> watchers = new CopyOnWriteArrayList<>();

    /** A client's decline, cancel or error denies (the contract's default). */
    public ApprovalService(Duration timeout, BiConsumer<ApprovalRequest, Ruling> recorder) {
        this(timeout, recorder, ClientDecline.DENY, () -> false);
    }

    /**
     * @param timeout how long a pending approval waits for a person before it is denied
     * @param recorder called once per decision (including expiry), before waiters are released
     * @param onClientDecline what a client's answer that no person gave does
     * @param operatorLive whether an operator console is serving now (the page, its API, the CLI's way in)
     */
    public ApprovalService(Duration timeout, BiConsumer<ApprovalRequest, Ruling> recorder, ClientDecline onClientDecline,
            BooleanSupplier operatorLive) {
        this.timeout = timeout;
        this.recorder = recorder;
        this.onClientDecline = onClientDecline;
        this.operatorLive = operatorLive;
        this.timer = Executors.newSingleThreadScheduledExecutor(daemon("warden-approval-expiry"));
        this.askers = Executors.newCachedThreadPool(daemon("warden-approval-ask"));
    }

    public Duration timeout() {
        return timeout;
    }

    public ClientDecline onClientDecline() {
        return onClientDecline;
    }

    /** Whether an operator console is live now, to answer what a client cannot. */
    public boolean operatorLive() {
        return operatorLive.getAsBoolean();
    }

    public void watch(Watcher w) {
        watchers.add(w);
    }

    /**
     * Opens a pending approval; it expires (denied) after the timeout unless decided first.
     *
     * @return empty if the session already has too many open
     */
    public Optional<Pending> open(ApprovalRequest request) {
        long open = byId.values().stream().filter(p -> p.request.session().equals(request.session())
                && p.decided().isEmpty()).count();
        if (open >= PENDING_PER_SESSION) {
            return Optional.empty();
        }
        Pending p = new Pending(request);
        byId.put(request.id(), p);
        long delay = Math.max(0, Duration.between(Instant.now(), request.expires()).toMillis());
        p.expiry = timer.schedule(() -> settle(p, new Ruling(Verdict.EXPIRED, Scope.ONCE, null, Channel.POLICY, Instant.now(),
                "nobody answered within " + timeout.toSeconds() + " s, so it was denied")), delay, TimeUnit.MILLISECONDS);
        for (Watcher w : watchers) {
            try {
                w.opened(request);
            }
            catch (RuntimeException e) {
                log.warn("approval {}: a watcher failed: {}", request.id(), e.toString());
            }
        }
        return Optional.of(p);
    }

    /** Asks through a channel in the background; its answer decides unless another came first. */
    public void ask(Pending p, Prompter prompter) {
        askers.execute(() -> {
            String answer;
            try {
                Duration left = Duration.between(Instant.now(), p.request.expires());
                answer = left.isNegative() ? null : prompter.ask(p.request, left);
            }
            catch (RuntimeException e) {
                log.debug("approval {}: asking the client failed: {}", p.request.id(), e.getMessage());
                answer = "error";
            }
            if (p.decided().isPresent()) {
                return;
            }
            if (answer == null && !Instant.now().isBefore(p.request.expires())) {
                return; // the expiry timer settles it
            }
            AfterAsk next = afterAsk(answer, prompter.approver(), onClientDecline, operatorLive.getAsBoolean());
            if (next.ruling() != null) {
                settle(p, next.ruling());
            }
            else if (next.handedOver() != null) {
                log.info("approval {}: {}", p.request.id(), next.handedOver());
                p.handedOver.complete(next.handedOver());
            }
        });
    }

    /**
     * What the client's answer does, a pure function of it, the setting and whether an operator
     * console is live. A person's {@code approve_once}, {@code approve_session} or {@code deny} decides.
     * {@code decline}, {@code cancel} and {@code error} are no person's decision: under
     * {@link ClientDecline#OPERATOR} with a live console the call is handed over to the operator; else
     * they deny, and the note says which answer it was and, if the setting asked for the operator, that
     * no console is live. {@code opened} (URL mode) leaves the call to the page. Anything else (an accept
     * without a valid decision) denies: an accept is an answer, and one that says nothing approves nothing.
     */
    static AfterAsk afterAsk(String answer, String approver, ClientDecline onClientDecline, boolean operatorLive) {
        if (Prompter.APPROVE_ONCE.equals(answer)) {
            return new AfterAsk(Ruling.approve(Scope.ONCE, approver, Channel.ELICITATION), null);
        }
        if (Prompter.APPROVE_SESSION.equals(answer)) {
            return new AfterAsk(Ruling.approve(Scope.SESSION, approver, Channel.ELICITATION), null);
        }
        if (Prompter.DENY.equals(answer)) {
            return new AfterAsk(Ruling.deny(approver, Channel.ELICITATION, "the person asked through the client denied it"),
                    null);
        }
        if (Prompter.OPENED.equals(answer)) {
            return new AfterAsk(null, null);
        }
        boolean noPerson = Prompter.DECLINE.equals(answer) || Prompter.CANCEL.equals(answer) || Prompter.ERROR.equals(answer)
                || answer == null;
        if (!noPerson) {
            return new AfterAsk(Ruling.deny(approver, Channel.ELICITATION, "the client accepted the approval request "
                    + "without a decision (approve_once, approve_session or deny)"), null);
        }
        String what = answer == null || Prompter.ERROR.equals(answer) ? "could not show the approval request"
                : Prompter.DECLINE.equals(answer) ? "declined the approval request" : "cancelled the approval request";
        if (onClientDecline == ClientDecline.OPERATOR && operatorLive) {
            return new AfterAsk(null, "the client " + what + " without a person's decision, so it is left to an operator");
        }
        String base = "the client declined or cancelled the approval request, or could not show it (it " + what + ")";
        return new AfterAsk(Ruling.deny(approver, Channel.ELICITATION, onClientDecline == ClientDecline.OPERATOR
                ? base + ", and no operator console is live to decide it instead" : base), null);
    }

    public Optional<Pending> find(String id) {
        return id == null ? Optional.empty() : Optional.ofNullable(byId.get(id));
    }

    /** A decision from a channel; refused if the id is unknown or the approval was already decided or expired. */
    public Outcome decide(String id, Ruling ruling) {
        Pending p = find(id).orElse(null);
        if (p == null) {
            return Outcome.UNKNOWN;
        }
        return settle(p, ruling) ? Outcome.DECIDED : Outcome.ALREADY_DECIDED;
    }

    private boolean settle(Pending p, Ruling ruling) {
        synchronized (p) {
            if (p.ruling.isDone()) {
                return false;
            }
            if (ruling.approved() && ruling.scope() == Scope.SESSION && !p.request.rules().isEmpty()) {
                grants.computeIfAbsent(p.request.session(), s -> ConcurrentHashMap.newKeySet())
                    .addAll(p.request.rules());
            }
            try {
                recorder.accept(p.request, ruling);
            }
            catch (RuntimeException e) {
                log.error("approval {}: the decision could not be recorded", p.request.id(), e);
            }
            p.ruling.complete(ruling);
        }
        for (Watcher w : watchers) {
            try {
                w.decided(p.request, ruling);
            }
            catch (RuntimeException e) {
                log.warn("approval {}: a watcher failed: {}", p.request.id(), e.toString());
            }
        }
        ScheduledFuture<?> e = p.expiry;
        if (e != null) {
            e.cancel(false);
        }
        synchronized (recent) {
            recent.addFirst(p);
            while (recent.size() > RECENT) {
                Pending old = recent.removeLast();
                byId.remove(old.request.id(), old);
            }
        }
        return true;
    }

    /** Whether an earlier approve_session in this session covers every rule that holds this call. */
    public boolean covered(String session, Collection<String> rules) {
        Set<String> granted = grants.get(session);
        return granted != null && !rules.isEmpty() && granted.containsAll(rules);
    }

    /** The session is gone: its grants with it, and whatever it still had pending is denied. */
    public void endSession(String session) {
        grants.remove(session);
        for (Pending p : List.copyOf(byId.values())) {
            if (p.request.session().equals(session) && p.decided().isEmpty()) {
                settle(p, Ruling.deny(null, Channel.POLICY, "its session ended before anyone decided"));
            }
        }
    }

    /** Undecided approvals, oldest first. */
    public List<Pending> pending() {
        List<Pending> out = new ArrayList<>();
        for (Pending p : byId.values()) {
            if (p.decided().isEmpty()) {
                out.add(p);
            }
        }
        out.sort((a, b) -> a.request.created().compareTo(b.request.created()));
        return out;
    }

    /** The most recent decisions, newest first. */
    public List<Pending> recent() {
        synchronized (recent) {
            return List.copyOf(recent);
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
        askers.shutdownNow();
    }

    private static java.util.concurrent.ThreadFactory daemon(String name) {
        return r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        };
    }
}
