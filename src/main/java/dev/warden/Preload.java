package dev.warden;

import org.slf4j.LoggerFactory;

/**
 * Start-up is mostly class loading, on one thread. While main reads the config, a second thread
 * loads and initialises what the MCP server will need next (logging, reactor, the SDK's schema and
 * protocol classes), so the two overlap on a machine with more than one core. Loading a class early
 * changes nothing but when the cost is paid.
 */
final class Preload {

    private static final String[] CLASSES = {
        "reactor.core.publisher.Mono", "reactor.core.publisher.Flux", "reactor.core.publisher.Sinks",
        "reactor.core.scheduler.Schedulers", "io.modelcontextprotocol.spec.McpSchema",
        "io.modelcontextprotocol.spec.McpSchema$InitializeResult", "io.modelcontextprotocol.spec.McpSchema$Tool",
        "io.modelcontextprotocol.spec.McpSchema$CallToolResult", "io.modelcontextprotocol.server.McpServer",
        "io.modelcontextprotocol.server.McpAsyncServer", "io.modelcontextprotocol.server.McpSyncServer",
        "io.modelcontextprotocol.spec.McpServerSession", "io.modelcontextprotocol.server.transport.StdioServerTransportProvider",
        "io.modelcontextprotocol.json.jackson2.JacksonMcpJsonMapper",
        "io.modelcontextprotocol.json.schema.jackson2.DefaultJsonSchemaValidator",
        "com.networknt.schema.dialect.DefaultDialectRegistry", "com.networknt.schema.SchemaRegistry",
    };

    private Preload() {
    }

    static void start() {
        Thread t = new Thread(Preload::run, "warden-preload");
        t.setDaemon(true);
        t.start();
    }

    private static void run() {
        LoggerFactory.getILoggerFactory();
        ClassLoader cl = Preload.class.getClassLoader();
        for (String name : CLASSES) {
            try {
                Class.forName(name, true, cl);
            }
            catch (ClassNotFoundException | LinkageError e) {
                // a name that moved in a new SDK version only loses the head start
            }
        }
        reactor.core.scheduler.Schedulers.boundedElastic();
        // the first SecureRandom loads the security providers (tens of ms cold): ids and workspace names use it
        new java.security.SecureRandom().nextBytes(new byte[8]);
        try {
            Class.forName("dev.warden.sanitize.Sanitizer", true, cl); // compiles its patterns
        }
        catch (ClassNotFoundException e) {
            throw new IllegalStateException(e);
        }
    }
}
