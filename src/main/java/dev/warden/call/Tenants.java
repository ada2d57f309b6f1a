package dev.warden.call;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The tenant of each live workspace, by its host directory: the workspaces register theirs when
 * they are made and remove it when they go; the executors look a workspace's up when they start a
 * sandbox for it. A workspace that was never registered (the self-test's) runs as the slot's uid.
 */
public final class Tenants {

    private final Map<Path, Tenant> byWorkspace = new ConcurrentHashMap<>();

    public void register(Path workspace, Tenant tenant) {
        byWorkspace.put(workspace, tenant);
    }

    public void remove(Path workspace) {
        byWorkspace.remove(workspace);
    }

    /** @return the workspace's tenant, or null if it has none */
    public Tenant of(Path workspace) {
        return byWorkspace.get(workspace);
    }
}
