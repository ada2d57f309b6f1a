package dev.warden.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.warden.approval.ApprovalService;
import dev.warden.approval.Ruling;
import dev.warden.approval.Scope;
import dev.warden.audit.AuditLog;
import dev.warden.call.Channel;
import dev.warden.call.Status;
import dev.warden.config.ConfigLoader;
import dev.warden.config.WardenConfig;
import dev.warden.contract.ApprovalCall;
import dev.warden.contract.ApprovalResult;
import dev.warden.contract.CallResult;
import dev.warden.contract.CommandCall;
import dev.warden.egress.Addresses;
import dev.warden.egress.CallNetwork;
import dev.warden.egress.NetworkPolicy;
import dev.warden.exec.ExecOutcome;
import dev.warden.exec.ExecRequest;
import dev.warden.exec.Executor;
import dev.warden.exec.Languages;
import dev.warden.exec.Limits;
import dev.warden.exec.Output;
import dev.warden.exec.Usage;
import dev.warden.policy.Finding;
import dev.warden.policy.Policy;
import dev.warden.policy.PolicyLoader;
import dev.warden.sanitize.Sanitizer;
import dev.warden.session.OwnGroup;
import dev.warden.session.WorkspaceDirs;
import dev.warden.session.Workspaces;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The network step of the road with a stand-in sandbox that "connects" to each host:port its command
 * names, through the call's network exactly as the proxy would: what a call may reach, how a request
 * for more is held and what an approval grants (for the call, or the session), and what the result
 * and the audit line say.
 */
class NetworkGateTest {

    private Path dir;
    private Workspaces workspaces;
    private AuditLog audit;
    private ApprovalService approvals;
    private final WardenConfig config = new ConfigLoader().load(null);
    private static final Caller CALLER = new Caller("s1", "test/1", "stdio");
    private static final String HOSTS = "  hosts: {ok.test: 93.184.216.34, new.test: 93.184.216.35, other.test: 93.184.216.36, registry.npmjs.org: 93.184.216.37}\n";

    @BeforeEach
    void setUp() throws Exception {
        dir = Files.createTempDirectory("warden-network-gate-");
        workspaces = new Workspaces(dir.resolve("ws"), false, OwnGroup.gid(), ws -> { }, ws -> { });
        audit = new AuditLog(dir.resolve("audit.jsonl"), false, new ObjectMapper());
        approvals = new ApprovalService(Duration.ofSeconds(10), (r, d) -> { });
    }

    @AfterEach
    void tearDown() throws Exception {
        workspaces.close();
        audit.close();
        WorkspaceDirs.delete(dir);
    }

    /** The stand-in sandbox: `connect HOST:PORT ...` opens each through the call's network and prints the verdicts. */
    private static final Executor SANDBOX = new Executor() {
        @Override
        public ExecOutcome run(ExecRequest request, Limits limits) {
            StringBuilder out = new StringBuilder();
            for (String target : request.argv().subList(1, request.argv().size())) {
                if (!target.contains(":") || target.contains("/")) {
                    continue;
                }
                int colon = target.lastIndexOf(':');
                CallNetwork.Verdict v = ((CallNetwork) request.egress()).open(target.substring(0, colon),
                        Integer.parseInt(target.substring(colon + 1)));
                if (v instanceof CallNetwork.Allowed a) {
                    a.attempt().sent(100);
                    a.attempt().received(1000);
                }
                out.append(target).append(v instanceof CallNetwork.Allowed ? " ok\n" : " refused\n");
            }
            return new ExecOutcome.Completed(0, new Output(out.toString().getBytes(StandardCharsets.UTF_8), false),
                    Output.EMPTY, 5, Usage.UNKNOWN);
        }

        @Override
        public String name() {
            return "sandbox";
        }
    };

    private CallPipeline pipeline(String network, String preset) throws Exception {
        Path f = dir.resolve("policy.yaml");
        Files.writeString(f, "network:\n" + network + HOSTS);
        Policy policy = new Policy(new PolicyLoader().load(f, preset));
        return new CallPipeline(policy, workspaces, new Languages(config.languages(), config.container().languages()),
                tier -> SANDBOX, new Sanitizer(List.of(), Map.of()), audit, config.limits(), lang -> java.util.Optional.empty(),
                approvals, new dev.warden.limit.RateLimits(config.rateLimits()), new dev.warden.limit.Executions(4, 4, 1000),
                Clock.systemUTC(), NetworkPolicy.parse(policy.networkSection(), policy.preset()), Addresses.of(Set.of()));
    }

    private static CommandCall connect(List<String> network, String... targets) {
        return new CommandCall("connect " + String.join(" ", targets), null, null, null, null, network);
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> list(CallResult r, String key) {
        return (List<Map<String, Object>>) r.network().get(key);
    }

    private static Finding finding(CallResult r, String rule) {
        return r.findings().stream().filter(f -> f.rule().equals(rule)).findFirst().orElse(null);
    }

    @Test
    void aRunReachesWhatThePolicyAllowsAndIsToldWhyTheRestWasRefused() throws Exception {
        CallResult r = pipeline("  allow: [ok.test]\n", null).runCommand(CALLER, connect(null, "ok.test:443", "other.test:443"));
        assertEquals(Status.OK, r.status(), r.message());
        assertEquals("ok.test:443 ok\nother.test:443 refused\n", r.stdout());
        assertEquals(List.of(Map.of("host", "ok.test", "port", 443, "bytes_in", 1000L, "bytes_out", 100L)), list(r, "allowed"));
        assertEquals("other.test", list(r, "denied").get(0).get("host"));
        Finding denied = finding(r, "network.denied");
        assertNotNull(denied, r.findings().toString());
        assertTrue(denied.detail().contains("other.test is not allowed") && denied.detail().contains("\"network\": [\"other.test\"]"),
                denied.detail());
        String line = Files.readString(dir.resolve("audit.jsonl"));
        assertTrue(line.contains("\"address\":\"93.184.216.34\"") && line.contains("\"by\":\"network policy allow (ok.test)\""), line);
    }

    @Test
    void askingForAHostHoldsTheCallAndAnApprovalGrantsItForThatCallOnly() throws Exception {
        CallPipeline p = pipeline("  allow: []\n", null);
        CallResult held = p.runCommand(CALLER, connect(List.of("new.test"), "new.test:443"));
        assertEquals(Status.NEEDS_APPROVAL, held.status(), held.message());
        Finding asked = finding(held, "network.request");
        assertTrue(asked != null && asked.detail().contains("new.test"), held.findings().toString());
        ApprovalResult a = approve(p, held.executionId(), Scope.ONCE);
        assertEquals(Status.OK, a.result().status(), a.result().message());
        assertEquals("new.test:443 ok\n", a.result().stdout());
        CallResult again = p.runCommand(CALLER, connect(null, "new.test:443"));
        assertEquals("new.test:443 refused\n", again.stdout(), "approve_once granted it for that call only");
    }

    @Test
    void aSessionApprovalGrantsTheHostsForTheRestOfTheSessionButNoMore() throws Exception {
        CallPipeline p = pipeline("  allow: []\n", null);
        CallResult held = p.runCommand(CALLER, connect(List.of("new.test", "npm"), "new.test:443"));
        assertEquals(Status.NEEDS_APPROVAL, held.status());
        assertEquals(Status.OK, approve(p, held.executionId(), Scope.SESSION).result().status());
        CallResult later = p.runCommand(CALLER, connect(List.of("new.test"), "new.test:443", "registry.npmjs.org:443"));
        assertEquals(Status.OK, later.status(), "not asked again: " + later.message());
        assertEquals("new.test:443 ok\nregistry.npmjs.org:443 ok\n", later.stdout(), "the npm preset came with the grant");
        assertEquals(List.of("npm"), later.network().get("presets"));
        CallResult more = p.runCommand(CALLER, connect(List.of("other.test"), "other.test:443"));
        assertEquals(Status.NEEDS_APPROVAL, more.status(), "a session grant covers what was approved, not every request");
        CallResult elsewhere = p.runCommand(new Caller("s2", "test/1", "stdio"), connect(null, "new.test:443"));
        assertEquals("new.test:443 refused\n", elsewhere.stdout(), "another session has none of it");
    }

    @Test
    void badOrTooBroadRequestsAreInvalidAndBlockedOnesRefused() throws Exception {
        CallPipeline p = pipeline("  allow: []\n", null);
        for (String bad : List.of("*.example.org", "10.0.0.0/8", "example.org:*", "exa mple", "http://x/")) {
            CallResult r = p.runCommand(CALLER, connect(List.of(bad), "x:1"));
            assertEquals(Status.INVALID, r.status(), bad);
            assertTrue(r.message().startsWith("network:"), r.message());
        }
        CallResult strict = pipeline("  allow: []\n", "strict").runCommand(CALLER, connect(List.of("pypi"), "x:1"));
        assertEquals(Status.BLOCKED, strict.status());
        assertTrue(strict.message().contains("pypi"), strict.message());
        CallResult noRequests = pipeline("  request: block\n", null).runCommand(CALLER, connect(List.of("new.test"), "x:1"));
        assertEquals(Status.BLOCKED, noRequests.status());
        assertTrue(noRequests.message().contains("takes no requests"), noRequests.message());
    }

    @Test
    void anApprovedPackageInstallReachesItsRegistryForThatCall() throws Exception {
        CallPipeline p = pipeline("  allow: []\n", null);
        CallResult held = p.runCommand(CALLER, new CommandCall("npm install registry.npmjs.org:443", null, null, null, null));
        assertEquals(Status.NEEDS_APPROVAL, held.status(), held.message());
        Finding preset = finding(held, "network.preset");
        assertTrue(preset != null && preset.detail().contains("registry.npmjs.org"), held.findings().toString());
        ApprovalResult a = approve(p, held.executionId(), Scope.ONCE);
        assertEquals("registry.npmjs.org:443 ok\n", a.result().stdout());
        assertEquals(List.of("npm"), a.result().network().get("presets"));
        CallResult plain = p.runCommand(CALLER, connect(null, "registry.npmjs.org:443"));
        assertEquals("registry.npmjs.org:443 refused\n", plain.stdout(), "only the approved install had it");
        assertTrue(finding(plain, "network.denied").detail().contains("\"network\": [\"npm\"]"), plain.findings().toString());
    }

    @Test
    void aNetworkToolAimedAtAllowedHostsRunsAtItsTier() throws Exception {
        CallPipeline p = pipeline("  allow: [ok.test]\n", null);
        CallResult r = p.runCommand(CALLER, new CommandCall("curl -s https://ok.test/x", null, null, null, null));
        assertEquals(Status.OK, r.status(), r.message());
        assertEquals("INFO", finding(r, "network.tool").severity().name(), r.findings().toString());
        CallResult held = p.runCommand(CALLER, new CommandCall("curl -s https://other.test/x", null, null, null, null));
        assertEquals(Status.NEEDS_APPROVAL, held.status(), held.message());
    }

    @Test
    void aHostThePolicyAlreadyAllowsIsNotAskedFor() throws Exception {
        CallResult r = pipeline("  allow: [ok.test]\n", null).runCommand(CALLER, connect(List.of("ok.test"), "ok.test:443"));
        assertEquals(Status.OK, r.status(), r.message());
        assertEquals("info", finding(r, "network.request").severity().name().toLowerCase(java.util.Locale.ROOT));
    }

    private ApprovalResult approve(CallPipeline p, String id, Scope scope) throws Exception {
        CompletableFuture<ApprovalResult> waiting = CompletableFuture.supplyAsync(() ->
                p.requestApproval(CALLER, new ApprovalCall(id, null, null)));
        for (int i = 0; i < 200 && approvals.find(id).isEmpty(); i++) {
            Thread.sleep(10);
        }
        approvals.decide(id, Ruling.approve(scope, "alice", Channel.CLI));
        return waiting.get(10, TimeUnit.SECONDS);
    }
}
