package dev.warden.fleet;

import dev.warden.config.WardenConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Real Redis and PostgreSQL on loopback for a fleet test class, started before its tests and stopped after
 * them by tools/fleet-services.sh (the same script the node fleet tests and the benchmarks use):
 * {@code @RegisterExtension static final FleetServices services = new FleetServices();}.
 */
public final class FleetServices implements BeforeAllCallback, AfterAllCallback {

    private Path dir;
    private final Map<String, String> env = new HashMap<>();
    private FleetDb db;

    @Override
    public void beforeAll(ExtensionContext context) throws IOException, InterruptedException {
        dir = Files.createTempDirectory("warden-fleet-it");
        run("start", dir);
        for (String line : Files.readAllLines(dir.resolve("env"), StandardCharsets.UTF_8)) {
            int eq = line.indexOf('=');
            if (eq > 0) {
                env.put(line.substring(0, eq), line.substring(eq + 1));
            }
        }
    }

    @Override
    public void afterAll(ExtensionContext context) throws IOException, InterruptedException {
        if (db != null) {
            db.close();
        }
        run("stop", dir);
        try (var files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    private static void run(String cmd, Path dir) throws IOException, InterruptedException {
        Path script = Path.of(System.getProperty("user.dir"), "tools", "fleet-services.sh");
        Process p = new ProcessBuilder(List.of("bash", script.toString(), cmd, dir.toString()))
            .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException("fleet-services.sh " + cmd + " failed: " + out);
        }
    }

    public String redisUrl() {
        return env.get("REDIS_URL");
    }

    public String postgresUrl() {
        return env.get("PG_URL");
    }

    public String postgresUser() {
        return env.get("PG_USER");
    }

    /** The database as a replica's configuration names it, with a pool of {@code poolSize}. */
    public WardenConfig.Postgres postgres(int poolSize) {
        return new WardenConfig.Postgres(postgresUrl(), postgresUser(), "", poolSize);
    }

    /** One pool of the database (migrated), shared by the class's tests and closed after them. */
    public synchronized FleetDb db() {
        if (db == null) {
            db = FleetDb.open(postgres(2), "test");
        }
        return db;
    }

    public void stopRedis() throws IOException, InterruptedException {
        run("redis-stop", dir);
    }

    public void startRedis() throws IOException, InterruptedException {
        run("redis-start", dir);
    }
}
