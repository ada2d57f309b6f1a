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
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every call held at L4 waits here for one decision. Any channel may answer (elicitation, the
 * operator page, the CLI); the first answer wins and every later one is refused, so a call is never
 * decided twice. Nobody answering before the policy's timeout is a denial ({@link Verdict#EXPIRED}).
 * Each decision is handed to the recorder (the audit) before anyone waiting on it is released.
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

        /** The decision if made, else empty. */
        public Optional<Ruling> decided() {
            return Optional.ofNullable(ruling.getNow(null));
        }
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

    /**
     * @param timeout how long a pending approval waits for a person before it is denied
     * @param recorder called once per decision (including expiry), before waiters are released
     */
    public ApprovalService(Duration timeout, BiConsumer<ApprovalRequest, Ruling> recorder) {
        this.timeout = timeout;
        this.recorder = recorder;
        this.timer = Executors.newSingleThreadScheduledExecutor(daemon("warden-approval-expiry"));
        this.askers = Executors.newCachedThreadPool(daemon("warden-approval-ask"));
    }

    public Duration timeout() {
        return timeout;
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
            Ruling r;
            if ("approve_once".equals(answer)) {
                r = Ruling.approve(Scope.ONCE, prompter.approver(), Channel.ELICITATION);
            }
            else if ("approve_session".equals(answer)) {
                r = Ruling.approve(Scope.SESSION, prompter.approver(), Channel.ELICITATION);
            }
            else if ("deny".equals(answer)) {
                r = Ruling.deny(prompter.approver(), Channel.ELICITATION, "the person asked through the client denied it");
            }
            else if (answer == null && !Instant.now().isBefore(p.request.expires())) {
                return; // the expiry timer settles it
            }
            else {
                r = Ruling.deny(prompter.approver(), Channel.ELICITATION,
                        "the client declined or cancelled the approval request, or could not show it");
            }
            settle(p, r);
        });
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
