package dev.warden.session;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
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
    private final CompletableFuture<Volumes> volumes;
    private final int gid;
    private final boolean ownsRoot;
    private final Map<String, Workspace> bySession = new ConcurrentHashMap<>();
    private final Consumer<Path> onCreate;
    private final Consumer<Path> onRemove;
    private final List<Consumer<String>> endListeners = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final List<Consumer<Path>> removedListeners = new java.util.concurrent.CopyOnWriteArrayList<>();

    /**
     * @param onCreate told of each new workspace (to pre-create its first sandbox)
     * @param onRemove told before a workspace is deleted (to stop what still uses it)
     */
    public Workspaces(Path root, boolean ownsRoot, int gid, Consumer<Path> onCreate, Consumer<Path> onRemove)
            throws IOException {
        this(root, ownsRoot, gid, CompletableFuture.completedFuture(Volumes.none("no quota asked for")), onCreate,
                onRemove);
    }

    /** @param volumes the workspace quota, ready by the first session (set up in the background at start) */
    public Workspaces(Path root, boolean ownsRoot, int gid, CompletableFuture<Volumes> volumes, Consumer<Path> onCreate,
            Consumer<Path> onRemove) throws IOException {
        this.volumes = volumes;
        Files.createDirectories(root);
        this.root = root.toRealPath();
        this.gid = gid;
        this.ownsRoot = ownsRoot;
        this.onCreate = onCreate;
        this.onRemove = onRemove;
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
                    String name = HexFormat.of().formatHex(randomBytes());
                    Path dir = root.resolve("s-" + name);
                    Volumes volumes = this.volumes.join();
                    if (volumes.problem() == null) {
                        makeOnVolume(volumes, dir, root.resolve(".v-" + name));
                    }
                    else {
                        try {
                            WorkspaceDirs.create(dir, gid);
                        }
                        catch (java.nio.file.FileSystemException e) {
                            // not root: the chgrp to the sandbox's group is what fails; say that, not EPERM
                            String why = WorkspaceDirs.needsRoot();
                            if (why == null) {
                                throw e;
                            }
                            WorkspaceDirs.delete(dir);
                            throw new Unavailable(why, e);
                        }
                    }
                    ws = new Workspace(sessionId, dir.toRealPath());
                    bySession.put(sessionId, ws);
                    onCreate.accept(ws.root());
                }
            }
        }
        ws.touch();
        return ws;
    }

    /** The live workspace with this id ({@link Workspace#id}), if any; never creates one. */
    public Optional<Workspace> byId(String id) {
        return bySession.values().stream().filter(w -> w.id().equals(id)).findFirst();
    }

    /**
     * With a quota: the session's volume is mounted on .v-NAME (0700, root only), the workspace is
     * its directory w, bind-mounted on s-NAME where everything finds it. A checkpoint and its
     * restore happen beside w inside the volume, so they are renames on one filesystem.
     */
    private void makeOnVolume(Volumes volumes, Path dir, Path vol) throws Unavailable {
        try {
            Files.createDirectory(vol);
            Files.setAttribute(vol, "unix:mode", 0700);
            volumes.mount(vol, dir.getFileName().toString());
            WorkspaceDirs.create(vol.resolve("w"), gid);
            WorkspaceDirs.create(dir, gid);
            volumes.bind(vol.resolve("w"), dir);
        }
        catch (IOException e) {
            volumes.unbind(dir);
            volumes.unmount(vol);
            WorkspaceDirs.delete(dir);
            WorkspaceDirs.delete(vol);
            throw new Unavailable("no workspace could be made for this session: " + e.getMessage(), e);
        }
    }

    /** The volume behind a workspace, if it has one. */
    private Optional<Path> volumeOf(Workspace ws) {
        Path vol = ws.root().resolveSibling(".v-" + ws.root().getFileName().toString().substring("s-".length()));
        return volumes.join().isMounted(vol) ? Optional.of(vol) : Optional.empty();
    }

    /** Told of every session that ends, whether or not it ever had a workspace (approval grants end with it). */
    public void onSessionEnd(Consumer<String> listener) {
        endListeners.add(listener);
    }

    /**
     * Told of each workspace whose session ended, once it is gone (not of a restore, which keeps the
     * session): what a session kept beside its workspace (its network namespace) goes then.
     */
    public void onWorkspaceEnd(Consumer<Path> listener) {
        removedListeners.add(listener);
    }

    /**
     * Copies the session's workspace aside, before an approved call that may change it.
     *
     * @return the checkpoint, or empty if the workspace is larger than {@code maxBytes}
     */
    public Optional<Path> checkpoint(Workspace ws, String id, long maxBytes) throws IOException {
        Path target = volumeOf(ws).orElse(root).resolve(".ckpt-" + id);
        return WorkspaceDirs.copy(ws.root(), target, maxBytes) ? Optional.of(target) : Optional.empty();
    }

    /**
     * Puts a checkpoint back in place of the workspace (two renames on one filesystem, so a run that
     * still writes into the old tree cannot mix into the restored one), and replaces the session's
     * pre-created sandboxes, which still see the old directory.
     */
    public void restore(Workspace ws, Path checkpoint) throws IOException {
        Optional<Path> vol = volumeOf(ws);
        Path live = vol.map(v -> v.resolve("w")).orElse(ws.root());
        Path old = live.resolveSibling(".old-" + checkpoint.getFileName().toString().substring(".ckpt-".length()));
        onRemove.accept(ws.root());
        Files.setAttribute(checkpoint, "unix:gid", gid, java.nio.file.LinkOption.NOFOLLOW_LINKS);
        Files.setAttribute(checkpoint, "unix:mode", 02770, java.nio.file.LinkOption.NOFOLLOW_LINKS);
        Files.move(live, old, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        Files.move(checkpoint, live, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        if (vol.isPresent()) { // the bind mount still shows the old tree: show the restored one
            Volumes volumes = this.volumes.join();
            volumes.unbind(ws.root());
            volumes.bind(live, ws.root());
        }
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
            Optional<Path> vol = volumeOf(ws);
            if (vol.isPresent()) { // the image goes with the volume: nothing to delete file by file
                Volumes volumes = this.volumes.join();
                volumes.unbind(ws.root());
                volumes.unmount(vol.get());
                WorkspaceDirs.delete(vol.get());
            }
            WorkspaceDirs.delete(ws.root());
            for (Consumer<Path> l : removedListeners) {
                try {
                    l.accept(ws.root());
                }
                catch (RuntimeException e) {
                    log.warn("session {} workspace end listener failed: {}", sessionId, e.getMessage());
                }
            }
            log.debug("session {} ended, workspace removed", sessionId);
        }
    }

    /** Ends every session idle longer than the limit. */
    public void expireIdle(long idleLimitNanos) {
        List<String> idle = bySession.values().stream().filter(w -> w.idleNanos() > idleLimitNanos)
            .map(Workspace::sessionId).toList();
        idle.forEach(this::end);
    }

    /** The workspace quota in MB, if workspaces are volumes of their own. */
    public Optional<Integer> diskMb() {
        return volumes.join().diskMb();
    }

    /** A session's workspace could not be made (the host is short of disk, a mount failed). */
    public static final class Unavailable extends IOException {

        private static final long serialVersionUID = 1L;

        Unavailable(String message, Throwable cause) {
            super(message, cause);
        }
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
