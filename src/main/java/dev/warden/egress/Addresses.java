package dev.warden.egress;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.net.UnknownHostException;
import java.util.Collections;
import java.util.HashSet;
import java.util.Set;

/**
 * The addresses a run may not reach unless an allowlist entry names them: what is on this machine
 * or behind it rather than on the internet. Checked on every address a name resolves to, after the
 * proxy resolved it itself, and the proxy then connects to that same checked address.
 */
public final class Addresses {

    /** The cloud metadata services (AWS, GCP, Azure: 169.254.169.254; AWS IPv6; Alibaba). */
    private static final Set<InetAddress> METADATA = Set.of(HostPattern.literal("169.254.169.254"),
            HostPattern.literal("fd00:ec2::254"), HostPattern.literal("100.100.100.200"));

    private final Set<InetAddress> own;
    /** The ports Warden itself listens on (MCP over HTTP, the operator console): never reachable, named or not. */
    private final Set<Integer> ownPorts = java.util.concurrent.ConcurrentHashMap.newKeySet();

    private Addresses(Set<InetAddress> own) {
        this.own = own;
    }

    /** A port Warden listens on, on this machine: refused to every run even where an entry names the address. */
    public void ownPort(int port) {
        if (port > 0) {
            ownPorts.add(port);
        }
    }

    /** Whether this address and port is one of Warden's own listeners (on loopback or an address of this machine). */
    boolean ownService(InetAddress address, int port) {
        InetAddress a = canonical(address);
        return ownPorts.contains(port) && (a.isLoopbackAddress() || a.isAnyLocalAddress() || own.contains(a));
    }

    /** With this machine's own interface addresses as they are now. */
    public static Addresses ofThisMachine() {
        Set<InetAddress> own = new HashSet<>();
        try {
            for (NetworkInterface i : Collections.list(NetworkInterface.getNetworkInterfaces())) {
                for (InetAddress a : Collections.list(i.getInetAddresses())) {
                    own.add(canonical(a));
                }
            }
        }
        catch (SocketException e) {
            // no interface list: the ranges below still hold
        }
        return new Addresses(own);
    }

    public static Addresses of(Set<InetAddress> own) {
        return new Addresses(Set.copyOf(own));
    }

    /** An IPv4-mapped IPv6 address as its IPv4 address, and no scope: what the checks compare. */
    static InetAddress canonical(InetAddress a) {
        byte[] b = a.getAddress();
        try {
            if (a instanceof Inet6Address) {
                boolean mapped = true;
                for (int i = 0; i < 10; i++) {
                    mapped &= b[i] == 0;
                }
                if (mapped && (b[10] & 0xff) == 0xff && (b[11] & 0xff) == 0xff) {
                    return InetAddress.getByAddress(new byte[] {b[12], b[13], b[14], b[15]});
                }
                return InetAddress.getByAddress(b);
            }
            return a;
        }
        catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Why the address is not a public one (for the refusal's text), or null when it is. */
    String special(InetAddress address) {
        InetAddress a = canonical(address);
        byte[] b = a.getAddress();
        if (METADATA.contains(a)) {
            return "a cloud metadata address";
        }
        if (a.isLoopbackAddress()) {
            return "a loopback address";
        }
        if (a.isAnyLocalAddress()) {
            return "the unspecified address";
        }
        if (a.isLinkLocalAddress()) {
            return "a link-local address";
        }
        if (a.isMulticastAddress()) {
            return "a multicast address";
        }
        if (own.contains(a)) {
            return "an address of Warden's own machine";
        }
        if (a instanceof Inet4Address) {
            int x = b[0] & 0xff;
            int y = b[1] & 0xff;
            if (x == 10 || (x == 172 && y >= 16 && y < 32) || (x == 192 && y == 168)) {
                return "a private address";
            }
            if (x == 100 && y >= 64 && y < 128) {
                return "a shared (carrier-grade NAT) address";
            }
            // (the documentation and benchmark ranges are not refused: some egress set-ups, this CI's
            // among them, answer every public name with one of them and intercept there)
            if (x == 0 || x >= 240 || (x == 192 && y == 0 && b[2] == 0)) {
                return "a reserved address";
            }
            return null;
        }
        int first = b[0] & 0xff;
        if ((first & 0xfe) == 0xfc) {
            return "a private (unique local) address";
        }
        if (first == 0xfe && (b[1] & 0xc0) == 0xc0) {
            return "a site-local address";
        }
        if (first == 0 || (first == 0x20 && b[1] == 0x02) || (first == 0 && b[1] == 0x64)) {
            return "a reserved or translated address";
        }
        return null;
    }
}
