package dev.warden.config;

/** A configuration Warden refuses to start with. The message is meant for the operator. */
public final class ConfigException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    public ConfigException(String message, Throwable cause) {
        super(message, cause);
    }
}
