package dev.warden.approval;

import dev.warden.call.Channel;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class ApprovalServiceTest {

    final List<Ruling> recorded = new ArrayList<>();
    ApprovalService service = new ApprovalService(Duration.ofSeconds(30), (req, r) -> recorded.add(r));

    @AfterEach
    void close() {
        service.close();
    }

    static ApprovalRequest request(String id, String session, Duration ttl, List<String> rules) {
        Instant now = Instant.now();
        return new ApprovalRequest(id, session, "client/1", "run_command", "git push", null, "", "L2", List.of(), rules,
                "held", now, now.plus(ttl));
    }

    @Test
    void firstDecisionWinsAndEveryLaterOneIsRefused() throws Exception {
        ApprovalService.Pending p = service.open(request("ex_1", "s1", Duration.ofSeconds(30), List.of("r"))).orElseThrow();
        assertEquals(ApprovalService.Outcome.DECIDED, service.decide("ex_1", Ruling.deny("alice", Channel.CLI, "no")));
        assertEquals(ApprovalService.Outcome.ALREADY_DECIDED, service.decide("ex_1", Ruling.approve(Scope.ONCE, "bob", Channel.OPERATOR)));
        assertEquals(ApprovalService.Outcome.UNKNOWN, service.decide("ex_2", Ruling.approve(Scope.ONCE, "bob", Channel.OPERATOR)));
        assertEquals(Verdict.DENIED, p.ruling().get(1, TimeUnit.SECONDS).verdict());
        assertEquals(1, recorded.size(), "one record per decision");
        assertTrue(service.pending().isEmpty());
        assertEquals(1, service.recent().size());
    }

    @Test
    void nobodyAnsweringExpiresItAsADenial() throws Exception {
        ApprovalService.Pending p = service.open(request("ex_3", "s1", Duration.ofMillis(200), List.of())).orElseThrow();
        Ruling r = p.ruling().get(5, TimeUnit.SECONDS);
        assertEquals(Verdict.EXPIRED, r.verdict());
        assertEquals(Channel.POLICY, r.channel());
        assertEquals(ApprovalService.Outcome.ALREADY_DECIDED, service.decide("ex_3", Ruling.approve(Scope.ONCE, "late", Channel.CLI)));
    }

    @Test
    void aSessionGrantCoversTheSameRulesInThatSessionOnlyAndEndsWithIt() {
        service.open(request("ex_4", "s1", Duration.ofSeconds(30), List.of("a", "b")));
        service.decide("ex_4", Ruling.approve(Scope.SESSION, "alice", Channel.ELICITATION));
        assertTrue(service.covered("s1", List.of("a")));
        assertTrue(service.covered("s1", List.of("a", "b")));
        assertFalse(service.covered("s1", List.of("a", "c")), "a rule nobody granted");
        assertFalse(service.covered("s2", List.of("a")), "another session");
        assertFalse(service.covered("s1", List.of()), "nothing to cover is not a grant");
        service.endSession("s1");
        assertFalse(service.covered("s1", List.of("a")));
    }

    @Test
    void approveOnceGrantsNothingLater() {
        service.open(request("ex_5", "s1", Duration.ofSeconds(30), List.of("a")));
        service.decide("ex_5", Ruling.approve(Scope.ONCE, "alice", Channel.OPERATOR));
        assertFalse(service.covered("s1", List.of("a")));
    }

    @Test
    void theEndOfASessionDeniesWhatItStillHadPending() throws Exception {
        ApprovalService.Pending p = service.open(request("ex_6", "s9", Duration.ofSeconds(30), List.of())).orElseThrow();
        service.endSession("s9");
        assertEquals(Verdict.DENIED, p.ruling().get(1, TimeUnit.SECONDS).verdict());
    }

    @Test
    void aSessionCannotFloodTheOperator() {
        for (int i = 0; i < ApprovalService.PENDING_PER_SESSION; i++) {
            assertTrue(service.open(request("ex_f" + i, "s5", Duration.ofSeconds(30), List.of())).isPresent());
        }
        Optional<ApprovalService.Pending> more = service.open(request("ex_more", "s5", Duration.ofSeconds(30), List.of()));
        assertTrue(more.isEmpty());
        assertTrue(service.open(request("ex_other", "s6", Duration.ofSeconds(30), List.of())).isPresent());
    }

    @Test
    void elicitationAnswersAreMappedAndAnythingElseDenies() throws Exception {
        String[][] cases = {{"approve_once", "APPROVED", "once"}, {"approve_session", "APPROVED", "session"},
                {"deny", "DENIED", "once"}, {"decline", "DENIED", "once"}, {"cancel", "DENIED", "once"},
                {"approve_everything", "DENIED", "once"}, {"error", "DENIED", "once"}};
        int n = 0;
        for (String[] c : cases) {
            String id = "ex_e" + n++;
            ApprovalService.Pending p = service.open(request(id, "s7", Duration.ofSeconds(30), List.of("x"))).orElseThrow();
            service.ask(p, new Prompter() {
                @Override
                public String ask(ApprovalRequest request, Duration timeout) {
                    return c[0];
                }

                @Override
                public String approver() {
                    return "user of test";
                }
            });
            Ruling r = p.ruling().get(5, TimeUnit.SECONDS);
            assertEquals(Verdict.valueOf(c[1]), r.verdict(), c[0]);
            assertEquals(c[2], r.scope().wire(), c[0]);
            assertEquals(Channel.ELICITATION, r.channel());
        }
    }

    @Test
    void theMessageShowsEverythingAPersonNeeds() {
        Instant now = Instant.now();
        ApprovalRequest r = new ApprovalRequest("ex_m", "s", "c", "execute_code", "import os\nos.system('x')", "python", "",
                "L2", List.of(new dev.warden.policy.Finding("code.shell", dev.warden.policy.Severity.HIGH, "runs a shell")),
                List.of("code.shell"), "Held because …", now, now.plusSeconds(5));
        String m = r.describe();
        assertTrue(m.contains("os.system('x')"));
        assertTrue(m.contains("python"));
        assertTrue(m.contains("/workspace"));
        assertTrue(m.contains("tier L2"));
        assertTrue(m.contains("code.shell (high): runs a shell"));
    }

    /** What each answer does under each setting, with and without a live operator console. */
    @Test
    void aClientsAnswerThatNoPersonGaveFallsThroughToALiveOperatorOnlyWhenConfigured() {
        for (String noPerson : new String[] {"decline", "cancel", "error", null}) {
            ApprovalService.AfterAsk deny = ApprovalService.afterAsk(noPerson, "u", ClientDecline.DENY, true);
            assertEquals(Verdict.DENIED, deny.ruling().verdict(), String.valueOf(noPerson));
            assertTrue(deny.ruling().note().contains("declined or cancelled"), deny.ruling().note());
            assertEquals(null, deny.handedOver());
            ApprovalService.AfterAsk over = ApprovalService.afterAsk(noPerson, "u", ClientDecline.OPERATOR, true);
            assertEquals(null, over.ruling(), String.valueOf(noPerson));
            assertTrue(over.handedOver().contains("without a person's decision"), over.handedOver());
            ApprovalService.AfterAsk closed = ApprovalService.afterAsk(noPerson, "u", ClientDecline.OPERATOR, false);
            assertEquals(Verdict.DENIED, closed.ruling().verdict(), "no console: fail closed");
            assertTrue(closed.ruling().note().contains("no operator console is live"), closed.ruling().note());
        }
        for (ClientDecline mode : ClientDecline.values()) {
            for (boolean live : new boolean[] {true, false}) {
                assertEquals(Verdict.DENIED, ApprovalService.afterAsk("deny", "u", mode, live).ruling().verdict(),
                        "a person's deny is a denial under " + mode);
                assertEquals(Verdict.DENIED, ApprovalService.afterAsk("accept", "u", mode, live).ruling().verdict(),
                        "an accept without a decision is a denial under " + mode);
                assertEquals(Verdict.DENIED, ApprovalService.afterAsk("no", "u", mode, live).ruling().verdict());
                assertEquals(Scope.SESSION, ApprovalService.afterAsk("approve_session", "u", mode, live).ruling().scope());
                ApprovalService.AfterAsk opened = ApprovalService.afterAsk("opened", "u", mode, live);
                assertEquals(null, opened.ruling(), "URL mode: the page decides");
                assertEquals(null, opened.handedOver());
            }
        }
        assertEquals(ClientDecline.OPERATOR, ClientDecline.parse("operator"));
        assertEquals(null, ClientDecline.parse("maybe"));
    }

    @Test
    void aHandedOverCallStaysPendingForTheOperatorAndTheOperatorDecidesIt() throws Exception {
        ApprovalService s = new ApprovalService(Duration.ofSeconds(30), (req, r) -> recorded.add(r), ClientDecline.OPERATOR,
                () -> true);
        List<String> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
        s.watch(new ApprovalService.Watcher() {
            @Override
            public void opened(ApprovalRequest request) {
                seen.add("opened " + request.id());
            }

            @Override
            public void decided(ApprovalRequest request, Ruling ruling) {
                seen.add(ruling.verdict().wire() + " " + request.id());
            }
        });
        try {
            ApprovalService.Pending p = s.open(request("ex_h", "s1", Duration.ofSeconds(30), List.of("r"))).orElseThrow();
            s.ask(p, new Prompter() {
                @Override
                public String ask(ApprovalRequest request, Duration timeout) {
                    return Prompter.DECLINE;
                }

                @Override
                public String approver() {
                    return "user of codex";
                }
            });
            assertTrue(p.handedOver().get(5, TimeUnit.SECONDS).contains("declined"));
            assertTrue(p.decided().isEmpty(), "a decline decides nothing");
            assertEquals(1, s.pending().size());
            assertEquals(ApprovalService.Outcome.DECIDED, s.decide("ex_h", Ruling.approve(Scope.ONCE, "alice", Channel.CLI)));
            assertEquals(Verdict.APPROVED, p.ruling().get(1, TimeUnit.SECONDS).verdict());
            assertEquals(List.of("opened ex_h", "approved ex_h"), seen);
        }
        finally {
            s.close();
        }
    }
}
