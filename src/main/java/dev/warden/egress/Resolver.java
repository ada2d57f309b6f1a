package dev.warden.egress;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;
import java.util.Map;

/** Name to addresses, as the proxy sees it: the policy's fixed names first, then the system's resolver. */
@FunctionalInterface
public interface Resolver {

    List<InetAddress> resolve(String host) throws UnknownHostException;

    /** The system's resolver behind a fixed map of names (the policy's {@code network.hosts}). */
    static Resolver system(Map<String, InetAddress> fixed) {
        return host -> {
            InetAddress f = fixed.get(host);
            if (f != null) {
                return List.of(f);
            }
            InetAddress literal = HostPattern.literal(host);
            return literal != null ? List.of(literal) : List.of(InetAddress.getAllByName(host));
        };
    }
}
