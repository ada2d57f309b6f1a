package dev.warden.session;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Optional;
import dev.warden.call.Tenant;

/** One session's directory. Every path a call names is resolved through here and cannot escape. */
public final class Workspace {

    private final String sessionId;
    private final Path root;
    private final String id;
    private final Tenant tenant;
    private final boolean project;
    private volatile long lastUsedNanos = System.nanoTime();

    Workspace(String sessionId, Path root) {
        this(sessionId, root, root.getFileName().toString().replaceFirst("^s-", ""), null, false);
    }

    /**
     * @param id what names it to clients ({@code warden://workspace/<id>/…}, the {@code workspace} argument)
     * @param tenant who its runs are (null: the slots' own uids, as a workspace made without tenants)
     * @param project whether it is the operator's project directory, bound here: never emptied or deleted
     */
    Workspace(String sessionId, Path root, String id, Tenant tenant, boolean project) {
        this.sessionId = sessionId;
        this.root = root;
        this.id = id;
        this.tenant = tenant;
        this.project = project;
    }

    /**
     * The id clients name it by ({@code warden://workspace/<id>/...}, the {@code workspace} argument): the
     * random name of a session workspace's directory after "s-", a durable workspace's minted id; nothing a
     * client sent, and no host path.
     */
    public String id() {
        return id;
    }

    /** Who its runs are, or null. */
    public Tenant tenant() {
        return tenant;
    }

    /** The operator's project directory (see {@code --project}): never deleted, emptied or swapped. */
    public boolean project() {
        return project;
    }

    public String sessionId() {
        return sessionId;
    }

    public Path root() {
        return root;
    }

    void touch() {
        lastUsedNanos = System.nanoTime();
    }

    long idleNanos() {
        return System.nanoTime() - lastUsedNanos;
    }

    /**
     * Resolves a relative path inside the workspace: lexically normalised first (no absolute paths, no
     * climbing out with ..), then with every existing symlink along it followed, which must still end
     * inside. Returns the path relative to the root, "" for the root itself, or empty if it escapes.
     */
    public Optional<String> resolve(String relative) {
        if (relative == null || relative.isEmpty() || relative.equals(".")) {
            return Optional.of("");
        }
        if (relative.indexOf('\0') >= 0 || relative.startsWith("/")) {
            return Optional.empty();
        }
        Path candidate = root.resolve(relative).normalize();
        if (!candidate.startsWith(root)) {
            return Optional.empty();
        }
        // Follow symlinks on the part that exists: a link planted by an earlier run must not lead out.
        Path existing = candidate;
        while (existing != null && !Files.exists(existing, LinkOption.NOFOLLOW_LINKS)) {
            existing = existing.getParent();
        }
        if (existing == null) {
            return Optional.empty();
        }
        try {
            Path real = existing.toRealPath();
            Path realRoot = root.toRealPath();
            if (!real.startsWith(realRoot)) {
                return Optional.empty();
            }
            Path full = real.resolve(existing.relativize(candidate)).normalize();
            if (!full.startsWith(realRoot)) {
                return Optional.empty();
            }
            return Optional.of(realRoot.relativize(full).toString());
        }
        catch (IOException e) {
            return Optional.empty();
        }
    }
}
