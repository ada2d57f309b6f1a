package dev.warden.contract;

import dev.warden.call.Status;
import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.annotation.JsonUnwrapped;
import dev.warden.policy.Finding;
import java.util.List;
import java.util.Map;

/**
 * The result object of run_command and execute_code, field for field as in CONTRACT.md, plus
 * {@code compile} (compiled languages only): the compile phase, {status, exit_code, stdout, stderr,
 * stdout_truncated, stderr_truncated, duration_ms}, sanitized like the run's output; and {@code network}
 * (runs with egress only): the connections of the run, allowed with their bytes and denied with the reason;
 * {@code artifacts} and {@code artifacts_truncated} (runs in L2 and L3 only): the files the run created or
 * changed. {@code images} is not on the wire: the images among them, sent as MCP image content.
 */
@JsonPropertyOrder({"status", "exit_code", "stdout", "stderr", "stdout_truncated", "stderr_truncated", "duration_ms",
        "tier", "executor", "findings", "redactions", "execution_id", "limits", "usage", "retry_after_ms", "message",
        "compile", "approval", "workspace_restored", "network", "stdout_offset", "stderr_offset", "stdout_dropped",
        "stderr_dropped", "artifacts", "artifacts_truncated", "kernel", "outputs"})
public record CallResult(
        @JsonProperty("status") Status status,
        @JsonProperty("exit_code") @JsonInclude(JsonInclude.Include.ALWAYS) Integer exitCode,
        @JsonProperty("stdout") String stdout,
        @JsonProperty("stderr") String stderr,
        @JsonProperty("stdout_truncated") boolean stdoutTruncated,
        @JsonProperty("stderr_truncated") boolean stderrTruncated,
        @JsonProperty("duration_ms") long durationMs,
        @JsonProperty("tier") String tier,
        @JsonProperty("executor") String executor,
        @JsonProperty("findings") List<Finding> findings,
        @JsonProperty("redactions") int redactions,
        @JsonProperty("execution_id") String executionId,
        @JsonProperty("limits") Map<String, Object> limits,
        @JsonProperty("usage") Map<String, Object> usage,
        @JsonProperty("retry_after_ms") @JsonInclude(JsonInclude.Include.NON_NULL) Long retryAfterMs,
        @JsonProperty("message") @JsonInclude(JsonInclude.Include.NON_NULL) String message,
        @JsonProperty("compile") @JsonInclude(JsonInclude.Include.NON_NULL) Map<String, Object> compile,
        @JsonProperty("approval") @JsonInclude(JsonInclude.Include.NON_NULL) Map<String, Object> approval,
        @JsonProperty("workspace_restored") @JsonInclude(JsonInclude.Include.NON_NULL) Boolean workspaceRestored,
        @JsonProperty("network") @JsonInclude(JsonInclude.Include.NON_NULL) Map<String, Object> network,
        @JsonUnwrapped Offsets offsets,
        @JsonProperty("artifacts") @JsonInclude(JsonInclude.Include.NON_NULL) List<Artifact> artifacts,
        @JsonProperty("artifacts_truncated") @JsonInclude(JsonInclude.Include.NON_NULL) Boolean artifactsTruncated,
        @JsonProperty("kernel") @JsonInclude(JsonInclude.Include.NON_NULL) Map<String, Object> kernel,
        @JsonIgnore List<Image> images) {

    /**
     * Of a background run (get_execution, stop_execution): where the next read of each stream starts,
     * and how many bytes before this read's output a full buffer lost. Absent from other results.
     */
    public record Offsets(@JsonProperty("stdout_offset") long stdoutOffset, @JsonProperty("stderr_offset") long stderrOffset,
            @JsonProperty("stdout_dropped") long stdoutDropped, @JsonProperty("stderr_dropped") long stderrDropped) {
    }

    /** Without a compile phase (every language but the compiled ones at L3) and outside L4. */
    public CallResult(Status status, Integer exitCode, String stdout, String stderr, boolean stdoutTruncated,
            boolean stderrTruncated, long durationMs, String tier, String executor, List<Finding> findings,
            int redactions, String executionId, Map<String, Object> limits, Map<String, Object> usage,
            Long retryAfterMs, String message, Map<String, Object> compile, Map<String, Object> approval,
            Boolean workspaceRestored, Map<String, Object> network) {
        this(status, exitCode, stdout, stderr, stdoutTruncated, stderrTruncated, durationMs, tier, executor, findings,
                redactions, executionId, limits, usage, retryAfterMs, message, compile, approval, workspaceRestored,
                network, null, null, null, null, null);
    }

    /** Without a compile phase (every language but the compiled ones at L3) and outside L4. */
    public CallResult(Status status, Integer exitCode, String stdout, String stderr, boolean stdoutTruncated,
            boolean stderrTruncated, long durationMs, String tier, String executor, List<Finding> findings,
            int redactions, String executionId, Map<String, Object> limits, Map<String, Object> usage,
            Long retryAfterMs, String message) {
        this(status, exitCode, stdout, stderr, stdoutTruncated, stderrTruncated, durationMs, tier, executor, findings,
                redactions, executionId, limits, usage, retryAfterMs, message, null, null, null, null);
    }

    /** With its offsets, without artifacts (every result but a run's in L2 or L3). */
    public CallResult(Status status, Integer exitCode, String stdout, String stderr, boolean stdoutTruncated,
            boolean stderrTruncated, long durationMs, String tier, String executor, List<Finding> findings,
            int redactions, String executionId, Map<String, Object> limits, Map<String, Object> usage,
            Long retryAfterMs, String message, Map<String, Object> compile, Map<String, Object> approval,
            Boolean workspaceRestored, Map<String, Object> network, Offsets offsets) {
        this(status, exitCode, stdout, stderr, stdoutTruncated, stderrTruncated, durationMs, tier, executor, findings,
                redactions, executionId, limits, usage, retryAfterMs, message, compile, approval, workspaceRestored,
                network, offsets, null, null, null, null);
    }

    /**
     * The images of the result ({@code outputs}: a kernel's figures, then the image files the run wrote),
     * each as {@code {type: image, mime, bytes, path}} ({@code path} only where a file holds it); absent
     * when there are none.
     */
    @JsonProperty("outputs")
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public List<Map<String, Object>> outputs() {
        if (images == null || images.isEmpty()) {
            return null;
        }
        List<Map<String, Object>> all = new java.util.ArrayList<>();
        for (Image i : images) {
            Map<String, Object> m = new java.util.LinkedHashMap<>();
            m.put("type", "image");
            m.put("mime", i.mime());
            m.put("bytes", java.util.Base64.getDecoder().decode(i.data()).length);
            if (i.path() != null) {
                m.put("path", i.path());
            }
            all.add(m);
        }
        return all;
    }

    /**
     * The same result as a cell of a kernel: {@code kernel} ({name, language, execution_count, restarted})
     * and its figures, which go before any image file the cell wrote; {@code note} (null: none) is added to
     * the message of a result that has one (what became of the kernel): an ok result has none, and there
     * {@code kernel.restarted} says it.
     */
    public CallResult withKernel(Map<String, Object> kernelInfo, List<Image> figures, String note) {
        List<Image> all = new java.util.ArrayList<>(figures);
        if (images != null) {
            all.addAll(images);
        }
        return new CallResult(status, exitCode, stdout, stderr, stdoutTruncated, stderrTruncated, durationMs, tier,
                executor, findings, redactions, executionId, limits, usage, retryAfterMs,
                note == null || status == Status.OK ? message : message == null ? note : message + " " + note, compile,
                approval,
                workspaceRestored, network, offsets, artifacts, artifactsTruncated, kernelInfo, List.copyOf(all));
    }

    /** The images the run wrote, to go back as MCP image content; never serialized. */
    @Override
    @JsonIgnore
    public List<Image> images() {
        return images;
    }

    /**
     * The same result with the files its run created or changed ({@code truncated}: more were changed
     * than listed) and the images among them sent as image content.
     */
    public CallResult withArtifacts(List<Artifact> found, boolean truncated, List<Image> imageContent) {
        return new CallResult(status, exitCode, stdout, stderr, stdoutTruncated, stderrTruncated, durationMs, tier,
                executor, findings, redactions, executionId, limits, usage, retryAfterMs, message, compile, approval,
                workspaceRestored, network, offsets, List.copyOf(found), truncated, kernel, java.util.stream.Stream.concat(
                        images == null ? java.util.stream.Stream.<Image>empty()
                                : images.stream().filter(i -> i.path() == null), // a kernel's figures stay
                        imageContent.stream()).toList());
    }

    /**
     * The same result as a background run's client reads it: the output of this read (sanitized), its
     * truncation flags, offsets and drops, and the status and message of the run at this moment.
     */
    public CallResult asRead(Status now, String stdoutText, String stderrText, boolean outMore, boolean errMore,
            int readRedactions, long durationNow, String newMessage, Offsets at) {
        return new CallResult(now, exitCode, stdoutText, stderrText, outMore, errMore, durationNow, tier, executor,
                findings, readRedactions, executionId, limits, usage, retryAfterMs, newMessage, compile, approval,
                workspaceRestored, network, at, artifacts, artifactsTruncated, kernel, null);
    }

    /**
     * Every status but ok is an error, and running: a background run that goes on is no failure. (On the
     * wire as {@code error} too, as it always was.)
     */
    public boolean isError() {
        return status != Status.OK && status != Status.RUNNING;
    }

    /** The same result with its compile phase, whose redactions add to the run's. */
    public CallResult withCompile(Map<String, Object> compilePhase, int compileRedactions) {
        return new CallResult(status, exitCode, stdout, stderr, stdoutTruncated, stderrTruncated, durationMs, tier,
                executor, findings, redactions + compileRedactions, executionId, limits, usage, retryAfterMs, message,
                compilePhase, approval, workspaceRestored, network, offsets, artifacts, artifactsTruncated, kernel, images);
    }

    /** The same result with the approval that let it run ({@code decision}, approver, channel, scope, time). */
    public CallResult withApproval(Map<String, Object> approvalInfo, Boolean restored, String newMessage) {
        return new CallResult(status, exitCode, stdout, stderr, stdoutTruncated, stderrTruncated, durationMs, tier,
                executor, findings, redactions, executionId, limits, usage, retryAfterMs, newMessage, compile,
                approvalInfo, restored, network, offsets, artifacts, artifactsTruncated, kernel, images);
    }

    /** The same result with more findings (after the run: the project's git check). */
    public CallResult withFindings(List<Finding> more) {
        if (more.isEmpty()) {
            return this;
        }
        List<Finding> all = new java.util.ArrayList<>(findings);
        all.addAll(more);
        return new CallResult(status, exitCode, stdout, stderr, stdoutTruncated, stderrTruncated, durationMs, tier,
                executor, all, redactions, executionId, limits, usage, retryAfterMs, message, compile, approval,
                workspaceRestored, network, offsets, artifacts, artifactsTruncated, kernel, images);
    }

    /**
     * The same result with what its run did on the network ({@code allowed}, {@code denied}, {@code
     * presets}) and a finding for each refusal.
     */
    public CallResult withNetwork(Map<String, Object> networkField, List<Finding> refusals) {
        return new CallResult(status, exitCode, stdout, stderr, stdoutTruncated, stderrTruncated, durationMs, tier,
                executor, findings, redactions, executionId, limits, usage, retryAfterMs, message, compile, approval,
                workspaceRestored, networkField, offsets, artifacts, artifactsTruncated, kernel, images)
            .withFindings(refusals);
    }
}
