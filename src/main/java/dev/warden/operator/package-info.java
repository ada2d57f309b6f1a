/**
 * The operator's side: the console's use cases ({@link dev.warden.operator.OperatorConsole}: held calls,
 * running executions, the kill switch, the audit tail), its web page and JSON API behind their own token
 * ({@link dev.warden.operator.OperatorServlet}), and the command line that finds a running server through
 * its instance state file ({@link dev.warden.operator.OperatorCli}). Never imports mcp or pipeline. Its
 * servlets are plain Jakarta Servlet API; the Jetty server that hosts them is mcp's.
 */
package dev.warden.operator;
