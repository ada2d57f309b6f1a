package dev.warden.session;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Optional;

/** One session's directory. Every path a call names is resolved through here and cannot escape. */
public final class Workspace {

    private final String sessionId;
    private final Path root;
    private volatile long lastUsedNanos = System.nanoTime();

    Workspace(String sessionId, Path root) {
        this.sessionId = sessionId;
        this.root = root;
    }

    public String sessionId() {
        return sessionId;
    }

    public Path root() {
        return root;
    }

    /**
     * The workspace's id, as clients see it in {@code warden://workspace/<id>/...} URIs: the random
     * name of its directory after "s-" (nothing a client sent, and no host path).
     */
    public String id() {
        String name = root.getFileName().toString();
        return name.startsWith("s-") ? name.substring(2) : name;
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
