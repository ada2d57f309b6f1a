/**
 * The server's own metrics, served as Prometheus text at {@code GET /metrics} (operator token only):
 * counters and histograms of the calls the pipeline answers and of the audit's writes
 * ({@link dev.warden.metrics.WardenMetrics}), gauges and counters that read the live values of the other
 * parts through callbacks ({@link dev.warden.metrics.Live}: nothing is counted twice), and the servlet
 * that serves them ({@link dev.warden.metrics.MetricsServlet}, plain Jakarta Servlet API, mounted by mcp's
 * Jetty). Depends on call only (its tiers and statuses are label values); the composition root wires
 * the callbacks. Labels are bounded sets: tool names, tiers, statuses, directions; never a client,
 * a command or a path.
 */
package dev.warden.metrics;
