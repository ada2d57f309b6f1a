package dev.warden.egress;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The built-in sets of package registry hosts a policy or an approval can name by one word. Each
 * covers HTTPS and HTTP (ports 443 and 80) of its hosts; README's "Network" section lists them.
 */
public final class Presets {

    private static final Map<String, List<String>> HOSTS = new LinkedHashMap<>();
    /** The same, parsed once: every call and every refused connection consults them. */
    private static final Map<String, List<HostPattern>> PATTERNS = new LinkedHashMap<>();

    static {
        HOSTS.put("pypi", List.of("pypi.org", "files.pythonhosted.org"));
        HOSTS.put("npm", List.of("registry.npmjs.org", "registry.yarnpkg.com"));
        HOSTS.put("crates", List.of("crates.io", "index.crates.io", "static.crates.io"));
        HOSTS.put("maven", List.of("repo.maven.apache.org", "repo1.maven.org", "plugins.gradle.org",
                "services.gradle.org", "downloads.gradle.org"));
        HOSTS.put("go", List.of("proxy.golang.org", "sum.golang.org", "index.golang.org"));
        HOSTS.put("debian", List.of("deb.debian.org", "security.debian.org"));
        HOSTS.put("github", List.of("github.com", "*.github.com", "*.githubusercontent.com"));
        HOSTS.forEach((name, hosts) -> PATTERNS.put(name,
                hosts.stream().map(h -> HostPattern.parse(h).orElseThrow()).toList()));
    }

    private Presets() {
    }

    /** The names of every preset. */
    public static Set<String> names() {
        return HOSTS.keySet();
    }

    /** A preset's host patterns; empty for a name that is not one. */
    public static List<HostPattern> hosts(String preset) {
        return PATTERNS.getOrDefault(preset, List.of());
    }

    /** A preset's hosts as written. */
    public static List<String> hostNames(String preset) {
        return HOSTS.getOrDefault(preset, List.of());
    }
}
