package dev.warden;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.JsonEncoder;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.encoder.Encoder;
import ch.qos.logback.core.spi.ContextAwareBase;
import org.slf4j.Logger;

/**
 * Logging set up in code, found by logback through ServiceLoader: stderr only (on stdio the MCP
 * transport owns stdout, and one stray line corrupts the protocol). Done in code rather than
 * logback.xml because the XML configurator loads some 500 classes, a third of start-up time.
 * WARDEN_LOG_LEVEL (DEBUG, INFO, WARN, ERROR) sets Warden's own level. WARDEN_LOG_FORMAT=json (or the
 * config's server.log_format: json, see {@link #format}) writes one JSON object per line instead
 * (logback's own {@link JsonEncoder}, for a log collector); see {@link #json()} for its fields.
 */
public final class LogSetup extends ContextAwareBase implements Configurator {

    @Override
    public ExecutionStatus configure(LoggerContext ctx) {
        Encoder<ILoggingEvent> encoder = "json".equalsIgnoreCase(System.getenv("WARDEN_LOG_FORMAT")) ? json() : text();
        encoder.setContext(ctx);
        encoder.start();
        ConsoleAppender<ILoggingEvent> stderr = new ConsoleAppender<>();
        stderr.setContext(ctx);
        stderr.setName("stderr");
        stderr.setTarget("System.err");
        stderr.setEncoder(encoder);
        stderr.start();
        ch.qos.logback.classic.Logger root = ctx.getLogger(Logger.ROOT_LOGGER_NAME);
        root.setLevel(Level.WARN);
        root.addAppender(stderr);
        String level = System.getenv("WARDEN_LOG_LEVEL");
        ctx.getLogger("dev.warden").setLevel(Level.toLevel(level, Level.INFO));
        // a fleet's Redis out of reach is logged once by RedisBuckets (and once when it is back); Lettuce
        // would warn of each failed reconnection every few seconds for as long as it lasts
        ctx.getLogger("io.lettuce.core.protocol.ConnectionWatchdog").setLevel(Level.ERROR);
        return ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY;
    }

    /**
     * The config's {@code server.log_format}, applied once the config is read, unless WARDEN_LOG_FORMAT chose
     * already: the console appender gets that encoder instead. Nothing is logged before the config is read
     * but the config's own refusal, which goes to stderr as a plain line anyway.
     */
    public static void format(String format) {
        String env = System.getenv("WARDEN_LOG_FORMAT");
        if (env != null && !env.isBlank()) {
            return;
        }
        if (!(org.slf4j.LoggerFactory.getILoggerFactory() instanceof LoggerContext ctx)) {
            return;
        }
        if (!(ctx.getLogger(Logger.ROOT_LOGGER_NAME).getAppender("stderr") instanceof ConsoleAppender<ILoggingEvent> stderr)
                || (stderr.getEncoder() instanceof JsonEncoder) == "json".equals(format)) {
            return;
        }
        Encoder<ILoggingEvent> encoder = "json".equals(format) ? json() : text();
        encoder.setContext(ctx);
        encoder.start();
        stderr.stop();
        stderr.setEncoder(encoder);
        stderr.start();
    }

    private static Encoder<ILoggingEvent> text() {
        PatternLayoutEncoder encoder = new PatternLayoutEncoder();
        encoder.setPattern("%d{HH:mm:ss.SSS} %-5level %logger{0} - %msg%n");
        return encoder;
    }

    /**
     * One object per line: {@code timestamp} (epoch ms), {@code level}, {@code threadName}, {@code loggerName}
     * (the full class name), {@code formattedMessage} (the line as the text format shows it), and
     * {@code throwable} when there is one. Without logback's {@code message}, which is the unformatted
     * template ("warden {}: instance {}"), and its arguments, the sequence number and the context's
     * properties: the same facts once.
     */
    private static Encoder<ILoggingEvent> json() {
        JsonEncoder encoder = new JsonEncoder();
        encoder.setWithSequenceNumber(false);
        encoder.setWithNanoseconds(false);
        encoder.setWithContext(false);
        encoder.setWithMDC(false); // Warden puts nothing there
        encoder.setWithMessage(false);
        encoder.setWithArguments(false);
        encoder.setWithFormattedMessage(true);
        return encoder;
    }
}
