package dev.warden.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The walk for a run's changed files: what counts, what is skipped, what it never follows, and its caps. */
class ChangedFilesTest {

    @TempDir
    Path ws;

    @Test
    void findsFilesChangedSinceTheMarkAndNothingOlderNorSkippedNorThroughSymlinks() throws Exception {
        Files.writeString(ws.resolve("old.txt"), "before");
        Files.createDirectories(ws.resolve("sub/deeper"));
        Files.writeString(ws.resolve("sub/untouched.txt"), "before");
        Thread.sleep(20);
        Instant since = Instant.now().minusMillis(Artifacts.MARGIN_MS);
        Thread.sleep(20);
        Files.writeString(ws.resolve("out.csv"), "a,b\n1,2\n");
        Files.write(ws.resolve("sub/deeper/plot.png"), new byte[] {1, 2, 3});
        Files.writeString(ws.resolve("old.txt"), "changed!", StandardCharsets.UTF_8);
        Files.createDirectories(ws.resolve(".git/objects"));
        Files.writeString(ws.resolve(".git/objects/x"), "git's");
        Files.createDirectories(ws.resolve("web/node_modules/pkg"));
        Files.writeString(ws.resolve("web/node_modules/pkg/index.js"), "dep");
        Path outside = Files.createTempDirectory("warden-outside");
        Files.writeString(outside.resolve("secret.txt"), "host file, changed now");
        Files.createSymbolicLink(ws.resolve("link"), outside);
        Files.createSymbolicLink(ws.resolve("filelink"), outside.resolve("secret.txt"));
        new ProcessBuilder("mkfifo", ws.resolve("pipe").toString()).start().waitFor();

        ChangedFiles.Scan scan = new ChangedFiles(5000).since(ws, since);

        assertEquals(List.of(new ChangedFiles.Found("old.txt", 8), new ChangedFiles.Found("out.csv", 8),
                new ChangedFiles.Found("sub/deeper/plot.png", 3)), scan.files());
        assertFalse(scan.truncated());
        Files.walk(outside).sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }

    @Test
    void moreThanTheCapIsCutAndSaidSo() throws Exception {
        Instant since = Instant.now().minusMillis(Artifacts.MARGIN_MS);
        for (int i = 0; i < ChangedFiles.MAX + 20; i++) {
            Files.writeString(ws.resolve(String.format("f%03d", i)), "x");
        }
        ChangedFiles.Scan scan = new ChangedFiles(5000).since(ws, since);
        assertEquals(ChangedFiles.MAX, scan.files().size());
        assertTrue(scan.truncated());
        assertEquals(scan.files().stream().map(ChangedFiles.Found::path).sorted().toList(),
                scan.files().stream().map(ChangedFiles.Found::path).toList(), "sorted by path");
    }

    @Test
    void nothingChangedIsAnEmptyListAndZeroMeansNoWalk() throws Exception {
        Files.writeString(ws.resolve("old.txt"), "before");
        Thread.sleep(20);
        assertEquals(ChangedFiles.Scan.NONE, new ChangedFiles(5000).since(ws, Instant.now()));
        assertFalse(new ChangedFiles(0).enabled());
        assertEquals(ChangedFiles.Scan.NONE, new ChangedFiles(0).since(ws, Instant.EPOCH));
    }

    @Test
    void recordsAreParsedAndWhatIsNotARecordOrNotUtf8IsLeftOut() {
        byte[] out = bytes("12\tb.txt\0", "7\ta/x y\tz\0", "zz\tbad\0", "3\t\0");
        byte[] notUtf8 = {'1', '\t', (byte) 0xff, 0};
        byte[] cutLast = "5\tcut".getBytes(StandardCharsets.UTF_8);
        byte[] all = new byte[out.length + notUtf8.length + cutLast.length];
        System.arraycopy(out, 0, all, 0, out.length);
        System.arraycopy(notUtf8, 0, all, out.length, notUtf8.length);
        System.arraycopy(cutLast, 0, all, out.length + notUtf8.length, cutLast.length);
        ChangedFiles.Scan scan = ChangedFiles.parse(all, false);
        assertEquals(List.of(new ChangedFiles.Found("a/x y\tz", 7), new ChangedFiles.Found("b.txt", 12)), scan.files());
        assertFalse(scan.truncated());
        assertTrue(ChangedFiles.parse(all, true).truncated(), "a walk that stopped early says so");
    }

    @Test
    void theCommandNeverFollowsAndStaysOnOneFilesystem() {
        List<String> argv = ChangedFiles.command(Path.of("/ws/s-1"), Instant.ofEpochSecond(1700000000, 5_000_000));
        assertEquals(List.of("/usr/bin/find", "-P", "/ws/s-1", "-xdev"), argv.subList(0, 4));
        assertTrue(argv.contains("@1700000000.005000000"), argv.toString());
        assertFalse(argv.contains("-L") || argv.contains("-follow"));
        assertTrue(argv.containsAll(List.of("-newerct", "-prune", ".git", "node_modules")));
    }

    private static byte[] bytes(String... records) {
        return String.join("", records).getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void aKernelsReportKeepsOnlyPlainlyRelativePaths() {
        byte[] records = ("3\tok.txt\0" + "4\tdir/b.csv\0" + "5\t/etc/passwd\0" + "6\t../up\0" + "7\ta/../../b\0"
                + "8\ta//b\0" + "9\t./c\0" + "1\tdir/\0").getBytes(java.nio.charset.StandardCharsets.UTF_8);
        ChangedFiles.Scan scan = ChangedFiles.reported(records, false);
        org.junit.jupiter.api.Assertions.assertEquals(java.util.List.of(new ChangedFiles.Found("dir/b.csv", 4),
                new ChangedFiles.Found("ok.txt", 3)), scan.files());
        org.junit.jupiter.api.Assertions.assertFalse(scan.truncated());
        org.junit.jupiter.api.Assertions.assertTrue(ChangedFiles.reported(records, true).truncated());
    }
}
