package dev.warden.policy.shell;

/** The command line is not shell syntax this parser understands; the message says where and why. */
public final class ShellSyntaxException extends Exception {

    private static final long serialVersionUID = 1L;

    public ShellSyntaxException(String message) {
        super(message, null, false, false);
    }
}
