package dev.warden.exec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import dev.warden.exec.ExitClassifier.Evidence;
import org.junit.jupiter.api.Test;

/** The one reading of exit statuses that L2 and L3 share: which limit, if any, ended a program. */
class ExitClassifierTest {

    // timeout, cpu 1500 ms (2 s), memory 256 MB, 64 pids, output, 16 MB files, nofile, tmp
    private static final Limits LIMITS = new Limits(10_000, 1_500, 256, 64, 65536, 16, 256, 64);
    private final ExitClassifier sandbox = ExitClassifier.of(LIMITS);
    private final ExitClassifier container = ExitClassifier.of(LIMITS, 512, 100, " (the OOM killer ended it)");

    private static Evidence none(Long cpuMs) {
        return new Evidence(false, false, cpuMs);
    }

    @Test
    void theSignalCodesAreTheShellsOnes() {
        assertEquals(128 + 9, ExitClassifier.SIGKILL);
        assertEquals(128 + 24, ExitClassifier.SIGXCPU);
        assertEquals(128 + 25, ExitClassifier.SIGXFSZ);
        assertEquals(125, ExitClassifier.STUB_FAILED);
    }

    @Test
    void ordinaryExitsAreTheProgramsOwn() {
        for (int code : new int[] {0, 1, 2, 124, 125, 126, 127, 130, 143, 255, -1}) {
            assertNull(sandbox.limitHit(code, none(10L)), "exit " + code);
            assertNull(container.limitHit(code, none(10L)), "exit " + code);
        }
    }

    @Test
    void memoryWinsOverEveryOtherSign() {
        Evidence oom = new Evidence(true, true, 5_000L);
        assertEquals("it exceeded the memory limit of 256 MB", sandbox.limitHit(137, oom));
        assertEquals("it exceeded the memory limit of 256 MB", sandbox.limitHit(0, oom));
        assertEquals("it exceeded the memory limit of 512 MB (the OOM killer ended it)", container.limitHit(153, oom));
    }

    @Test
    void cpuNeedsTheSignalAndTheBudgetUsed() {
        // 1500 ms rounds up to 2 s; within 50 ms of it counts
        assertEquals("it used up its CPU time limit of 2 s", sandbox.limitHit(137, none(1_950L)));
        assertEquals("it used up its CPU time limit of 2 s", sandbox.limitHit(152, none(2_400L)));
        assertNull(sandbox.limitHit(137, none(1_949L)), "a kill before the budget is used is not the CPU limit");
        assertNull(sandbox.limitHit(152, none(null)), "unknown usage: never claimed");
        assertNull(sandbox.limitHit(1, none(5_000L)), "an ordinary exit after much CPU is the program's");
        assertEquals("it used up its CPU time limit of 2 s", container.limitHit(152, none(2_000L)));
    }

    @Test
    void fileSizeIsSigxfsz() {
        assertEquals("it tried to write a file larger than 16 MB", sandbox.limitHit(153, none(null)));
        assertEquals("it tried to write a file larger than 16 MB", container.limitHit(153, none(0L)));
    }

    @Test
    void pidsNeedSigkillAndARefusedFork() {
        assertEquals("it hit the limit of 64 processes", sandbox.limitHit(137, new Evidence(false, true, 10L)));
        assertEquals("it hit the limit of 100 processes", container.limitHit(137, new Evidence(false, true, 10L)));
        assertNull(sandbox.limitHit(1, new Evidence(false, true, 10L)), "a program that exits after a refused fork");
        assertNull(sandbox.limitHit(137, none(10L)), "a SIGKILL without a sign is the program's (kill -9 $$)");
    }

    @Test
    void cpuIsCheckedBeforePids() {
        assertEquals("it used up its CPU time limit of 2 s", sandbox.limitHit(137, new Evidence(false, true, 3_000L)));
    }

    @Test
    void exitedBuildsTheOutcomeWithEverythingItWasGiven() {
        Output out = new Output("o".getBytes(), false);
        Output err = new Output("e".getBytes(), true);
        Usage usage = new Usage(12L, 34L);
        Phase compile = new Phase("ok", 0, Output.EMPTY, Output.EMPTY, 5);
        ExecOutcome.Completed c = assertInstanceOf(ExecOutcome.Completed.class,
                sandbox.exited(3, none(1L), out, err, 77, usage, compile));
        assertEquals(3, c.exitCode());
        assertSame(out, c.stdout());
        assertSame(err, c.stderr());
        assertEquals(77, c.durationMs());
        assertSame(usage, c.usage());
        assertSame(compile, c.compile());
        ExecOutcome.Killed k = assertInstanceOf(ExecOutcome.Killed.class,
                sandbox.exited(153, none(1L), out, err, 78, usage, null));
        assertEquals("it tried to write a file larger than 16 MB", k.reason());
        assertArrayEquals("o".getBytes(), k.stdout().bytes());
        assertNull(k.compile());
    }
}
