package dev.warden.contract;

/**
 * The arguments of get_execution, send_input and stop_execution, already type-checked: the execution,
 * how long to wait for news ({@code waitMs}, get_execution), where each stream's next read starts, and
 * the input to send ({@code data}, {@code close}: end of input after it).
 */
public record ExecutionCall(String executionId, long waitMs, long stdoutOffset, long stderrOffset, String data,
        boolean close) {
}
