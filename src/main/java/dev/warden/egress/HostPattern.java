package dev.warden.egress;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * One entry of an allowlist: a host name ({@code example.org}), its subdomains ({@code *.example.org}),
 * an address ({@code 10.0.0.5}, {@code [::1]}) or a CIDR ({@code 10.0.0.0/8}), each with an optional
 * port ({@code :8443}, {@code :*} for any). Without a port an entry covers 80 and 443 (HTTP and HTTPS)
 * only. An address or CIDR entry also names those addresses explicitly, which is what lets a run reach
 * a loopback, private or link-local address at all.
 *
 * @param name the lower-case name without a leading {@code *.}, null for an address entry
 * @param wildcard whether it covers the subdomains of {@code name} (not the name itself)
 * @param network the first address of an address or CIDR entry, null for a name
 * @param prefix the CIDR prefix length (32 or 128 for one address)
 * @param port the port, or {@link #WEB} for 80 and 443, or {@link #ANY}
 */
public record HostPattern(String name, boolean wildcard, InetAddress network, int prefix, int port) {

    /** 80 and 443. */
    public static final int WEB = -1;
    /** Any port. */
    public static final int ANY = -2;

    private static final Pattern LABEL = Pattern.compile("[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?");
    private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");

    /** Parses an entry; empty when it is not one (the caller says what was wrong). */
    public static Optional<HostPattern> parse(String text) {
        if (text == null) {
            return Optional.empty();
        }
        String s = text.trim().toLowerCase(Locale.ROOT);
        int port = WEB;
        String host = s;
        if (s.startsWith("[")) {
            int close = s.indexOf(']');
            if (close < 0) {
                return Optional.empty();
            }
            host = s.substring(1, close);
            String rest = s.substring(close + 1);
            if (rest.startsWith("/")) { // [fd00::]/8 and [fd00::]/8:443
                int colon = rest.indexOf(':');
                host = host + (colon < 0 ? rest : rest.substring(0, colon));
                rest = colon < 0 ? "" : rest.substring(colon);
            }
            if (!rest.isEmpty()) {
                if (!rest.startsWith(":")) {
                    return Optional.empty();
                }
                port = port(rest.substring(1));
            }
        }
        else if (s.chars().filter(c -> c == ':').count() == 1) {
            int colon = s.indexOf(':');
            host = s.substring(0, colon);
            port = port(s.substring(colon + 1));
        }
        else if (s.contains(":")) {
            return Optional.empty(); // a bare IPv6 address needs brackets
        }
        if (port == 0) {
            return Optional.empty();
        }
        String h = host;
        int p = port;
        return address(h, p).or(() -> name(h, p));
    }

    private static int port(String p) {
        if (p.equals("*")) {
            return ANY;
        }
        try {
            int n = Integer.parseInt(p);
            return n >= 1 && n <= 65535 ? n : 0;
        }
        catch (NumberFormatException e) {
            return 0;
        }
    }

    private static Optional<HostPattern> address(String host, int port) {
        String addr = host;
        int prefix = -1;
        int slash = host.indexOf('/');
        if (slash >= 0) {
            addr = host.substring(0, slash);
            try {
                prefix = Integer.parseInt(host.substring(slash + 1));
            }
            catch (NumberFormatException e) {
                return Optional.empty();
            }
        }
        if (!IPV4.matcher(addr).matches() && !addr.contains(":")) {
            return Optional.empty();
        }
        InetAddress a = literal(addr);
        if (a == null) {
            return Optional.empty();
        }
        int bits = a.getAddress().length * 8;
        if (prefix == -1) {
            prefix = bits;
        }
        if (prefix < 0 || prefix > bits) {
            return Optional.empty();
        }
        return Optional.of(new HostPattern(null, false, a, prefix, port));
    }

    private static Optional<HostPattern> name(String host, int port) {
        boolean wildcard = host.startsWith("*.");
        String n = wildcard ? host.substring(2) : host;
        if (n.endsWith(".")) {
            n = n.substring(0, n.length() - 1);
        }
        if (n.isEmpty() || n.length() > 253) {
            return Optional.empty();
        }
        for (String label : n.split("\\.", -1)) {
            if (!LABEL.matcher(label).matches()) {
                return Optional.empty();
            }
        }
        return Optional.of(new HostPattern(n, wildcard, null, 0, port));
    }

    /** An address literal (dotted IPv4 or IPv6 text), never a name lookup; null when it is not one. */
    public static InetAddress literal(String text) {
        String t = text.startsWith("[") && text.endsWith("]") ? text.substring(1, text.length() - 1) : text;
        if (!IPV4.matcher(t).matches() && !(t.contains(":") && t.matches("[0-9a-fA-F:.%]+"))) {
            return null;
        }
        try {
            return InetAddress.getByName(t); // a literal: parsed, not resolved
        }
        catch (UnknownHostException e) {
            return null;
        }
    }

    /** Whether this entry covers the port. */
    public boolean coversPort(int p) {
        return port == ANY || (port == WEB ? p == 80 || p == 443 : port == p);
    }

    /** Whether this is a name entry covering the host name (lower case, no trailing dot) and port. */
    public boolean matchesName(String host, int p) {
        if (name == null || !coversPort(p)) {
            return false;
        }
        return wildcard ? host.endsWith("." + name) : host.equals(name);
    }

    /** Whether this is an address entry covering the address and port. */
    public boolean coversAddress(InetAddress a, int p) {
        if (network == null || !coversPort(p)) {
            return false;
        }
        byte[] x = Addresses.canonical(a).getAddress();
        byte[] n = network.getAddress();
        if (x.length != n.length) {
            return false;
        }
        int full = prefix / 8;
        for (int i = 0; i < full; i++) {
            if (x[i] != n[i]) {
                return false;
            }
        }
        int rest = prefix % 8;
        return rest == 0 || ((x[full] ^ n[full]) & (0xff << (8 - rest)) & 0xff) == 0;
    }

    @Override
    public String toString() {
        String host = name != null ? (wildcard ? "*." : "") + name
                : (network.getAddress().length == 16 ? "[" + network.getHostAddress() + "]" : network.getHostAddress())
                        + (prefix == network.getAddress().length * 8 ? "" : "/" + prefix);
        return port == WEB ? host : host + ":" + (port == ANY ? "*" : Integer.toString(port));
    }
}
