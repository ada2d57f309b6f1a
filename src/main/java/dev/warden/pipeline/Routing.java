package dev.warden.pipeline;

import dev.warden.call.Status;
import dev.warden.call.Tier;
import dev.warden.config.ContainerLimits;
import dev.warden.config.WardenConfig.LimitsConfig;
import dev.warden.exec.ContainerStatus;
import dev.warden.exec.ExecRequest;
import dev.warden.exec.Language;
import dev.warden.exec.Languages;
import dev.warden.exec.Limits;
import dev.warden.policy.Finding;
import dev.warden.policy.Policy;
import dev.warden.policy.Severity;
import java.util.Optional;

/**
 * Where a decided call runs. L3: a container if the engine and the language's image are there
 * (with the container's limits); else refused, or the L2 sandbox when the operator's policy allows
 * it (l3_fallback: L2), and the result says so. A language that exists only in containers is never
 * run on the host.
 */
final class Routing {

    private final Policy policy;
    private final Languages languages;
    private final ContainerStatus containers;
    private final LimitsConfig limits;
    private final Results results;

    Routing(Policy policy, Languages languages, ContainerStatus containers, LimitsConfig limits, Results results) {
        this.policy = policy;
        this.languages = languages;
        this.containers = containers;
        this.limits = limits;
        this.results = results;
    }

    /** Sets the context's tier and limits for the run, or stops the call with the reason it cannot run. */
    void route(CallContext c, ExecRequest req) {
        String name = req.language() == null ? "bash" : req.language(); // a command runs in the bash image
        boolean onHost = req.language() == null || languages.find(name).map(Language::onHost).orElse(false);
        Optional<String> noSandbox = containers.hostSandboxMissing();
        if (noSandbox.isPresent()) {
            dockerOnly(c, name, noSandbox.get());
            return;
        }
        if (c.tier() == Tier.L3) {
            Optional<String> down = containers.unavailable(name);
            if (down.isEmpty()) {
                c.limits(containerLimits(name, c.subject().askedTimeoutMs(), c.limits(), c.background()));
            }
            else if (policy.l3FallbackToL2() && req.language() != null && onHost) {
                c.tier(Tier.L2);
                c.found(new Finding("container.fallback", Severity.MEDIUM,
                        "the policy routes this to a container (L3), but " + down.get()
                                + "; it ran in the L2 sandbox instead, as the policy's l3_fallback allows"));
            }
            else {
                throw new Stop(results.notRun(c.id, Status.FAILED, Tier.L3, c.findings(), "It did not run: the policy "
                        + "routes it to a container (L3), and " + down.get() + ". Warden does not run it anywhere else.",
                        c.limits()));
            }
        }
        else if (!onHost) {
            throw new Stop(results.notRun(c.id, Status.FAILED, c.tier(), c.findings(), "It did not run: " + name
                    + " exists only in containers (L3), and the policy routes this call to " + c.tier() + ".",
                    c.limits()));
        }
    }

    /**
     * Docker-only mode (no sandbox on this host): what the policy sends to L1 or L2 runs in a
     * container, with every confinement and limit of L3, and the result says L3 and container,
     * because that is what ran it; a finding names the policy's own tier. A kernel, which lives in
     * an L2 sandbox, is refused; so is everything when the engine cannot run the language. Never
     * anywhere else.
     */
    private void dockerOnly(CallContext c, String name, String noSandbox) {
        Tier decided = c.tier();
        if (c.kernel() != null) {
            throw new Stop(results.notRun(c.id, Status.FAILED, decided, c.findings(), "It did not run: kernels live "
                    + "in L2 sandboxes, and this server has none (" + noSandbox + "); it runs calls in containers "
                    + "(docker-only mode), one container per call, so no state carries from cell to cell. Run the "
                    + "code without kernel.", c.limits()));
        }
        Optional<String> down = containers.unavailable(name);
        if (down.isPresent()) {
            throw new Stop(results.notRun(c.id, Status.FAILED, decided, c.findings(), "It did not run: "
                    + ContainerStatus.nothingToRunWith(noSandbox, down.get()) + ".", c.limits()));
        }
        if (decided != Tier.L3) {
            c.tier(Tier.L3);
            c.found(new Finding("host.docker_only", Severity.INFO, "the policy runs this at " + decided + ", and this "
                    + "server has no sandbox (" + noSandbox + "): it ran in a container (L3), with L3's limits"));
        }
        c.limits(containerLimits(name, c.subject().askedTimeoutMs(), c.limits(), c.background()));
    }

    /**
     * A container's limits: memory and pids of the language's container (policy), the call's timeout
     * if it named one (already capped at the maximum), else the language's; the rest as configured.
     */
    private Limits containerLimits(String language, Long askedTimeoutMs, Limits granted, boolean background) {
        ContainerLimits c = policy.containerLimits(language);
        // a background run without a timeout of its own keeps the background limit it was granted
        long timeout = askedTimeoutMs != null || background ? granted.timeoutMs()
                : Math.min(c.timeoutMs(), limits.maxTimeoutMs());
        return new Limits(timeout, granted.cpuMs(), c.memoryMb(), c.pids(), granted.outputBytes(), granted.fileSizeMb(),
                granted.openFiles(), granted.tmpMb());
    }
}
