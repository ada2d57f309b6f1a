/**
 * The L3 container executor: one container per call from the language's image (Docker Engine API
 * through docker-java, plus the hijacked attach/exec streams spoken directly on the socket), its
 * warm pool, and the engine probe. The only package that imports docker-java. May use config, exec
 * and session; never policy, mcp, sanitize or audit.
 */
package dev.warden.exec.container;
