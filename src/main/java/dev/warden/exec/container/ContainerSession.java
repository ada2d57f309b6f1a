package dev.warden.exec.container;

import dev.warden.exec.ExecOutcome;
import dev.warden.exec.LiveOutput;
import dev.warden.exec.Output;
import dev.warden.exec.ProcessRun;
import dev.warden.exec.StdinPipe;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The streams of one phase in a container: the run phase attaches to the container's own waiting
 * stub, the compile phase starts an exec of the stub beside it. Either way: send the stub's request
 * and the input, drain both outputs with the cap, kill the container at the wall limit, and then
 * find out how it ended (the end marker, the engine's exit status, the cgroup's OOM and pids counters).
 */
final class ContainerSession {

    private static final Logger log = LoggerFactory.getLogger(ContainerSession.class);
    private static final int INLINE_INPUT = 65536;
    private static final byte[] END_MARKER = ContainerCommand.END_MARKER.getBytes(StandardCharsets.US_ASCII);

    private final DockerEngine engine;
    private final EngineSocket socket;
    private final CgroupFiles cgroups; // null: usage unknown
    private final ScheduledExecutorService timer;
    private final ExecutorService io;

    ContainerSession(DockerEngine engine, EngineSocket socket, CgroupFiles cgroups, ScheduledExecutorService timer,
            ExecutorService io) {
        this.engine = engine;
        this.socket = socket;
        this.cgroups = cgroups;
        this.timer = timer;
        this.io = io;
    }

    /** How one phase ended. */
    static final class Step {
        ExecOutcome.Refused refused;
        Output stdout = Output.EMPTY;
        Output stderr = Output.EMPTY;
        int exitCode = -1;
        boolean timedOut;
        boolean oom;
        boolean pidsHit;
        boolean sandboxEnded;
        /** The stub marked the program as started (its first stderr bytes). */
        boolean started;
        long durationMs;
    }

    /** The run phase: the container's own waiting stub gets the request. */
    Step attach(Container c, byte[] request, byte[] stdin, long timeoutMs, int cap, LiveOutput live, StdinPipe input) {
        Step step = new Step();
        long t0 = System.nanoTime();
        EngineSocket.Hijacked stream;
        try {
            stream = socket.attach(c.id());
        }
        catch (IOException e) {
            log.error("attach to {} failed: {}", c.name(), e.getMessage());
            step.refused = new ExecOutcome.Refused("the container could not be reached", false);
            return step;
        }
        try (stream) {
            pump(c, stream, request, stdin, timeoutMs, cap, step, t0, END_MARKER, live, input);
        }
        // a fresh container: any OOM kill in it is this run's
        boolean oomSeen = !step.timedOut && cgroups != null && cgroups.oomKills(c.name(), c.id()) > 0;
        boolean noMarker = step.exitCode < 0 && !step.timedOut;
        if (step.exitCode < 0 || step.timedOut) {
            // no end marker (the wrapper itself was killed, or the wall limit): the container's own status
            try {
                step.exitCode = socket.waitStatus(c.id());
            }
            catch (IOException e) {
                step.exitCode = -1;
            }
        }
        step.durationMs = (System.nanoTime() - t0) / 1_000_000;
        step.oom = !step.timedOut && (oomSeen || (step.exitCode == 137 && engine.oomKilled(c.id())));
        // Under runsc, a container that ends with status 2 and without the wrapper's marker is gVisor
        // itself exiting: its Go runtime could not make a thread, because the pids limit (which
        // counts gVisor's threads with the program's) refused it. The cgroup that counted the refusal
        // is gone with the container, so this is the only sign.
        step.sandboxEnded = noMarker && !step.oom && step.exitCode == 2 && ContainerSpec.RUNSC.equals(c.runtime());
        return step;
    }

    /** The compile phase: an exec of the stub in the same container, the source on its stdin. */
    Step exec(Container c, String user, byte[] request, byte[] stdin, long timeoutMs, int cap) {
        Step step = new Step();
        long t0 = System.nanoTime();
        String execId;
        EngineSocket.Hijacked stream;
        try {
            execId = engine.createExec(c.id(), user, List.of(ContainerSpec.STUB, "--request", "--mark-exec"),
                    ContainerSpec.WORKSPACE);
            stream = socket.startExec(execId);
        }
        catch (IOException | RuntimeException e) {
            log.error("exec in {} failed: {}", c.name(), e.getMessage());
            step.refused = new ExecOutcome.Refused("the compiler could not be started in the container", false);
            return step;
        }
        try (stream) {
            pump(c, stream, request, stdin, timeoutMs, cap, step, t0, null, null, null);
        }
        boolean oomSeen = !step.timedOut && cgroups != null && cgroups.oomKills(c.name(), c.id()) > 0;
        if (!step.timedOut) {
            // the streams close as the process exits; its exit code is recorded a moment later
            for (int i = 0; i < 200; i++) {
                try {
                    Integer code = socket.execExitCode(execId);
                    if (code != null) {
                        step.exitCode = code;
                        break;
                    }
                    Thread.sleep(5);
                }
                catch (IOException e) {
                    break;
                }
                catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
        }
        step.durationMs = (System.nanoTime() - t0) / 1_000_000;
        step.oom = oomSeen;
        return step;
    }

    /** Feed the input, drain the output with caps, and kill the container at the wall limit. */
    private void pump(Container c, EngineSocket.Hijacked stream, byte[] request, byte[] stdin, long timeoutMs, int cap,
            Step step, long t0, byte[] endMarker, LiveOutput live, StdinPipe input) {
        AtomicBoolean fired = new AtomicBoolean();
        ScheduledFuture<?> limit = timer.schedule(() -> {
            fired.set(true);
            if (cgroups != null) {
                step.pidsHit = cgroups.pidsLimitHits(c.name(), c.id()) > 0;
            }
            engine.kill(c.id());
            // the engine closes the stream when the container dies; if not, close it ourselves
            timer.schedule(stream::close, 3, TimeUnit.SECONDS);
        }, Math.max(1, timeoutMs - (System.nanoTime() - t0) / 1_000_000), TimeUnit.MILLISECONDS);
        try {
            Future<?> feeding = null;
            if (input == null && request.length + stdin.length <= INLINE_INPUT) {
                send(stream, request, stdin, null);
            }
            else {
                feeding = io.submit(() -> send(stream, request, stdin, input));
            }
            EngineSocket.Hijacked.Outputs out = stream.drain(cap, endMarker, live);
            step.stdout = out.stdout();
            // the stub's start mark: whether the program ran is never read from the program's own words
            step.started = ProcessRun.startsWithMark(out.stderr());
            step.stderr = step.started ? ProcessRun.unmark(out.stderr()) : out.stderr();
            if (out.exitCode() != null) {
                step.exitCode = out.exitCode();
            }
            if (feeding != null) {
                if (input != null) {
                    input.close(); // the program is gone: the feeding thread ends with what is left
                }
                feeding.cancel(true);
            }
        }
        finally {
            limit.cancel(false);
            step.timedOut = fired.get();
        }
    }

    private static void send(EngineSocket.Hijacked stream, byte[] request, byte[] stdin, StdinPipe input) {
        try {
            stream.send(request, stdin, input);
        }
        catch (IOException ignored) {
            // the program exited or closed stdin without reading it all: that is its right
        }
        catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // the run is over
        }
    }
}
