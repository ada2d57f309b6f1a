package dev.warden.exec.host;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The system tree an L2 sandbox sees as /usr (with /bin, /lib, /lib64, /sbin as links into it) and
 * the few /etc entries that belong to it, all read-only: the host's own ({@link #HOST}), or Warden's
 * environment, a directory holding the exported filesystem of the image warden/env that the L3
 * languages run in too (tools/build-images.sh makes it; docs/ENVIRONMENT.md). As data, so the
 * sandbox's command line stays pure: {@link #of} reads the directory once, {@link #binds} only
 * turns it into bubblewrap's arguments.
 *
 * @param root the environment's root directory; null: the host's own system tree
 * @param etc the environment's /etc entries that runs see, each bound read-only, or recreated as the
 *     symbolic link it is there (bubblewrap would follow a link of the source on the host)
 */
public record SystemTree(Path root, List<Etc> etc) {

    /** One /etc entry of the environment: a file or directory bound, or a link made. */
    public record Etc(String name, String linkTarget) {
    }

    /** The host's /usr and its /etc entries, as the sandbox always had them. */
    public static final SystemTree HOST = new SystemTree(null, List.of());

    /**
     * The environment's /etc entries a run may need, and nothing else of its /etc (never shadow,
     * passwd or group: Warden writes its own passwd, group, hosts and nsswitch.conf). The dynamic
     * linker's cache, update-alternatives' links (cc, awk, ...), the time zone, the CA store (the
     * build host's bundle), Python's and matplotlib's configuration, MIME types, the OS release.
     */
    static final List<String> ETC = List.of("ld.so.cache", "alternatives", "localtime", "ssl", "os-release",
            "mime.types", "protocols", "services", "matplotlibrc");
    /** /etc/python3 and /etc/python3.N (sitecustomize.py), whatever N the environment has. */
    private static final Pattern PYTHON_ETC = Pattern.compile("python3(\\.[0-9]+)?");

    public SystemTree {
        etc = List.copyOf(etc);
    }

    /** Whether this is the host's own tree. */
    public boolean host() {
        return root == null;
    }

    /**
     * Warden's environment at {@code root}, or null when there is none there (no /usr/bin/sh, or no
     * dynamic linker cache): the caller then says so and keeps the host's tree.
     */
    public static SystemTree of(Path root) throws IOException {
        if (!Files.isExecutable(root.resolve("usr/bin/sh")) || !Files.isRegularFile(root.resolve("etc/ld.so.cache"))) {
            return null;
        }
        List<String> names = new ArrayList<>(ETC);
        try (Stream<Path> s = Files.list(root.resolve("etc"))) {
            s.map(p -> p.getFileName().toString()).filter(n -> PYTHON_ETC.matcher(n).matches()).sorted()
                .forEach(names::add);
        }
        List<Etc> etc = new ArrayList<>();
        for (String name : names) {
            Path p = root.resolve("etc").resolve(name);
            if (Files.isSymbolicLink(p)) {
                etc.add(new Etc(name, Files.readSymbolicLink(p).toString()));
            }
            else if (Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
                etc.add(new Etc(name, null));
            }
        }
        return new SystemTree(root, etc);
    }

    /** bubblewrap's arguments for this tree: /usr, the links beside it, the /etc entries. */
    List<String> binds() {
        List<String> a = new ArrayList<>();
        a.addAll(List.of("--ro-bind", root == null ? "/usr" : root.resolve("usr").toString(), "/usr",
                "--symlink", "usr/bin", "/bin", "--symlink", "usr/lib", "/lib",
                "--symlink", "usr/lib64", "/lib64", "--symlink", "usr/sbin", "/sbin"));
        if (root == null) {
            a.addAll(List.of(
                    "--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache",
                    "--ro-bind-try", "/etc/alternatives", "/etc/alternatives",
                    "--ro-bind-try", "/etc/localtime", "/etc/localtime",
                    "--ro-bind-try", "/etc/ssl", "/etc/ssl"));
            return a;
        }
        for (Etc e : etc) {
            if (e.linkTarget() != null) {
                a.addAll(List.of("--symlink", e.linkTarget(), "/etc/" + e.name()));
            }
            else {
                // -try: the tree behind `current` may be swapped for a newer one while this server runs
                a.addAll(List.of("--ro-bind-try", root.resolve("etc").resolve(e.name()).toString(), "/etc/" + e.name()));
            }
        }
        return a;
    }

    /** For the start-up log. */
    @Override
    public String toString() {
        return root == null ? "the host's /usr" : "Warden's environment " + root;
    }
}
