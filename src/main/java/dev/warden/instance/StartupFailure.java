package dev.warden.instance;

/**
 * Warden cannot start, for a reason the operator can fix: the message says what is wrong and how
 * to fix it, in one or two lines, and main prints it instead of a stack trace.
 */
public final class StartupFailure extends RuntimeException {

    private static final long serialVersionUID = 1L;

    public StartupFailure(String message) {
        super(message);
    }

    public StartupFailure(String message, Throwable cause) {
        super(message, cause);
    }
}
