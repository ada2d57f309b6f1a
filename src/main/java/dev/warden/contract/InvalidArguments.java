package dev.warden.contract;

/** Tool arguments that failed validation; the message is written for the model. */
public final class InvalidArguments extends Exception {

    private static final long serialVersionUID = 1L;

    InvalidArguments(String message) {
        super(message, null, false, false);
    }
}
