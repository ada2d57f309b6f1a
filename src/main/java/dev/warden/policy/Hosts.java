package dev.warden.policy;

import dev.warden.policy.shell.Word;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The destinations a network tool's arguments name (rules with {@code hosts_from_args}): the URLs of
 * curl, wget, HTTPie, aria2c and the text browsers, the repository of git clone, fetch, pull and
 * ls-remote, the index or registry a package command is pointed at. What cannot be read for certain
 * makes the reading incomplete, and an incomplete reading never lowers a rule: a word only known at
 * run time, an option that sends the tool elsewhere (a proxy, a config file, a list of URLs in a
 * file, a resolver override), a scheme without a known port, a program with no reader here (nc, ssh,
 * dig, …). A value this reader does not know an option takes is read as a URL, which can only name
 * a host the check must allow too. This is a judgement in front of the egress proxy, which is the
 * boundary: a URL parser that disagrees with the tool's own makes the proxy refuse, never reach more.
 */
final class Hosts {

    private Hosts() {
    }

    /** One destination, shown as host:port. */
    record Dest(String host, int port) {
        @Override
        public String toString() {
            return host + ":" + port;
        }
    }

    /**
     * What one command names: its destinations, and whether every argument that could name one was
     * read ({@code complete}); a command that names none is never lowered either.
     */
    record Named(List<Dest> dests, boolean complete) {
        Named {
            dests = List.copyOf(dests);
        }
    }

    static final Named UNREADABLE = new Named(List.of(), false);

    private static final java.util.regex.Pattern SCHEME = java.util.regex.Pattern.compile("[A-Za-z][A-Za-z0-9+.-]*");

    /** The default port of each scheme a URL may have here; any other scheme is unreadable. */
    static final Map<String, Integer> PORTS = Map.ofEntries(Map.entry("http", 80), Map.entry("https", 443),
            Map.entry("ftp", 21), Map.entry("ftps", 990), Map.entry("ws", 80), Map.entry("wss", 443),
            Map.entry("ssh", 22), Map.entry("sftp", 22), Map.entry("scp", 22), Map.entry("git", 9418),
            Map.entry("git+ssh", 22), Map.entry("ssh+git", 22));

    /** What an option does with the word it takes. */
    private enum Kind {
        /** takes a value that names no destination */
        VALUE,
        /** takes a URL: a destination */
        URL,
        /** takes a proxy: a destination, and the tool goes there instead of where its URLs say */
        PROXY,
        /** takes a value that changes where the tool goes in a way not read here */
        REFUSE,
        /** takes no value, and changes where the tool goes in a way not read here */
        REFUSE_FLAG
    }

    private enum Positional {
        /** every operand is a URL */
        URLS,
        /** [METHOD] URL, then request items (HTTPie) */
        METHOD_URL
    }

    /**
     * How one tool's command line is read: its options by name (a short option is "-x"), whether
     * every option is a long one with a single dash (lynx -dump), what its operands are, and the scheme
     * of a URL written without one.
     */
    private record Spec(Map<String, Kind> options, boolean singleDash, Positional positional, String scheme) {
        Kind kind(String option) {
            return options.get(option);
        }
    }

    private static Map<String, Kind> options(Object... pairs) {
        Map<String, Kind> m = new HashMap<>();
        for (int k = 0; k < pairs.length; k += 2) {
            for (String o : ((String) pairs[k]).split(" ")) {
                m.put(o, (Kind) pairs[k + 1]);
            }
        }
        return Map.copyOf(m);
    }

    private static final Spec CURL = new Spec(options(
            "-A -b -c -C -d -D -E -e -F -H -m -o -Q -r -T -t -u -U -w -X -y -Y -z --output --header --data --data-raw"
            + " --data-binary --data-urlencode --data-ascii --json --user --user-agent --referer --cookie --cookie-jar"
            + " --request --max-time --connect-timeout --retry --retry-delay --retry-max-time --range --continue-at"
            + " --upload-file --form --form-string --write-out --cert --key --cacert --capath --output-dir --limit-rate"
            + " --max-filesize --oauth2-bearer --time-cond --dump-header --trace --trace-ascii --stderr --speed-limit"
            + " --speed-time --max-redirs --proto --proto-redir --ciphers --tls-max --url-query --etag-save"
            + " --etag-compare --aws-sigv4 --proxy-user --proxy-header --cert-type --key-type --pass --netrc-file"
            + " --hsts --alt-svc --keepalive-time --expect100-timeout --mail-from --mail-rcpt --quote --local-port"
            + " --parallel-max --rate --pinnedpubkey --crlfile --interface", Kind.VALUE,
            "--url", Kind.URL,
            "-x --proxy --preproxy --socks4 --socks4a --socks5 --socks5-hostname --proxy1.0", Kind.PROXY,
            "-K --config -P --ftp-port --connect-to --resolve --doh-url --dns-servers --unix-socket"
            + " --abstract-unix-socket --proto-default --variable", Kind.REFUSE),
            false, Positional.URLS, "http");

    private static final Spec WGET = new Spec(options(
            "-O -o -a -P -U -t -T -w -Q -l -A -R -D -X -I --output-document --output-file --append-output"
            + " --directory-prefix --user-agent --tries --timeout --wait --quota --level --accept --reject --domains"
            + " --exclude-directories --include-directories --header --user --password --http-user --http-password"
            + " --ftp-user --ftp-password --post-data --post-file --body-data --body-file --method --referer"
            + " --load-cookies --save-cookies --limit-rate --ca-certificate --ca-directory --certificate --private-key"
            + " --max-redirect --dns-timeout --connect-timeout --read-timeout --waitretry --default-page"
            + " --restrict-file-names --cut-dirs --progress --local-encoding --remote-encoding --secure-protocol"
            + " --proxy-user --proxy-password --crl-file --pinnedpubkey --warc-file --retry-on-http-error",
            Kind.VALUE,
            "-e --execute -i --input-file -B --base --config --use-askpass", Kind.REFUSE),
            false, Positional.URLS, "http");

    private static final Map<String, Kind> HTTPIE_OPTIONS = options(
            "-a -A -o -p -s -P --auth --auth-type --output --print --style --session --session-read-only --verify"
            + " --cert --cert-key --cert-key-pass --timeout --max-redirects --pretty --format-options"
            + " --response-charset --response-mime --ssl --ciphers --history-print", Kind.VALUE,
            "--proxy", Kind.PROXY,
            "--default-scheme --path-as-is", Kind.REFUSE);
    private static final Spec HTTP = new Spec(HTTPIE_OPTIONS, false, Positional.METHOD_URL, "http");
    private static final Spec HTTPS = new Spec(HTTPIE_OPTIONS, false, Positional.METHOD_URL, "https");

    private static final Spec ARIA2C = new Spec(options(
            "-d -o -x -s -k -j -l -t -m -U --dir --out --max-connection-per-server --split --min-split-size"
            + " --max-concurrent-downloads --log --timeout --max-tries --user-agent --header --http-user --http-passwd"
            + " --checksum --referer --load-cookies --save-cookies --max-download-limit", Kind.VALUE,
            "--all-proxy --http-proxy --https-proxy --ftp-proxy", Kind.PROXY,
            "-i --input-file -T --torrent-file -M --metalink-file --conf-path", Kind.REFUSE),
            false, Positional.URLS, "http");

    /** lynx, w3m, links, elinks: options are words with one dash; those that set a proxy or a config refuse. */
    private static final Spec BROWSER = new Spec(options(
            "-cols -T -I -O -N -bookmark -header -post -dump-width -dump-charset -width -language -codepage", Kind.VALUE,
            "-http-proxy -ftp-proxy -https-proxy -socks-proxy", Kind.PROXY,
            "-o -config -cfg -lss -eval -source-charset", Kind.REFUSE),
            true, Positional.URLS, "http");

    /** Package tools: an index, registry or proxy named on the command line, and packages named by URL. */
    private static final Map<String, Kind> PACKAGE_OPTIONS = options(
            "-i --index-url --extra-index-url --index --default-index -f --find-links --registry", Kind.URL,
            "--proxy --https-proxy", Kind.PROXY);

    /** git -c keys that send git elsewhere or run something to get there. */
    private static final List<String> GIT_CONFIG_REFUSED = List.of("proxy", "url.", "remote.", "core.sshcommand",
            "include", "credential.", "protocol.", "http.curloptresolve");

    private static final Set<String> GIT_GLOBAL_VALUES = Set.of("-C", "--git-dir", "--work-tree", "--namespace",
            "--super-prefix", "--exec-path", "--list-cmds", "--attr-source");

    /** Options of clone, fetch, pull and ls-remote that take a value; the upload-pack ones run a program. */
    private static final Map<String, Kind> GIT_OPTIONS = options(
            "-b --branch -o --origin --depth --deepen --reference --reference-if-able --template --separate-git-dir -j"
            + " --jobs --filter --shallow-since --shallow-exclude --server-option --negotiation-tip --refmap -s"
            + " --strategy -X --strategy-option --sort --recurse-submodules-default --also-filter-submodules",
            Kind.VALUE,
            "-u --upload-pack --bundle-uri --receive-pack --exec", Kind.REFUSE);

    /** The destinations an invocation's arguments name. */
    static Named read(Analysis.Invocation inv) {
        if (inv.program == null) {
            return UNREADABLE;
        }
        return switch (inv.program) {
            case "curl" -> scan(CURL, inv.args);
            case "wget" -> scan(WGET, inv.args);
            case "http", "httpie" -> scan(HTTP, inv.args);
            case "https" -> scan(HTTPS, inv.args);
            case "aria2c" -> scan(ARIA2C, inv.args);
            case "lynx", "w3m", "links", "elinks" -> scan(BROWSER, inv.args);
            case "git" -> git(inv.args);
            case "pip", "pip3", "uv", "pipx", "poetry", "npm", "pnpm", "yarn", "bun", "npx" -> packages(inv.args);
            default -> UNREADABLE;
        };
    }

    private static Named scan(Spec spec, List<Word> args) {
        List<Dest> dests = new ArrayList<>();
        boolean complete = true;
        boolean options = true;
        boolean urlSeen = false;
        int operands = 0;
        for (int k = 0; k < args.size(); k++) {
            Word w = args.get(k);
            String t = w.text();
            if (w.dynamic()) {
                complete = false; // a URL, an option or a value only known at run time
                continue;
            }
            if (options && t.equals("--")) {
                options = false;
                continue;
            }
            if (options && t.startsWith("-") && t.length() > 1) {
                String name = t;
                String attached = null;
                int valueAt = -1;
                if (t.startsWith("--") || spec.singleDash()) {
                    int eq = t.indexOf('=');
                    if (eq > 0) {
                        name = t.substring(0, eq);
                        attached = t.substring(eq + 1);
                    }
                }
                else {
                    // a cluster of short options (-sSLo file): the first one that takes a value takes the
                    // rest of the word, or the next word
                    name = null;
                    for (int i = 1; i < t.length() && name == null; i++) {
                        String o = "-" + t.charAt(i);
                        if (spec.kind(o) != null) {
                            name = o;
                            attached = i + 1 < t.length() ? t.substring(i + 1) : null;
                        }
                    }
                    if (name == null) {
                        continue;
                    }
                }
                Kind kind = spec.kind(name);
                if (kind == null) {
                    continue;
                }
                if (kind == Kind.REFUSE_FLAG) {
                    complete = false;
                    continue;
                }
                Word value = attached != null ? new Word(attached, false, w.glob(), List.of(), false)
                        : k + 1 < args.size() ? args.get(valueAt = k + 1) : null;
                if (valueAt > 0) {
                    k = valueAt;
                }
                complete &= option(kind, value, spec.scheme(), dests);
                continue;
            }
            if (t.equals("-")) {
                continue; // standard input or output, not a URL
            }
            operands++;
            if (spec.positional() == Positional.METHOD_URL) {
                if (urlSeen || (operands == 1 && t.matches("[A-Z]+"))) {
                    continue; // a request item after the URL, or the method before it
                }
                urlSeen = true;
                if (t.startsWith(":")) {
                    t = "localhost" + t; // HTTPie's :8080/path
                }
            }
            Dest d = url(t, spec.scheme(), w.glob());
            if (d == null) {
                complete = false;
            }
            else {
                dests.add(d);
            }
        }
        return new Named(dests, complete);
    }

    /** An option and its value: whether the reading stays complete. */
    private static boolean option(Kind kind, Word value, String scheme, List<Dest> dests) {
        if (kind == Kind.VALUE) {
            return true;
        }
        if (value == null || value.dynamic()) {
            return false;
        }
        Dest d = url(value.text(), scheme, value.glob());
        if (d != null && kind != Kind.REFUSE) {
            dests.add(d);
        }
        return kind == Kind.URL && d != null;
    }

    /**
     * host:port of a URL, or null when it is not certain: a URL without a scheme takes {@code scheme}
     * (none: unreadable), a scheme without a known port, no host, a host that a glob or brace could
     * change, a port out of range.
     */
    static Dest url(String text, String scheme, boolean glob) {
        if (text.isEmpty() || text.startsWith("@")) {
            return null; // curl's --url @file reads URLs from a file
        }
        String full = text;
        int sep = text.indexOf("://");
        if (sep >= 0 && !SCHEME.matcher(text.substring(0, sep)).matches()) {
            return null; // e.g. example.org/?u=http://x: a query is no scheme, and the host is not certain
        }
        if (sep < 0) {
            if (scheme == null) {
                return null;
            }
            full = scheme + "://" + text;
            sep = scheme.length();
        }
        int pathAt = full.indexOf('/', sep + 3);
        String authority = full.substring(sep + 3, pathAt < 0 ? full.length() : pathAt);
        if (glob && authority.chars().anyMatch(c -> "*?[]{}".indexOf(c) >= 0)) {
            return null;
        }
        URI u;
        try {
            u = new URI(full);
        }
        catch (URISyntaxException e) {
            return null;
        }
        Integer defaultPort = u.getScheme() == null ? null : PORTS.get(u.getScheme().toLowerCase(Locale.ROOT));
        String host = u.getHost();
        if (defaultPort == null || host == null || host.isEmpty()) {
            return null;
        }
        host = host.toLowerCase(Locale.ROOT);
        while (host.endsWith(".") && host.length() > 1) {
            host = host.substring(0, host.length() - 1);
        }
        int port = u.getPort() < 0 ? defaultPort : u.getPort();
        if (port < 1 || port > 65_535) {
            return null;
        }
        return new Dest(host, port);
    }

    /**
     * git: the repository of clone, fetch, pull and ls-remote (a URL, or scp-like user@host:path on
     * port 22; a local path names nothing); a remote only named (fetch origin) or none at all reads
     * from the repository's config, which is not read here. A -c that sets a proxy, a URL rewrite, a
     * remote, an ssh command or an include refuses.
     */
    private static Named git(List<Word> args) {
        boolean complete = true;
        int k = 0;
        // global options, up to the subcommand
        for (; k < args.size(); k++) {
            Word w = args.get(k);
            String t = w.text();
            if (w.dynamic()) {
                return UNREADABLE;
            }
            if (t.equals("-c") || t.startsWith("--config-env")) {
                if (t.startsWith("--config-env") || k + 1 >= args.size() || !configReadable(args.get(++k))) {
                    complete = false;
                }
            }
            else if (GIT_GLOBAL_VALUES.contains(t)) {
                k++;
            }
            else if (!t.startsWith("-")) {
                break;
            }
        }
        if (k >= args.size()) {
            return new Named(List.of(), complete);
        }
        String sub = args.get(k).text();
        if (!Set.of("clone", "fetch", "pull", "ls-remote").contains(sub)) {
            return UNREADABLE; // submodule update, remote update, fetch --all: the remotes are in files
        }
        List<Dest> dests = new ArrayList<>();
        String repository = null;
        for (k++; k < args.size() && repository == null; k++) {
            Word w = args.get(k);
            String t = w.text();
            if (w.dynamic()) {
                return new Named(dests, false);
            }
            if (t.equals("-c") || t.equals("--config")) {
                complete &= k + 1 < args.size() && configReadable(args.get(++k));
            }
            else if (t.startsWith("--config=")) {
                complete &= configReadable(new Word(t.substring(9), false, false, List.of(), false));
            }
            else if (t.equals("--all") || t.equals("--multiple")) {
                complete = false;
            }
            else if (t.startsWith("-") && t.length() > 1) {
                String name = t.contains("=") ? t.substring(0, t.indexOf('=')) : t;
                Kind kind = GIT_OPTIONS.get(name);
                if (kind == Kind.REFUSE) {
                    complete = false;
                }
                if (kind != null && !t.contains("=")) {
                    k++;
                }
            }
            else if (!t.equals("--")) {
                repository = t;
            }
        }
        if (repository == null) {
            return new Named(dests, false); // fetch, pull: the configured remote
        }
        if (repository.contains("::")) {
            return new Named(dests, false); // <transport>::<address>: a remote helper
        }
        if (repository.contains("://")) {
            if (repository.regionMatches(true, 0, "file://", 0, 7)) {
                return new Named(dests, complete);
            }
            Dest d = url(repository, null, false);
            if (d == null) {
                return new Named(dests, false);
            }
            dests.add(d);
            return new Named(dests, complete);
        }
        int colon = repository.indexOf(':');
        int slash = repository.indexOf('/');
        if (colon > 0 && (slash < 0 || colon < slash)) {
            // scp-like [user@]host:path, over ssh
            String hostPart = repository.substring(repository.lastIndexOf('@', colon) + 1, colon);
            Dest d = url("ssh://" + hostPart + "/", null, false);
            if (d == null) {
                return new Named(dests, false);
            }
            dests.add(d);
            return new Named(dests, complete);
        }
        boolean local = repository.startsWith("/") || repository.startsWith(".") || repository.startsWith("~")
                || slash > 0;
        // clone of a path is local; fetch/pull of a bare word names a configured remote
        return new Named(dests, complete && (local || sub.equals("clone")));
    }

    private static boolean configReadable(Word kv) {
        if (kv.dynamic()) {
            return false;
        }
        String key = kv.text().contains("=") ? kv.text().substring(0, kv.text().indexOf('=')) : kv.text();
        String lower = key.toLowerCase(Locale.ROOT);
        return GIT_CONFIG_REFUSED.stream().noneMatch(lower::contains);
    }

    /**
     * A package command goes to its registry, which comes with its preset, not from its arguments: it
     * is never complete, so it is never lowered by hosts; an index, registry or proxy it names, and a
     * package it names by URL, are reported as its destinations.
     */
    private static Named packages(List<Word> args) {
        List<Dest> dests = new ArrayList<>();
        for (int k = 0; k < args.size(); k++) {
            Word w = args.get(k);
            String t = w.text();
            if (w.dynamic()) {
                continue;
            }
            String name = t.startsWith("--") && t.contains("=") ? t.substring(0, t.indexOf('=')) : t;
            Kind kind = PACKAGE_OPTIONS.get(name);
            if (kind == null && name.startsWith("--@") && name.endsWith(":registry")) {
                kind = Kind.URL; // npm's --@scope:registry=URL
            }
            if (kind != null) {
                Word value = !name.equals(t) ? new Word(t.substring(name.length() + 1), false, false, List.of(), false)
                        : k + 1 < args.size() ? args.get(++k) : null;
                if (value != null && !value.dynamic()) {
                    Dest d = url(value.text(), null, value.glob());
                    if (d != null) {
                        dests.add(d);
                    }
                }
            }
            else if (!t.startsWith("-") && t.contains("://")) {
                Dest d = url(t.startsWith("git+") ? t.substring(4) : t, null, w.glob());
                if (d != null) {
                    dests.add(d);
                }
            }
        }
        return new Named(dests, false);
    }
}
