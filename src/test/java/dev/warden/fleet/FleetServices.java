package dev.warden.fleet;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Real Redis and PostgreSQL on loopback for a fleet test, started and stopped by
 * tools/fleet-services.sh (the same script the node fleet tests and the benchmark use).
 */
public final class FleetServices implements AutoCloseable {

    private final Path dir;
    private final Map<String, String> env;

    private FleetServices(Path dir, Map<String, String> env) {
        this.dir = dir;
        this.env = env;
    }

    public static FleetServices start() throws IOException, InterruptedException {
        Path dir = Files.createTempDirectory("warden-fleet-it");
        run("start", dir);
        Map<String, String> env = new HashMap<>();
        for (String line : Files.readAllLines(dir.resolve("env"), StandardCharsets.UTF_8)) {
            int eq = line.indexOf('=');
            if (eq > 0) {
                env.put(line.substring(0, eq), line.substring(eq + 1));
            }
        }
        return new FleetServices(dir, env);
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

    public void stopRedis() throws IOException, InterruptedException {
        run("redis-stop", dir);
    }

    public void startRedis() throws IOException, InterruptedException {
        run("redis-start", dir);
    }

    @Override
    public void close() throws IOException, InterruptedException {
        run("stop", dir);
        try (var files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
