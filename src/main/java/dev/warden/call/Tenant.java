package dev.warden.call;

import java.nio.file.Path;

/**
 * Who the runs of one workspace are, the same at every tier and for every call: one uid (so the
 * files of one call belong to the next, and git finds the repository its own), one gid, one home.
 * Two workspaces never share a uid unless they share the directory (project mode), so one session
 * still cannot touch another's processes or files.
 *
 * @param uid the uid every run of the workspace has
 * @param gid its primary gid: the group of the workspace's files
 * @param home the host directory bound as {@link #HOME}, writable by the uid (null: HOME is the workspace)
 * @param etc the host directory holding the workspace's {@code passwd} and {@code group} (root's,
 *     read-only), which name the uid {@code sandbox} with its home (null: the server's shared ones)
 */
public record Tenant(int uid, int gid, Path home, Path etc) {

    /** Where a run finds its home, at every tier that has a view of its own. */
    public static final String HOME = "/home/sandbox";

    /** The HOME a run sees in a sandbox or a container. */
    public String homeInSandbox(String workspaceMount) {
        return home == null ? workspaceMount : HOME;
    }

    /** The files that name the uid, written once per workspace (root-owned, 0644, in a root-owned directory). */
    public static String passwd(int uid, int gid) {
        return "root:x:0:0:root:/root:/usr/sbin/nologin\n"
                + "sandbox:x:" + uid + ":" + gid + ":sandbox:" + HOME + ":/bin/bash\n"
                + "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";
    }

    public static String group(int gid) {
        return "root:x:0:\nsandbox:x:" + gid + ":\nnogroup:x:65534:\n";
    }
}
