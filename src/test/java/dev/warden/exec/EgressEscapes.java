package dev.warden.exec;

import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * The ways out a run with egress tries (L2 and L3 alike): only its own relay (the port its HTTP_PROXY
 * names: 3128 in a namespace of its own, its slot's in a session's) may answer; other relay ports of a
 * session's namespace refuse it.
 */
public final class EgressEscapes {

    private EgressEscapes() {
    }

    /** The host's own IPv4 addresses, the docker bridge's gateway, public resolvers. */
    public static List<String> outsideAddresses() throws IOException {
        Set<String> hosts = new TreeSet<>(List.of("172.17.0.1", "1.1.1.1", "8.8.8.8", "10.0.2.2"));
        for (NetworkInterface nif : java.util.Collections.list(NetworkInterface.getNetworkInterfaces())) {
            for (InetAddress a : java.util.Collections.list(nif.getInetAddresses())) {
                if (a instanceof Inet4Address && !a.isLoopbackAddress()) {
                    hosts.add(a.getHostAddress());
                }
            }
        }
        return List.copyOf(hosts);
    }

    /** A python program that tries every way out; it prints OUT for any that works. */
    public static String program(List<String> hosts, int listenerPort) {
        StringBuilder pyHosts = new StringBuilder();
        hosts.forEach(a -> pyHosts.append('"').append(a).append("\", "));
        return """
            import os, socket
            relay = int(os.environ["HTTP_PROXY"].rsplit(":", 1)[1])
            for host in (%s):
                for port in (%d, 22, 53, 80, 443, 2375, 3128):
                    try:
                        socket.create_connection((host, port), timeout=1).close(); print("OUT tcp", host, port)
                    except OSError as e:
                        pass
            for port in (22, 80, 443, 8080, 3128, 28000, 28001, 28002, 28003):
                if port == relay:
                    continue
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close(); print("OUT loopback", port)
                except OSError:
                    pass
            try:
                u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.sendto(b"x", ("1.1.1.1", 53)); print("OUT udp")
            except OSError as e:
                print("udp refused", e.errno)
            try:
                print("OUT dns", socket.getaddrinfo("example.com", 443))
            except OSError as e:
                print("dns refused")
            for kind in (socket.SOCK_DGRAM, socket.SOCK_RAW):
                try:
                    i = socket.socket(socket.AF_INET, kind, socket.IPPROTO_ICMP)
                    i.sendto(b"\\x08\\x00\\xf7\\xff\\x00\\x00\\x00\\x00", ("1.1.1.1", 0)); print("OUT icmp", kind)
                except OSError as e:
                    print("icmp refused", e.errno)
            socket.create_connection(("127.0.0.1", relay), timeout=2).close(); print("relay answers")
            """.formatted(pyHosts, listenerPort);
    }
}
