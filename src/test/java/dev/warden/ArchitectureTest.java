package dev.warden;

import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAnyPackage;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideOutsideOfPackage;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchRule;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The package-info sentences as rules: each test below quotes the sentence it checks, so a change to
 * what a package may use is made in its package-info and here together. Rules are per package, never
 * per class, so moving classes within the layout keeps them true.
 *
 * <p>{@code call} ("every package may use") and {@code config} ("shared by every package") are allowed
 * wherever a package-info lists what a package may use, as their own package-infos say; a package that
 * "depends on nothing else in Warden" may not use them either. A package always may use its own
 * subpackages. The root package ({@link Warden}, {@link LogSetup}, {@link Preload}) is the composition
 * root and may use everything.
 */
class ArchitectureTest {

    private static final String[] SHARED = {"dev.warden.call..", "dev.warden.config.."};
    private static final String[] MCP_SDK_AND_JETTY = {"io.modelcontextprotocol..", "org.eclipse.jetty.."};

    private static JavaClasses warden;

    @BeforeAll
    static void importMainClasses() {
        warden = new ClassFileImporter()
                .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_JARS)
                .importPackages("dev.warden");
    }

    /** Classes in {@code pkg} (and its subpackages) use no Warden package but their own. */
    private static ArchRule dependsOnNothingElse(String pkg) {
        return classes().that().resideInAPackage(pkg + "..")
                .should().onlyDependOnClassesThat(resideOutsideOfPackage("dev.warden..")
                        .or(resideInAnyPackage(pkg + "..")))
                .because("the package-info of " + pkg + " says it depends on nothing else in Warden");
    }

    /** Classes in {@code pkg} (and its subpackages) use only the named Warden packages, call and config. */
    private static ArchRule mayUseOnly(String pkg, String... allowed) {
        String[] packages = Stream.of(Stream.of(pkg + ".."), Arrays.stream(SHARED), Arrays.stream(allowed))
                .flatMap(s -> s).toArray(String[]::new);
        return classes().that().resideInAPackage(pkg + "..")
                .should().onlyDependOnClassesThat(resideOutsideOfPackage("dev.warden..")
                        .or(resideInAnyPackage(packages)))
                .because("the package-info of " + pkg + " says what it may use");
    }

    // ---- the values and the leaves ------------------------------------------------------------

    @Test
    void callDependsOnNothingElse() {
        // call: "Depends on nothing else in Warden."
        dependsOnNothingElse("dev.warden.call").check(warden);
    }

    @Test
    void configDependsOnNoOtherPackage() {
        // config: "Shared by every package; depends on none of them."
        dependsOnNothingElse("dev.warden.config").check(warden);
    }

    @Test
    void auditDependsOnNothingElse() {
        // audit: "Depends on nothing else in Warden."
        dependsOnNothingElse("dev.warden.audit").check(warden);
    }

    @Test
    void sanitizeIsPure() {
        // sanitize: "Pure; depends on nothing else in Warden."
        dependsOnNothingElse("dev.warden.sanitize").check(warden);
    }

    @Test
    void codeScannersDependOnNothingElse() {
        // policy.code: "nothing here depends on the rest of Warden."
        dependsOnNothingElse("dev.warden.policy.code").check(warden);
    }

    @Test
    void shellParserDependsOnNothingElse() {
        // policy.shell: "Nothing here depends on the rest of Warden."
        dependsOnNothingElse("dev.warden.policy.shell").check(warden);
    }

    @Test
    void sessionUsesConfigOnly() {
        // session: "Depends on config only."
        mayUseOnly("dev.warden.session").check(warden);
    }

    @Test
    void instanceUsesSessionOnly() {
        // instance: "Depends on session only (to sweep what a dead instance left)."
        mayUseOnly("dev.warden.instance", "dev.warden.session..").check(warden);
    }

    // ---- the decision, the person, the limits ---------------------------------------------------

    @Test
    void policyUsesConfigAndSessionOnly() {
        // policy: "Depends on config and session only."
        mayUseOnly("dev.warden.policy", "dev.warden.session..").check(warden);
    }

    @Test
    void approvalUsesPolicyAndSanitizeOnly() {
        // approval: "May depend on policy (findings) and sanitize (what looks like a secret); never on mcp,
        // exec or the transports."
        mayUseOnly("dev.warden.approval", "dev.warden.policy..", "dev.warden.sanitize..").check(warden);
        noClasses().that().resideInAPackage("dev.warden.approval..")
                .should().dependOnClassesThat().resideInAnyPackage(
                        "io.modelcontextprotocol..", "org.eclipse.jetty..", "jakarta.servlet..")
                .because("approval never depends on the transports")
                .check(warden);
    }

    @Test
    void limitUsesExecAndConfigOnly() {
        // limit: "Depends on exec (to stop a run) and config only."
        mayUseOnly("dev.warden.limit", "dev.warden.exec..").check(warden);
    }

    // ---- the executors --------------------------------------------------------------------------

    @Test
    void execUsesConfigAndSessionOnly() {
        // exec: "May use config and session; never policy, mcp, sanitize or audit." The implementations in
        // exec.host and exec.container have rules of their own; the shared package does not use them.
        classes().that().resideInAPackage("dev.warden.exec")
                .should().onlyDependOnClassesThat(resideOutsideOfPackage("dev.warden..")
                        .or(resideInAnyPackage("dev.warden.exec", "dev.warden.session..", SHARED[0], SHARED[1])))
                .because("the package-info of dev.warden.exec says what it may use")
                .check(warden);
    }

    @Test
    void hostExecutorsUseExecConfigAndSessionOnly() {
        // exec.host: "May use exec, config and session; never policy, mcp, sanitize or audit."
        mayUseOnly("dev.warden.exec.host", "dev.warden.exec", "dev.warden.session..").check(warden);
    }

    @Test
    void containerExecutorUsesConfigExecAndSessionOnly() {
        // exec.container: "May use config, exec and session; never policy, mcp, sanitize or audit."
        mayUseOnly("dev.warden.exec.container", "dev.warden.exec", "dev.warden.session..").check(warden);
    }

    @Test
    void onlyTheContainerExecutorImportsDockerJava() {
        // exec.container: "The only package that imports docker-java."
        noClasses().that().resideOutsideOfPackage("dev.warden.exec.container..")
                .should().dependOnClassesThat().resideInAPackage("com.github.dockerjava..")
                .because("only dev.warden.exec.container imports docker-java")
                .check(warden);
    }

    // ---- the contract and the road --------------------------------------------------------------

    @Test
    void contractUsesCallConfigAndTheValuesItsResultsCarry() {
        // contract: "Depends on call and config, and on the values its results carry: policy's findings and
        // approval's verdict and scope; knows nothing of MCP, the pipeline or the executors."
        mayUseOnly("dev.warden.contract", "dev.warden.policy..", "dev.warden.approval..").check(warden);
        noClasses().that().resideInAPackage("dev.warden.contract..")
                .should().dependOnClassesThat().resideInAnyPackage(MCP_SDK_AND_JETTY)
                .because("contract knows nothing of MCP")
                .check(warden);
    }

    @Test
    void pipelineUsesTheRoadsPackagesOnly() {
        // pipeline: "Uses call, contract, policy, approval, limit, exec, session, sanitize, audit and egress; knows
        // nothing of MCP (mcp calls in here, never the reverse) nor of the operator's console."
        mayUseOnly("dev.warden.pipeline", "dev.warden.contract..", "dev.warden.policy..",
                "dev.warden.approval..", "dev.warden.limit..", "dev.warden.exec..", "dev.warden.session..",
                "dev.warden.sanitize..", "dev.warden.audit..", "dev.warden.egress..").check(warden);
        noClasses().that().resideInAPackage("dev.warden.pipeline..")
                .should().dependOnClassesThat().resideInAnyPackage(MCP_SDK_AND_JETTY)
                .because("the pipeline knows nothing of MCP")
                .check(warden);
    }

    // ---- the edges ------------------------------------------------------------------------------

    @Test
    void operatorNeverImportsMcpOrPipeline() {
        // operator: "Never imports mcp or pipeline."
        noClasses().that().resideInAPackage("dev.warden.operator..")
                .should().dependOnClassesThat().resideInAnyPackage("dev.warden.mcp..", "dev.warden.pipeline..")
                .because("the operator's side never imports mcp or pipeline")
                .check(warden);
    }

    @Test
    void operatorServletsArePlainJakartaServlets() {
        // operator: "Its servlets are plain Jakarta Servlet API; the Jetty server that hosts them is mcp's."
        noClasses().that().resideInAPackage("dev.warden.operator..")
                .should().dependOnClassesThat().resideInAnyPackage(MCP_SDK_AND_JETTY)
                .because("the operator's servlets use the Servlet API, not Jetty or the MCP SDK")
                .check(warden);
    }

    @Test
    void onlyMcpImportsTheSdkAndJetty() {
        // mcp: "The only package (with its compat workarounds) that imports the MCP SDK or Jetty", but
        // for the egress proxy, which is Jetty's proxy handlers and imports Jetty, never the SDK.
        noClasses().that().resideOutsideOfPackage("dev.warden.mcp..").and().resideOutsideOfPackage("dev.warden.egress..")
                .should().dependOnClassesThat().resideInAnyPackage(MCP_SDK_AND_JETTY)
                .because("only dev.warden.mcp imports the MCP SDK or Jetty (and egress Jetty's proxy)")
                .check(warden);
        noClasses().that().resideInAPackage("dev.warden.egress..")
                .should().dependOnClassesThat().resideInAPackage("io.modelcontextprotocol..")
                .because("the egress proxy knows nothing of MCP")
                .check(warden);
    }

    @Test
    void egressUsesExecAndConfigOnly() {
        // egress: "Implements exec's egress ports; reads config; knows nothing of the pipeline, policy or MCP."
        mayUseOnly("dev.warden.egress", "dev.warden.exec").check(warden);
    }

    @Test
    void nothingCallsBackIntoMcp() {
        // mcp: "Calls into pipeline; nothing calls back into here." (The composition root wires it.)
        noClasses().that().resideOutsideOfPackage("dev.warden.mcp..")
                .and().resideOutsideOfPackage("dev.warden")
                .should().dependOnClassesThat().resideInAPackage("dev.warden.mcp..")
                .because("nothing calls back into mcp")
                .check(warden);
    }

    @Test
    void onlyMcpUsesTheCompatWorkarounds() {
        // mcp.compat: "Only dev.warden.mcp uses them; nothing here knows Warden's tools or policy."
        noClasses().that().resideOutsideOfPackage("dev.warden.mcp..")
                .should().dependOnClassesThat().resideInAPackage("dev.warden.mcp.compat..")
                .because("only dev.warden.mcp uses the compat workarounds")
                .check(warden);
        dependsOnNothingElse("dev.warden.mcp.compat").check(warden);
    }

    @Test
    void metricsUseCallOnly() {
        // metrics: "Depends on call only (its tiers and statuses are label values); the composition root wires
        // the callbacks."
        mayUseOnly("dev.warden.metrics").check(warden);
    }

    @Test
    void fleetUsesConfigCallLimitApprovalAndAuditOnly() {
        // fleet: "Depends on config, call, limit, approval and audit; the composition root wires it into the
        // pipeline, the operator console and mcp through interfaces of theirs."
        mayUseOnly("dev.warden.fleet", "dev.warden.limit..", "dev.warden.approval..", "dev.warden.audit..")
                .check(warden);
    }

    // ---- the whole ------------------------------------------------------------------------------

    @Test
    void noCyclesBetweenPackages() {
        // Every package-info above describes a one-way dependency; together they admit no cycle. Each
        // package is its own slice, so a cycle between a package and its subpackage counts too.
        slices().matching("dev.warden.(**)").should().beFreeOfCycles().check(warden);
    }
}
