/**
 * The L3 container executor: one container per call from the language's image. By concern:
 * {@link dev.warden.exec.container.ContainerSpec} (the container's isolation as data, pure) and
 * {@link dev.warden.exec.container.DockerCreate} (filled into docker-java's create);
 * {@link dev.warden.exec.container.ContainerCommand} (what a call asks of the stub, pure);
 * {@link dev.warden.exec.container.ContainerSession} (the attach and exec streams of one phase);
 * {@link dev.warden.exec.container.DockerEngine} (the container operations through docker-java) and
 * {@link dev.warden.exec.container.EngineSocket} (the only raw HTTP to the engine: the hijacked
 * streams and the start-up probes); {@link dev.warden.exec.container.ContainerExecutor} (a call's
 * course, its outcome, the life cycle and the warm pool); {@link dev.warden.exec.container.ContainerRuntime}
 * (the engine probe and set-up), Warden's seccomp profile for containers ({@code seccomp.json}) and
 * the choice of OCI runtime (runc or gVisor's runsc). The only package that imports docker-java.
 * May use config, exec and session; never policy, mcp, sanitize or audit.
 */
package dev.warden.exec.container;
