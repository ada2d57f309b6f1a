package dev.warden.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AuditLogTest {

    @TempDir
    Path dir;

    @Test
    void rotationKeepsEveryLineWholeAndNoneLost() throws Exception {
        ObjectMapper json = new ObjectMapper();
        Path file = dir.resolve("audit.jsonl");
        int n = 2000;
        try (AuditLog log = new AuditLog(file, dir.resolve("incidents.jsonl"), false, 16 * 1024, 50, json)) {
            Thread[] threads = new Thread[4];
            for (int t = 0; t < threads.length; t++) {
                int base = t * (n / threads.length);
                threads[t] = new Thread(() -> {
                    for (int i = 0; i < n / threads.length; i++) {
                        log.append(Map.of("execution_id", "ex_" + (base + i), "pad", "x".repeat(100)));
                    }
                });
                threads[t].start();
            }
            for (Thread t : threads) {
                t.join();
            }
            List<Path> files = log.files();
            assertTrue(files.size() > 5, "rotated: " + files);
            Set<String> ids = new HashSet<>();
            for (Path f : files) {
                assertTrue(Files.size(f) < 16 * 1024 + 512, "each file is about max_bytes");
                for (String line : Files.readAllLines(f)) {
                    ids.add((String) json.readValue(line, Map.class).get("execution_id"));
                }
            }
            assertEquals(n, ids.size(), "every line is in one of the files");
            assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
        }
    }

    @Test
    void incidentsGoToBothFilesAndRotationDropsTheOldest() throws Exception {
        ObjectMapper json = new ObjectMapper();
        Path file = dir.resolve("a.jsonl");
        try (AuditLog log = new AuditLog(file, dir.resolve("inc.jsonl"), true, 200, 2, json)) {
            log.incident(Map.of("execution_id", "ex_inc", "status", "blocked"));
            List<String> all = new ArrayList<>();
            for (int i = 0; i < 50; i++) {
                log.append(Map.of("execution_id", "ex_" + i, "pad", "y".repeat(50)));
            }
            assertEquals(1, Files.readAllLines(dir.resolve("inc.jsonl")).size());
            assertEquals(3, log.files().size(), "the file and keep=2 rotated ones");
            for (Path f : log.files()) {
                all.addAll(Files.readAllLines(f));
            }
            assertTrue(all.stream().anyMatch(l -> l.contains("ex_49")));
        }
    }
}
