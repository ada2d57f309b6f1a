/**
 * The L3 container executor: one container per call from the language's image (Docker Engine API
 * through docker-java, plus the hijacked attach/exec streams spoken directly on the socket), its
 * warm pool, the engine probe, Warden's seccomp profile for containers ({@code seccomp.json}) and
 * the choice of OCI runtime (runc or gVisor's runsc). The only package that imports docker-java. May use config, exec
 * and session; never policy, mcp, sanitize or audit.
 */
package dev.warden.exec.container;
