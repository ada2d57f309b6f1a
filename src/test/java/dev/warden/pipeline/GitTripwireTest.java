package dev.warden.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.policy.Finding;
import dev.warden.policy.Severity;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class GitTripwireTest {

    @Test
    void nothingSetAsideIsNoFinding() {
        assertEquals(List.of(), GitTripwire.findings(""));
        assertEquals(List.of(), GitTripwire.findings("\n"));
    }

    @Test
    void whatWasSetAsideAndWhatCouldNotBeAreTwoCriticalFindings() {
        List<Finding> f = GitTripwire.findings("quarantined\tvendor/lib/.git/config\nquarantined\t.git/commondir\n"
                + "failed\tother/.git\n");
        assertEquals(2, f.size());
        assertTrue(f.stream().allMatch(x -> x.rule().equals("project.git_exec") && x.severity() == Severity.CRITICAL));
        assertTrue(f.get(0).detail().endsWith("set aside as NAME.warden-quarantined: vendor/lib/.git/config, .git/commondir"),
                f.get(0).detail());
        assertTrue(f.get(1).detail().contains("could NOT be set aside"), f.get(1).detail());
        assertTrue(f.get(1).detail().endsWith(": other/.git"), f.get(1).detail());
    }

    @Test
    void aPathIsOneVisibleLineAndALongListIsCut() {
        String many = IntStream.range(0, 25).mapToObj(i -> "quarantined\tr" + i + "/.git/config")
            .collect(Collectors.joining("\n"));
        Finding f = GitTripwire.findings(many).get(0);
        assertTrue(f.detail().endsWith("r9/.git/config and 15 more"), f.detail());
        Finding odd = GitTripwire.findings("quarantined\ta\u001b[31mb/.git/config\n").get(0);
        assertTrue(!odd.detail().contains("\u001b"), odd.detail());
    }
}
