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
import dev.warden.call.Tenant;
import dev.warden.call.Tenants;
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

    /**
     * Who the runs of each workspace are: one uid per session (leased host-wide), or in project mode
     * the project directory's owner, so files keep their owner from call to call and tier to tier.
     *
     * @param tenants where each workspace's tenant is registered for the executors
     * @param uids the session uids; null in docker-only mode without root, where a server cannot give
     *     a directory to another uid: every session's runs are then the server's own uid (never root),
     *     each in containers that see only their own session's workspace
     * @param project the operator's project directory, bound as every session's workspace (null: none)
     */
    public record Tenancy(Tenants tenants, UidLeases uids, Project project) {
    }

    /**
     * What guards the project in a session's view of it (every tier binds that view): the paths of
     * {@code server.project_read_only} made read-only, their top directories pinned (no run can
     * rename, remove or replace them), never following a symlink (the launcher's --protect).
     */
    public interface Protection {
        void apply(Path view) throws IOException;
    }

    private volatile Protection protection = view -> { };
    private volatile List<String> guarded = List.of();

    /** Set once, with the tenancy, before the first session. */
    public void protection(Protection p) {
        this.protection = p;
    }

    /** As above, with the paths it makes read-only ({@code server.project_read_only}). */
    public void protection(Protection p, List<String> readOnly) {
        this.guarded = List.copyOf(readOnly);
        this.protection = p;
    }

    /** The project and its owner, null without project mode. */
    public Project project() {
        Tenancy t = tenancy;
        return t == null ? null : t.project();
    }

    /** The project's read-only paths, relative to its root (none without a project or a guard). */
    public List<String> guarded() {
        return guarded;
    }

    /** Binds the project at {@code at} and guards it there. */
    private void bindProject(Project project, Path at) throws IOException {
        Volumes.bindAlways(project.dir(), at);
        try {
            protection.apply(at);
        }
        catch (IOException e) {
            Volumes.unbindAlways(at); // fail closed: no session works in an unguarded project
            throw new IOException("the project's protected paths could not be guarded: " + e.getMessage(), e);
        }
    }

    /** The operator's project directory and who owns it (never root: no run ever runs as root). */
    public record Project(Path dir, int uid, int gid) {

        /** Checks the directory the operator named; the message says what to do about it. */
        public static Project of(Path dir) throws IOException {
            Path real;
            try {
                real = dir.toRealPath();
            }
            catch (IOException e) {
                throw new IOException("the project directory " + dir + " does not exist", e);
            }
            if (!Files.isDirectory(real)) {
                throw new IOException("the project " + dir + " is not a directory");
            }
            if (real.getParent() == null) {
                throw new IOException("the project directory cannot be /");
            }
            int uid = (Integer) Files.getAttribute(real, "unix:uid");
            int gid = (Integer) Files.getAttribute(real, "unix:gid");
            if (uid == 0) {
                throw new IOException("the project directory " + real + " belongs to root, and no run ever runs as "
                        + "root: chown it (-R) to the user whose project it is, whose uid the runs then have");
            }
            return new Project(real, uid, gid);
        }
    }

    private volatile Tenancy tenancy;
    private final Map<String, UidLeases.Lease> uidLeases = new ConcurrentHashMap<>();

    /** From now on each new workspace has a tenant (see {@link Tenancy}); set once, before the first session. */
    public void tenancy(Tenancy t) {
        this.tenancy = t;
    }

    // ---- durable workspaces (create_workspace) ---------------------------------------------------

    private volatile DurableStore durable;
    private volatile int maxDurablePerOwner;
    private volatile long maxDurableTtlMs;
    private final Map<String, Workspace> openDurable = new ConcurrentHashMap<>();

    /** Durable workspaces are kept in {@code store}; each owner may hold {@code maxPerOwner}, for at most {@code maxTtlMs}. */
    public void durable(DurableStore store, int maxPerOwner, long maxTtlMs) {
        this.durable = store;
        this.maxDurablePerOwner = maxPerOwner;
        this.maxDurableTtlMs = maxTtlMs;
    }

    /** Why a durable workspace was not made or not found: said to the client as it is. */
    public static final class Refused extends Exception {

        private static final long serialVersionUID = 1L;

        Refused(String message) {
            super(message);
        }
    }

    /** A new durable workspace of {@code owner}. @param ttlS null: the longest allowed */
    public DurableStore.Meta createDurable(String owner, String name, Long ttlS) throws Refused, IOException {
        DurableStore store = durable;
        if (store == null || tenancy == null) {
            throw new Refused("durable workspaces are not available on this server (no sandbox to run them in)");
        }
        long ttlMs = ttlS == null || ttlS >= maxDurableTtlMs / 1000 ? maxDurableTtlMs : ttlS * 1000; // no overflow
        DurableStore.Meta m = store.create(owner, name, ttlMs, maxDurablePerOwner, gid);
        if (m == null) {
            throw new Refused("this client already holds " + maxDurablePerOwner
                    + " durable workspaces, its quota; delete one with delete_workspace first");
        }
        return m;
    }

    /**
     * The durable workspace {@code id} of {@code owner}, opened in this server if it is not yet.
     * Another owner's, an expired one and an unknown id are all refused alike: nothing tells a client
     * that someone else's id exists.
     */
    public Workspace forDurable(String id, String owner) throws Refused, IOException {
        DurableStore store = durable;
        Tenancy t = tenancy;
        String unknown = "no workspace " + (DurableStore.wellFormed(id) ? id : "with that id")
                + " belongs to this client (it may have been deleted or expired)";
        if (store == null || t == null || !DurableStore.wellFormed(id)) {
            throw new Refused(unknown);
        }
        Optional<DurableStore.Meta> meta = store.find(id);
        if (meta.isEmpty() || !meta.get().owner().equals(owner) || meta.get().expiresMs() < System.currentTimeMillis()) {
            throw new Refused(unknown);
        }
        Workspace ws = openDurable.get(id);
        if (ws == null) {
            synchronized (this) {
                ws = openDurable.get(id);
                if (ws == null) {
                    ws = openDurable(store, t, meta.get());
                    openDurable.put(id, ws);
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
     * Shows a durable workspace and its home under this server's root (where every sandbox uid can
     * reach them; the store itself is root's only) and registers its tenant.
     */
    private Workspace openDurable(DurableStore store, Tenancy t, DurableStore.Meta m) throws IOException {
        Path dir = root.resolve("d-" + m.id());
        Path home = root.resolve("k-" + m.id());
        Path etc = root.resolve("f-" + m.id());
        try {
            WorkspaceDirs.create(dir, gid);
            WorkspaceDirs.create(home, gid);
            Path from = store.root(m.id());
            Volumes volumes = this.volumes.join();
            if (volumes.problem() == null) {
                // on a volume of its own (an image kept with it), so it counts against the same disk quota as
                // a session's workspace and a run in it cannot fill the host's disk
                Path vol = root.resolve(".dv-" + m.id());
                Files.createDirectories(vol);
                Files.setAttribute(vol, "unix:mode", 0700);
                volumes.mountPersistent(from.resolve("disk.img"), vol);
                for (String sub : List.of("w", "h")) {
                    Path d = vol.resolve(sub);
                    if (!Files.isDirectory(d, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                        WorkspaceDirs.create(d, gid);
                        Files.setAttribute(d, "unix:uid", m.uid(), java.nio.file.LinkOption.NOFOLLOW_LINKS);
                        if (sub.equals("h")) {
                            Files.setAttribute(d, "unix:mode", 0700, java.nio.file.LinkOption.NOFOLLOW_LINKS);
                        }
                    }
                }
                from = vol;
            }
            Volumes.bindAlways(from.resolve("w"), dir);
            Volumes.bindAlways(from.resolve("h"), home);
            writeAccounts(etc, m.uid(), gid);
            Path real = dir.toRealPath();
            Tenant tenant = new Tenant(m.uid(), gid, home.toRealPath(), etc);
            t.tenants().register(real, tenant);
            return new Workspace("durable:" + m.id(), real, m.id(), tenant, false);
        }
        catch (IOException | RuntimeException e) {
            closeDurableDirs(m.id());
            throw e;
        }
    }

    /** Unbinds what {@link #openDurable} showed; the store keeps the workspace itself. */
    private void closeDurableDirs(String id) {
        for (String prefix : List.of("d-", "k-")) {
            Path at = root.resolve(prefix + id);
            Volumes.unbindAlways(at);
            try {
                Files.deleteIfExists(at); // an empty mount point, never the tree it showed
            }
            catch (IOException e) {
                log.error("the mount point {} could not be removed ({}); left as it is", at, e.getMessage());
            }
        }
        WorkspaceDirs.delete(root.resolve("f-" + id));
        Path vol = root.resolve(".dv-" + id);
        if (Files.isDirectory(vol, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            Volumes.unmountPersistent(vol);
            try {
                Files.deleteIfExists(vol); // the empty mount point; the image stays with the workspace
            }
            catch (IOException e) {
                log.error("the mount point {} could not be removed ({}); left as it is", vol, e.getMessage());
            }
        }
    }

    /** Stops what uses an open durable workspace here and unbinds it (the store keeps it). */
    private void closeDurable(String id) {
        Workspace ws = openDurable.remove(id);
        if (ws == null) {
            return;
        }
        onRemove.accept(ws.root());
        Tenancy t = tenancy;
        if (t != null) {
            t.tenants().remove(ws.root());
        }
        closeDurableDirs(id);
        for (Consumer<Path> l : removedListeners) {
            try {
                l.accept(ws.root());
            }
            catch (RuntimeException e) {
                log.warn("durable workspace {} end listener failed: {}", id, e.getMessage());
            }
        }
    }

    /** Deletes {@code owner}'s durable workspace {@code id}: its runs stopped, its files gone. */
    public void deleteDurable(String id, String owner) throws Refused, IOException {
        forDurable(id, owner); // the same refusal for another's, an expired or an unknown id
        closeDurable(id);
        durable.delete(id);
    }

    /** Deletes every durable workspace past its TTL (and stops what still uses it here). */
    public void expireDurable() {
        DurableStore store = durable;
        if (store == null) {
            return;
        }
        long now = System.currentTimeMillis();
        for (DurableStore.Meta m : store.all()) {
            if (m.expiresMs() < now) {
                closeDurable(m.id());
                store.delete(m.id());
                log.info("durable workspace {} expired and was deleted", m.id());
            }
        }
    }

    /** The session's workspace, created on first use. */
    public Workspace forSession(String sessionId) throws IOException {
        Workspace ws = bySession.get(sessionId);
        if (ws == null) {
            synchronized (this) {
                ws = bySession.get(sessionId);
                if (ws == null) {
                    ws = make(sessionId);
                    bySession.put(sessionId, ws);
                    onCreate.accept(ws.root());
                }
            }
        }
        ws.touch();
        return ws;
    }

    private Workspace make(String sessionId) throws IOException {
        String name = HexFormat.of().formatHex(randomBytes());
        Path dir = root.resolve("s-" + name);
        Tenancy t = tenancy;
        Project project = t == null ? null : t.project();
        Volumes volumes = this.volumes.join();
        boolean onVolume = volumes.problem() == null;
        UidLeases.Lease lease = null;
        try {
            if (onVolume) {
                makeOnVolume(volumes, dir, root.resolve(".v-" + name), project == null, t != null ? root.resolve("h-" + name) : null);
            }
            else {
                try {
                    WorkspaceDirs.create(dir, gid);
                    if (t != null) {
                        WorkspaceDirs.create(root.resolve("h-" + name), gid);
                    }
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
            if (t == null) {
                return new Workspace(sessionId, dir.toRealPath());
            }
            int uid;
            int group;
            if (project != null) {
                bindProject(project, dir);
                uid = project.uid();
                group = project.gid();
            }
            else if (t.uids() == null) {
                // docker-only mode without root: the runs are this server's own uid, in containers
                int[] own = WorkspaceDirs.ownIds();
                if (own == null || own[0] == 0) {
                    throw new IOException("no unprivileged uid to run this session's calls as");
                }
                uid = own[0];
                group = gid;
            }
            else {
                lease = t.uids().acquire();
                uid = lease.uid();
                group = gid;
                Files.setAttribute(dir, "unix:uid", uid, java.nio.file.LinkOption.NOFOLLOW_LINKS);
            }
            Path home = root.resolve("h-" + name);
            Files.setAttribute(home, "unix:uid", uid, java.nio.file.LinkOption.NOFOLLOW_LINKS);
            Files.setAttribute(home, "unix:gid", group, java.nio.file.LinkOption.NOFOLLOW_LINKS);
            Files.setAttribute(home, "unix:mode", 0700, java.nio.file.LinkOption.NOFOLLOW_LINKS);
            Path etc = root.resolve("e-" + name);
            writeAccounts(etc, uid, group);
            Path real = dir.toRealPath();
            Tenant tenant = new Tenant(uid, group, home.toRealPath(), etc);
            t.tenants().register(real, tenant);
            if (lease != null) {
                uidLeases.put(sessionId, lease);
            }
            return new Workspace(sessionId, real, name, tenant, project != null);
        }
        catch (IOException | RuntimeException e) {
            if (lease != null) {
                lease.close();
            }
            removeDirs(name, project != null, onVolume);
            throw e instanceof Unavailable u ? u
                    : new Unavailable("no workspace could be made for this session: " + e.getMessage(), e);
        }
    }

    /** The passwd and group that name the tenant's uid, in a directory only root may change. */
    static void writeAccounts(Path etc, int uid, int gid) throws IOException {
        Files.createDirectories(etc);
        Files.setAttribute(etc, "unix:mode", 0755);
        Files.writeString(etc.resolve("passwd"), Tenant.passwd(uid, gid));
        Files.writeString(etc.resolve("group"), Tenant.group(gid));
        Files.setAttribute(etc.resolve("passwd"), "unix:mode", 0644);
        Files.setAttribute(etc.resolve("group"), "unix:mode", 0644);
    }

    /**
     * Everything of a session workspace named {@code name}: its home and accounts, its volume, and
     * the workspace itself, which in project mode is only unbound and then removed if empty: a
     * project is never emptied, even if the unmount failed.
     */
    private void removeDirs(String name, boolean project, boolean onVolume) {
        Path dir = root.resolve("s-" + name);
        Path home = root.resolve("h-" + name);
        Volumes volumes = this.volumes.join();
        if (onVolume) {
            volumes.unbind(home);
        }
        if (project) {
            Volumes.unbindAlways(dir);
            try {
                Files.deleteIfExists(dir); // only ever an empty mount point
            }
            catch (IOException e) {
                log.error("the project's mount point {} could not be removed ({}); left as it is", dir, e.getMessage());
            }
        }
        else if (onVolume) {
            volumes.unbind(dir);
        }
        Path vol = root.resolve(".v-" + name);
        if (onVolume && volumes.isMounted(vol)) {
            volumes.unmount(vol);
            WorkspaceDirs.delete(vol);
        }
        if (!project) {
            WorkspaceDirs.delete(dir);
        }
        WorkspaceDirs.delete(home);
        WorkspaceDirs.delete(root.resolve("e-" + name));
    }

    /**
     * With a quota: the session's volume is mounted on .v-NAME (0700, root only), the workspace is
     * its directory w, bind-mounted on s-NAME where everything finds it. A checkpoint and its
     * restore happen beside w inside the volume, so they are renames on one filesystem.
     */
    private void makeOnVolume(Volumes volumes, Path dir, Path vol) throws Unavailable {
        makeOnVolume(volumes, dir, vol, true, null);
    }

    /**
     * @param workspaceOnVolume whether the workspace is the volume's (not in project mode, where the volume
     *     holds the home only)
     * @param home where the volume's home directory h is shown as well (null: no home)
     */
    private void makeOnVolume(Volumes volumes, Path dir, Path vol, boolean workspaceOnVolume, Path home)
            throws Unavailable {
        try {
            Files.createDirectory(vol);
            Files.setAttribute(vol, "unix:mode", 0700);
            volumes.mount(vol, dir.getFileName().toString());
            WorkspaceDirs.create(dir, gid);
            if (workspaceOnVolume) {
                WorkspaceDirs.create(vol.resolve("w"), gid);
                volumes.bind(vol.resolve("w"), dir);
            }
            if (home != null) { // the home counts against the quota too
                WorkspaceDirs.create(vol.resolve("h"), gid);
                WorkspaceDirs.create(home, gid);
                volumes.bind(vol.resolve("h"), home);
            }
        }
        catch (IOException e) {
            if (home != null) {
                volumes.unbind(home);
                WorkspaceDirs.delete(home);
            }
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
        if (ws.project()) {
            return Optional.of(checkpointProject(ws, id));
        }
        Path target = volumeOf(ws).orElse(root).resolve(".ckpt-" + id);
        return WorkspaceDirs.copy(ws.root(), target, maxBytes) ? Optional.of(target) : Optional.empty();
    }

    /**
     * Puts a checkpoint back in place of the workspace (two renames on one filesystem, so a run that
     * still writes into the old tree cannot mix into the restored one), and replaces the session's
     * pre-created sandboxes, which still see the old directory.
     */
    public void restore(Workspace ws, Path checkpoint) throws IOException {
        if (ws.project()) { // the call's overlay goes; the session's sandboxes are made again on the project
            endOverlay(ws, checkpoint, false);
            return;
        }
        Optional<Path> vol = volumeOf(ws);
        Path live = vol.map(v -> v.resolve("w")).orElse(ws.root());
        Path old = live.resolveSibling(".old-" + checkpoint.getFileName().toString().substring(".ckpt-".length()));
        onRemove.accept(ws.root());
        if (ws.tenant() != null) {
            Files.setAttribute(checkpoint, "unix:uid", ws.tenant().uid(), java.nio.file.LinkOption.NOFOLLOW_LINKS);
        }
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

    /** The workspaces whose project view is an approved call's overlay right now (one at a time each). */
    private final java.util.Set<Path> overlaid = ConcurrentHashMap.newKeySet();

    /**
     * A project's checkpoint: for the approved call, the session's view of the project becomes an
     * overlay (see {@link ProjectOverlay}); its pre-created sandboxes, which bind the project itself,
     * are replaced. @return the overlay's directory, which {@link #restore} or {@link #keep} takes
     */
    private Path checkpointProject(Workspace ws, String id) throws IOException {
        Project project = tenancy.project();
        if (!overlaid.add(ws.root())) {
            throw new IOException("another approved call of this session holds the project's checkpoint");
        }
        Path dir = root.resolve(".o-" + id);
        try {
            onRemove.accept(ws.root());
            ProjectOverlay.mount(project, ws.root(), dir);
        }
        catch (IOException | RuntimeException e) {
            overlaid.remove(ws.root());
            WorkspaceDirs.delete(dir);
            onCreate.accept(ws.root());
            throw e;
        }
        onCreate.accept(ws.root());
        return dir;
    }

    /** Ends a project's overlay, its changes written into the project ({@code commit}) or dropped. */
    private void endOverlay(Workspace ws, Path dir, boolean commit) throws IOException {
        Project project = tenancy.project();
        onRemove.accept(ws.root());
        try {
            if (commit) {
                ProjectOverlay.commit(project, ws.root(), dir);
            }
            else {
                ProjectOverlay.discard(project, ws.root(), dir);
            }
            protection.apply(ws.root()); // the approved call's view had none; the session's has again
        }
        finally {
            overlaid.remove(ws.root());
            onCreate.accept(ws.root());
        }
    }

    /** An approved call's checkpoint that is not needed (the call succeeded): a project keeps the call's changes. */
    public void keep(Workspace ws, Path checkpoint) throws IOException {
        if (ws.project()) {
            endOverlay(ws, checkpoint, true);
        }
        else {
            WorkspaceDirs.delete(checkpoint);
        }
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
            Tenancy t = tenancy;
            if (ws.tenant() != null && t != null) {
                t.tenants().remove(ws.root());
                removeDirs(ws.id(), ws.project(), volumes.join().problem() == null);
                UidLeases.Lease lease = uidLeases.remove(sessionId);
                if (lease != null) { // after every directory of the uid is gone
                    lease.close();
                }
            }
            else {
                Optional<Path> vol = volumeOf(ws);
                if (vol.isPresent()) { // the image goes with the volume: nothing to delete file by file
                    Volumes volumes = this.volumes.join();
                    volumes.unbind(ws.root());
                    volumes.unmount(vol.get());
                    WorkspaceDirs.delete(vol.get());
                }
                WorkspaceDirs.delete(ws.root());
            }
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
    /** Sessions with a workspace now (the fleet's load of this replica). */
    public int sessions() {
        return bySession.size();
    }

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
        List.copyOf(openDurable.keySet()).forEach(this::closeDurable);
        if (ownsRoot) {
            WorkspaceDirs.delete(root);
        }
    }
}
