package dev.warden.session;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The workspaces of all live sessions. A session's directory name is random, not its session id,
 * so nothing a client sends ends up in a host path.
 */
public final class Workspaces implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Workspaces.class);
    private static final SecureRandom random = new SecureRandom();

    private final Path root;
    private final int gid;
    private final boolean ownsRoot;
    private final Map<String, Workspace> bySession = new ConcurrentHashMap<>();
    private final Consumer<Path> onCreate;
    private final Consumer<Path> onRemove;
    private final List<Consumer<String>> endListeners = new java.util.concurrent.CopyOnWriteArrayList<>();

    /**
     * @param onCreate told of each new workspace (to pre-create its first sandbox)
     * @param onRemove told before a workspace is deleted (to stop what still uses it)
     */
    public Workspaces(Path root, boolean ownsRoot, int gid, Consumer<Path> onCreate, Consumer<Path> onRemove)
            throws IOException {
        this.root = root;
        this.gid = gid;
        this.ownsRoot = ownsRoot;
        this.onCreate = onCreate;
        this.onRemove = onRemove;
        Files.createDirectories(root);
        // Traversable for the sandbox uids (bwrap opens the bind source as them), not listable.
        Files.setAttribute(root, "unix:mode", 0711);
    }

    /** The session's workspace, created on first use. */
    public Workspace forSession(String sessionId) throws IOException {
        Workspace ws = bySession.get(sessionId);
        if (ws == null) {
            synchronized (this) {
                ws = bySession.get(sessionId);
                if (ws == null) {
                    Path dir = root.resolve("s-" + HexFormat.of().formatHex(randomBytes()));
                    WorkspaceDirs.create(dir, gid);
                    ws = new Workspace(sessionId, dir.toRealPath());
                    bySession.put(sessionId, ws);
                    onCreate.accept(ws.root());
                }
            }
        }
        ws.touch();
        return ws;
    }

    /** Told of every session that ends, whether or not it ever had a workspace (approval grants end with it). */
    public void onSessionEnd(Consumer<String> listener) {
        endListeners.add(listener);
    }

    /**
     * Copies the session's workspace aside, before an approved call that may change it.
     *
     * @return the checkpoint, or empty if the workspace is larger than {@code maxBytes}
     */
    public Optional<Path> checkpoint(Workspace ws, String id, long maxBytes) throws IOException {
        Path target = root.resolve(".ckpt-" + id);
        return WorkspaceDirs.copy(ws.root(), target, maxBytes) ? Optional.of(target) : Optional.empty();
    }

    /**
     * Puts a checkpoint back in place of the workspace (two renames on one filesystem, so a run that
     * still writes into the old tree cannot mix into the restored one), and replaces the session's
     * pre-created sandboxes, which still see the old directory.
     */
    public void restore(Workspace ws, Path checkpoint) throws IOException {
        Path old = root.resolve(".old-" + checkpoint.getFileName().toString().substring(".ckpt-".length()));
        onRemove.accept(ws.root());
        Files.setAttribute(checkpoint, "unix:gid", gid, java.nio.file.LinkOption.NOFOLLOW_LINKS);
        Files.setAttribute(checkpoint, "unix:mode", 02770, java.nio.file.LinkOption.NOFOLLOW_LINKS);
        Files.move(ws.root(), old, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        Files.move(checkpoint, ws.root(), java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        WorkspaceDirs.delete(old);
        onCreate.accept(ws.root());
    }

    public void end(String sessionId) {
        for (Consumer<String> l : endListeners) {
            try {
                l.accept(sessionId);
            }
            catch (RuntimeException e) {
                log.warn("session {} end listener failed: {}", sessionId, e.getMessage());
            }
        }
        Workspace ws = bySession.remove(sessionId);
        if (ws != null) {
            onRemove.accept(ws.root());
            WorkspaceDirs.delete(ws.root());
            log.debug("session {} ended, workspace removed", sessionId);
        }
    }

    /** Ends every session idle longer than the limit. */
    public void expireIdle(long idleLimitNanos) {
        List<String> idle = bySession.values().stream().filter(w -> w.idleNanos() > idleLimitNanos)
            .map(Workspace::sessionId).toList();
        idle.forEach(this::end);
    }

    public int gid() {
        return gid;
    }

    private static byte[] randomBytes() {
        byte[] b = new byte[12];
        random.nextBytes(b);
        return b;
    }

    @Override
    public void close() {
        List.copyOf(bySession.keySet()).forEach(this::end);
        if (ownsRoot) {
            WorkspaceDirs.delete(root);
        }
    }
}
