/**
 * The operator's side: the console's use cases ({@link dev.warden.operator.OperatorConsole}: held calls,
 * running executions, the sessions' kernels, the kill switch, the audit tail), its token
 * ({@link dev.warden.operator.OperatorAuth}), its JSON API ({@link dev.warden.operator.OperatorApiServlet}), its
 * page ({@link dev.warden.operator.OperatorPageServlet}, rendered from the template operator/page.mustache by
 * {@link dev.warden.operator.OperatorPage}), and the command line that finds a running server through
 * its instance state file ({@link dev.warden.operator.OperatorCli}). Never imports mcp or pipeline. Its
 * servlets are plain Jakarta Servlet API; the Jetty server that hosts them is mcp's.
 */
package dev.warden.operator;
