package dev.warden.session;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Where durable workspaces (create_workspace) live between servers: STATE/workspaces/ID/ with
 * meta.json (owner, uid, name, expiry), w/ (the workspace) and h/ (its home). Nothing of it is
 * ever named by a client but the id, which Warden mints (24 random hex digits) and checks against
 * a strict pattern before it touches a path. Each has a uid of its own for as long as it exists,
 * from a range apart from the session uids, chosen under a lock shared by every server on the host
 * that uses this state directory.
 */
public final class DurableStore {

    static final Pattern ID = Pattern.compile("ws-[0-9a-f]{24}");
    private static final SecureRandom random = new SecureRandom();
    private static final ObjectMapper json = new ObjectMapper();

    private final Path dir;
    private final int firstUid;
    private final int uidCount;

    /** What a durable workspace is, as written in its meta.json. */
    public record Meta(String id, String owner, String name, int uid, long createdMs, long expiresMs) {

        Map<String, Object> toMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("id", id);
            m.put("owner", owner);
            m.put("name", name);
            m.put("uid", uid);
            m.put("created_ms", createdMs);
            m.put("expires_ms", expiresMs);
            return m;
        }

        static Meta of(Map<?, ?> m) {
            return new Meta((String) m.get("id"), (String) m.get("owner"), (String) m.get("name"),
                    ((Number) m.get("uid")).intValue(), ((Number) m.get("created_ms")).longValue(),
                    ((Number) m.get("expires_ms")).longValue());
        }
    }

    public DurableStore(Path dir, int firstUid, int uidCount) {
        this.dir = dir;
        this.firstUid = firstUid;
        this.uidCount = uidCount;
    }

    /** Whether {@code id} has the shape of a minted id (nothing else ever reaches a path). */
    public static boolean wellFormed(String id) {
        return id != null && ID.matcher(id).matches();
    }

    Path root(String id) {
        return dir.resolve(id);
    }

    /** Makes a new durable workspace of {@code owner}; null if the owner already has {@code max}. */
    Meta create(String owner, String name, long ttlMs, int max, int gid) throws IOException {
        Files.createDirectories(dir);
        Files.setAttribute(dir, "unix:mode", 0700);
        try (FileChannel ch = FileChannel.open(dir.resolve(".lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                FileLock lock = ch.lock()) {
            List<Meta> all = all();
            if (all.stream().filter(m -> m.owner().equals(owner)).count() >= max) {
                return null;
            }
            java.util.Set<Integer> used = new java.util.HashSet<>();
            all.forEach(m -> used.add(m.uid()));
            int uid = -1;
            for (int i = 0; i < uidCount && uid < 0; i++) {
                if (!used.contains(firstUid + i)) {
                    uid = firstUid + i;
                }
            }
            if (uid < 0) {
                throw new IOException("all " + uidCount + " durable workspace uids are in use on this host");
            }
            byte[] b = new byte[12];
            random.nextBytes(b);
            String id = "ws-" + HexFormat.of().formatHex(b);
            long now = System.currentTimeMillis();
            Meta meta = new Meta(id, owner, name, uid, now, now + ttlMs);
            Path root = root(id);
            Files.createDirectory(root);
            Files.setAttribute(root, "unix:mode", 0700);
            WorkspaceDirs.create(root.resolve("w"), gid);
            Files.setAttribute(root.resolve("w"), "unix:uid", uid, LinkOption.NOFOLLOW_LINKS);
            WorkspaceDirs.create(root.resolve("h"), gid);
            Files.setAttribute(root.resolve("h"), "unix:uid", uid, LinkOption.NOFOLLOW_LINKS);
            Files.setAttribute(root.resolve("h"), "unix:mode", 0700, LinkOption.NOFOLLOW_LINKS);
            Path tmp = root.resolve("meta.json.tmp");
            json.writeValue(tmp.toFile(), meta.toMap());
            Files.move(tmp, root.resolve("meta.json"), java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            return meta;
        }
    }

    /** The workspace's meta, if it exists (expired or not). */
    Optional<Meta> find(String id) {
        if (!wellFormed(id)) {
            return Optional.empty();
        }
        Path f = root(id).resolve("meta.json");
        try {
            return Optional.of(Meta.of(json.readValue(f.toFile(), Map.class)));
        }
        catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    /** Every durable workspace with a readable meta. */
    List<Meta> all() {
        List<Meta> out = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return out;
        }
        try (var names = Files.list(dir)) {
            for (Path p : names.toList()) {
                find(p.getFileName().toString()).ifPresent(out::add);
            }
        }
        catch (IOException e) {
            // nothing readable: nothing durable
        }
        return out;
    }

    /** Removes it from disk: meta first, so a half-deleted one is never found again. */
    void delete(String id) {
        if (!wellFormed(id)) {
            return;
        }
        Path root = root(id);
        try {
            Files.deleteIfExists(root.resolve("meta.json"));
        }
        catch (IOException e) {
            // the tree goes below anyway
        }
        WorkspaceDirs.delete(root);
    }
}
