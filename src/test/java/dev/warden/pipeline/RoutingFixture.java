package dev.warden.pipeline;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.warden.audit.AuditLog;
import dev.warden.config.ConfigLoader;
import dev.warden.config.WardenConfig;
import dev.warden.exec.ContainerStatus;
import dev.warden.exec.ExecOutcome;
import dev.warden.exec.ExecRequest;
import dev.warden.exec.Executor;
import dev.warden.exec.Languages;
import dev.warden.exec.Limits;
import dev.warden.exec.Output;
import dev.warden.exec.Usage;
import dev.warden.policy.Policy;
import dev.warden.policy.PolicyLoader;
import dev.warden.sanitize.Sanitizer;
import dev.warden.session.OwnGroup;
import dev.warden.session.WorkspaceDirs;
import dev.warden.session.Workspaces;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/**
 * The routing tests' pipeline: real policy, workspaces and audit, with stand-in executors that record
 * where each call ran (L3RoutingTest, DockerOnlyRoutingTest).
 */
abstract class RoutingFixture {

    Path dir;
    Workspaces workspaces;
    AuditLog audit;
    final WardenConfig config = new ConfigLoader().load(null);
    /** What ran where: "executor:language:memory_mb", in order. */
    final List<String> ran = new ArrayList<>();

    @BeforeEach
    void setUp() throws Exception {
        dir = Files.createTempDirectory("warden-routing-");
        workspaces = new Workspaces(dir.resolve("ws"), false, OwnGroup.gid(), ws -> { }, ws -> { });
        audit = new AuditLog(dir.resolve("audit.jsonl"), false, new ObjectMapper());
    }

    @AfterEach
    void tearDown() throws Exception {
        workspaces.close();
        audit.close();
        WorkspaceDirs.delete(dir);
    }

    Executor recording(String name, ExecOutcome outcome) {
        return new Executor() {
            @Override
            public ExecOutcome run(ExecRequest request, Limits limits) {
                ran.add(name + ":" + request.language() + ":" + limits.memoryMb());
                return outcome;
            }

            @Override
            public String name() {
                return name;
            }
        };
    }

    /**
     * A pipeline on this policy (null: the default) whose L3 is a recording container and every other
     * tier a recording sandbox.
     */
    CallPipeline pipeline(String policyText, ContainerStatus status, ExecOutcome containerOutcome) throws Exception {
        Path f = null;
        if (policyText != null) {
            f = dir.resolve("policy.yaml");
            Files.writeString(f, policyText);
        }
        Policy policy = new Policy(new PolicyLoader().load(f, null));
        ExecOutcome ok = new ExecOutcome.Completed(0, new Output("hi\n".getBytes(StandardCharsets.UTF_8), false),
                Output.EMPTY, 5, Usage.UNKNOWN);
        Executor sandbox = recording("sandbox", ok);
        Executor container = recording("container", containerOutcome == null ? ok : containerOutcome);
        return new CallPipeline(policy, workspaces, new Languages(config.languages(), config.container().languages()),
                tier -> switch (tier) {
                    case L3 -> container;
                    default -> sandbox;
                }, new Sanitizer(List.of(), Map.of()), audit, config.limits(), status,
                new dev.warden.approval.ApprovalService(java.time.Duration.ofSeconds(5), (r, d) -> {
                }), new dev.warden.limit.RateLimits(config.rateLimits()), new dev.warden.limit.Executions(4, 4, 1000));
    }
}
