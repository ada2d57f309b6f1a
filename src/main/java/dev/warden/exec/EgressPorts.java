package dev.warden.exec;

import java.io.IOException;

/** Opens the egress ports of sandboxes: Warden's proxy, or nothing where egress is off. */
public interface EgressPorts {

    /** No proxy: sandboxes get no port, no relay and no proxy variables (no network at all). */
    EgressPorts NONE = name -> null;

    /**
     * A port for one sandbox.
     *
     * @param name unique among the ports open at once (a slot's or a container's name)
     * @return the port, or null where this server has no egress
     */
    EgressPort open(String name) throws IOException;
}
