package dev.warden.instance;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.warden.session.Leftovers;
import dev.warden.session.WorkspaceDirs;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.regex.Pattern;

/**
 * One running server's own directory, {@code STATE/instances/ID/}: its lock, its pid mark, its
 * {@code operator.json} (where its console is and the operator token, 0600; read by the CLI) and,
 * unless configured elsewhere, its audit and incident files. Two servers on one host never share
 * one: each holds a lock on {@code instance.lock} for as long as it lives, and the kernel drops the
 * lock however the process dies. A directory whose lock nobody holds belongs to a server that is
 * gone; it is kept (its audit file is a record) and the next server with that id takes it over.
 *
 * <p>The id: {@code --name}/{@code server.name} if given; under HTTP on a fixed port
 * {@code http-PORT}; otherwise the first free of {@code stdio-1}, {@code stdio-2}, … (HTTP on port 0:
 * {@code http-auto-N}), so a client that starts its stdio server every day keeps appending to the
 * same audit file.
 */
public final class Instance implements AutoCloseable {

    static final String LOCK = "instance.lock";
    public static final String STATE_FILE = "operator.json";
    static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
    private static final int MAX_NUMBERED = 999;
    private static final ObjectMapper json = new ObjectMapper();

    private final String id;
    private final Path dir;
    private final FileChannel channel;
    private final FileLock lock;
    private final Map<String, Object> info = new LinkedHashMap<>();

    private Instance(String id, Path dir, FileChannel channel, FileLock lock) {
        this.id = id;
        this.dir = dir;
        this.channel = channel;
        this.lock = lock;
    }

    /** A live server as the CLI sees it: its id, directory, pid and what its operator.json says. */
    public record Live(String id, Path dir, long pid, Map<String, Object> state) {

        public String url() {
            return state.get("url") instanceof String s ? s : null;
        }

        public String token() {
            return state.get("token") instanceof String s ? s : null;
        }
    }

    /** The home directory: $HOME as the user set it (the JVM's user.home comes from the password file). */
    static Path home() {
        String h = System.getenv("HOME");
        return h != null && h.startsWith("/") ? Path.of(h) : Path.of(System.getProperty("user.home"));
    }

    /** server.state_dir if set, else $XDG_STATE_HOME/warden, else ~/.local/state/warden. */
    public static Path stateRoot(String configured) {
        if (configured != null && !configured.isEmpty()) {
            return Path.of(configured).toAbsolutePath();
        }
        String xdg = System.getenv("XDG_STATE_HOME");
        if (xdg != null && xdg.startsWith("/")) {
            return Path.of(xdg, "warden");
        }
        return home().resolve(".local/state/warden");
    }

    /**
     * Takes this server's directory under {@code root/instances}.
     *
     * @param name the operator's name for it, or null
     * @param transport "stdio" or "http"
     * @param port the HTTP port asked for (0: any)
     */
    public static Instance claim(Path root, String name, String transport, int port) {
        Path instances = root.resolve("instances");
        try {
            Files.createDirectories(instances);
        }
        catch (IOException e) {
            throw unwritable(instances, e);
        }
        Instance taken;
        if (name != null) {
            if (!NAME.matcher(name).matches()) {
                throw new StartupFailure("--name / server.name \"" + name + "\" is not a usable instance name: "
                        + "letters, digits, '.', '_' and '-', up to 64, starting with a letter or digit");
            }
            taken = take(instances, name);
            if (taken == null) {
                throw new StartupFailure("another Warden" + pidOf(instances.resolve(name)) + " is already running as "
                        + "instance " + name + ": stop it, or give this server another --name");
            }
        }
        else if (transport.equals("http") && port > 0) {
            String id = "http-" + port;
            taken = take(instances, id);
            if (taken == null) {
                throw new StartupFailure("another Warden" + pidOf(instances.resolve(id)) + " already serves port "
                        + port + " (instance " + id + "): pick another --http port, or stop it");
            }
        }
        else {
            String prefix = transport.equals("http") ? "http-auto-" : transport + "-";
            taken = null;
            for (int i = 1; i <= MAX_NUMBERED && taken == null; i++) {
                taken = take(instances, prefix + i);
            }
            if (taken == null) {
                throw new StartupFailure("more than " + MAX_NUMBERED + " Warden servers are running under " + instances);
            }
        }
        taken.info.put("id", taken.id);
        taken.info.put("pid", ProcessHandle.current().pid());
        taken.info.put("transport", transport);
        taken.info.put("started", Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString());
        taken.publish(Map.of());
        return taken;
    }

    /** The directory locked for this process, or null if a live server holds it. */
    private static Instance take(Path instances, String id) {
        Path dir = instances.resolve(id);
        try {
            Files.createDirectories(dir);
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
            FileChannel ch = FileChannel.open(dir.resolve(LOCK), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            // the CLI holds a free lock for a moment to test it: a few tries ride over that
            for (int attempt = 0; attempt < 5; attempt++) {
                FileLock lock = tryLock(ch);
                if (lock != null) {
                    Leftovers.mark(dir);
                    return new Instance(id, dir, ch, lock);
                }
                if (!alive(Leftovers.markedPid(dir))) {
                    sleep(20);
                    continue;
                }
                break;
            }
            ch.close();
            return null;
        }
        catch (IOException e) {
            throw unwritable(dir, e);
        }
    }

    private static FileLock tryLock(FileChannel ch) throws IOException {
        try {
            return ch.tryLock();
        }
        catch (OverlappingFileLockException e) {
            return null; // held inside this JVM
        }
    }

    private static boolean alive(OptionalLong pid) {
        return pid.isPresent() && ProcessHandle.of(pid.getAsLong()).map(ProcessHandle::isAlive).orElse(false);
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        }
        catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static String pidOf(Path dir) {
        OptionalLong pid = Leftovers.markedPid(dir);
        return pid.isPresent() ? " (pid " + pid.getAsLong() + ")" : "";
    }

    static StartupFailure unwritable(Path p, IOException e) {
        String why = e instanceof AccessDeniedException ? "permission denied"
                : e instanceof java.nio.file.FileSystemException f && f.getReason() != null ? f.getReason()
                        : e.getMessage();
        return new StartupFailure("cannot create the state directory " + p + " (" + why + ", as uid "
                + WorkspaceDirs.effectiveUid() + ", HOME " + home() + ").\nSet HOME or XDG_STATE_HOME to a directory this user can "
                + "write, or server.state_dir in --config", e);
    }

    public String id() {
        return id;
    }

    public Path dir() {
        return dir;
    }

    /** Adds to operator.json (atomically, 0600): the console's url and token once it is up. */
    public synchronized void publish(Map<String, Object> more) {
        info.putAll(more);
        write(dir.resolve(STATE_FILE), info);
    }

    public Map<String, Object> info() {
        return Map.copyOf(info);
    }

    /** Writes a state file readable by this user only; a failure is logged, the server goes on. */
    public static void write(Path state, Map<String, Object> m) {
        try {
            Files.createDirectories(state.toAbsolutePath().getParent());
            Path tmp = state.resolveSibling(state.getFileName() + "." + ProcessHandle.current().pid() + ".tmp");
            Files.deleteIfExists(tmp);
            Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.write(tmp, json.writeValueAsBytes(m), StandardOpenOption.TRUNCATE_EXISTING);
            Files.move(tmp, state, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        }
        catch (IOException e) {
            org.slf4j.LoggerFactory.getLogger(Instance.class).warn("could not write {}: {}", state, e.getMessage());
        }
    }

    /** Removes operator.json (the token has no use once the server is gone) and lets the lock go. */
    @Override
    public void close() {
        try {
            Files.deleteIfExists(dir.resolve(STATE_FILE));
        }
        catch (IOException ignored) {
            // a stale file without a lock holder is ignored by the CLI anyway
        }
        try {
            lock.release();
            channel.close();
        }
        catch (IOException ignored) {
            // the kernel drops the lock at exit in any case
        }
    }

    /** The servers running now under {@code root}, by id; directories of servers that are gone are left out. */
    public static List<Live> live(Path root) {
        List<Live> out = new ArrayList<>();
        Path instances = root.resolve("instances");
        if (!Files.isDirectory(instances)) {
            return out;
        }
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(instances)) {
            for (Path dir : ds) {
                Live l = liveAt(dir);
                if (l != null) {
                    out.add(l);
                }
            }
        }
        catch (IOException e) {
            return out;
        }
        out.sort(java.util.Comparator.comparing(Live::id));
        return out;
    }

    /** The server at this directory if it is running, else null. */
    public static Live liveAt(Path dir) {
        OptionalLong pid = Leftovers.markedPid(dir);
        if (!alive(pid) || !lockHeld(dir.resolve(LOCK))) {
            return null;
        }
        Map<String, Object> state;
        try {
            state = json.readValue(dir.resolve(STATE_FILE).toFile(), new TypeReference<Map<String, Object>>() {
            });
        }
        catch (IOException e) {
            state = Map.of();
        }
        return new Live(dir.getFileName().toString(), dir, pid.getAsLong(), state);
    }

    /** Whether some process holds the lock: taking it for a moment is the only way to ask. */
    private static boolean lockHeld(Path lockFile) {
        try (FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.WRITE)) {
            FileLock l = tryLock(ch);
            if (l == null) {
                return true;
            }
            l.release();
            return false;
        }
        catch (AccessDeniedException e) {
            return true; // another user's server; its pid is alive
        }
        catch (IOException e) {
            return false;
        }
    }
}
