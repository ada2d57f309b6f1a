package dev.warden.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.warden.config.ConfigLoader;
import dev.warden.config.WardenConfig;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.KubernetesResource;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.ResourceRequirements;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecurityContext;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * deploy/kubernetes as far as a machine without a cluster can check it: every document of every file the
 * kustomization names is read as fabric8's Kubernetes model for its apiVersion and kind, and any field the model
 * does not know (a typo, a wrong indentation, a field of another version) fails, with its path. Then the invariants
 * the deployment promises: every container has requests, limits and all three probes; the Services and the
 * PodDisruptionBudget select the Warden StatefulSet's pods; the ConfigMap's warden.yaml loads with Warden's own
 * loader and has the fleet on, without a secret in it; no image is :latest or untagged; and the Warden container's
 * privileges are exactly those docs/FLEET.md lists one by one. Not run here: a real apply (kubectl, a cluster).
 */
class KubernetesManifestsTest {

    private static final Path DIR = Path.of("deploy", "kubernetes");
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final KubernetesSerialization K8S = new KubernetesSerialization();

    static List<HasMetadata> resources;

    @TempDir
    Path tmp;

    @BeforeAll
    static void read() throws Exception {
        resources = new ArrayList<>();
        for (String file : kustomizationResources()) {
            try (var parser = YAML.getFactory().createParser(DIR.resolve(file).toFile())) {
                var docs = YAML.readValues(parser, JsonNode.class);
                while (docs.hasNext()) {
                    JsonNode doc = docs.next();
                    if (doc == null || doc.isNull() || doc.isMissingNode()) {
                        continue;
                    }
                    resources.add(strict(file, doc));
                }
            }
        }
    }

    private static List<String> kustomizationResources() throws Exception {
        JsonNode k = YAML.readTree(DIR.resolve("kustomization.yaml").toFile());
        Set<String> known = Set.of("apiVersion", "kind", "namespace", "labels", "resources", "images");
        k.fieldNames().forEachRemaining(f -> assertTrue(known.contains(f), "kustomization.yaml: unexpected field " + f));
        assertEquals("kustomize.config.k8s.io/v1beta1", k.path("apiVersion").asText());
        assertEquals("Kustomization", k.path("kind").asText());
        List<String> files = new ArrayList<>();
        k.path("resources").forEach(r -> files.add(r.asText()));
        return files;
    }

    /** One document as the model of its kind; any field the model does not know is a failure. */
    private static HasMetadata strict(String file, JsonNode doc) {
        String apiVersion = doc.path("apiVersion").asText();
        String kind = doc.path("kind").asText();
        Class<? extends KubernetesResource> type = K8S.getRegisteredKubernetesResource(apiVersion, kind);
        if (type == null || type == GenericKubernetesResource.class) {
            fail(file + ": " + apiVersion + " " + kind + " is not a kind of Kubernetes' own API");
        }
        HasMetadata r = (HasMetadata) K8S.convertValue(doc, type);
        List<String> unknown = new ArrayList<>();
        unknownFields(r, kind + "/" + r.getMetadata().getName(), unknown, new IdentityHashMap<>());
        assertEquals(List.of(), unknown, file + ": fields the Kubernetes model does not know");
        return r;
    }

    /** Walks the model: anything it did not map to a field of its own landed in an additionalProperties map. */
    private static void unknownFields(Object o, String path, List<String> out, IdentityHashMap<Object, Boolean> seen) {
        if (o == null || seen.put(o, Boolean.TRUE) != null) {
            return;
        }
        if (o instanceof Collection<?> c) {
            int i = 0;
            for (Object e : c) {
                unknownFields(e, path + "[" + i++ + "]", out, seen);
            }
            return;
        }
        if (o instanceof Map<?, ?> m) {
            m.forEach((k, v) -> unknownFields(v, path + "." + k, out, seen));
            return;
        }
        if (!o.getClass().getName().startsWith("io.fabric8.kubernetes.api.model")) {
            return;
        }
        for (Method g : o.getClass().getMethods()) {
            if (g.getParameterCount() != 0 || Modifier.isStatic(g.getModifiers()) || !g.getName().startsWith("get")
                    || g.getDeclaringClass() == Object.class) {
                continue;
            }
            Object v;
            try {
                v = g.invoke(o);
            }
            catch (ReflectiveOperationException e) {
                throw new AssertionError(e);
            }
            if (g.getName().equals("getAdditionalProperties")) {
                if (v instanceof Map<?, ?> m && !m.isEmpty()) {
                    m.keySet().forEach(k -> out.add(path + "." + k));
                }
                continue;
            }
            String field = g.getName().substring(3);
            unknownFields(v, path + "." + Character.toLowerCase(field.charAt(0)) + field.substring(1), out, seen);
        }
    }

    private static <T extends HasMetadata> List<T> all(Class<T> type) {
        return resources.stream().filter(type::isInstance).map(type::cast).toList();
    }

    private static <T extends HasMetadata> T one(Class<T> type, String name) {
        return all(type).stream().filter(r -> r.getMetadata().getName().equals(name)).findFirst()
            .orElseThrow(() -> new AssertionError("no " + type.getSimpleName() + " " + name));
    }

    /** Every pod template, by the name of its workload. */
    private static Map<String, PodTemplateSpec> templates() {
        Map<String, PodTemplateSpec> t = new java.util.LinkedHashMap<>();
        all(StatefulSet.class).forEach(s -> t.put(s.getMetadata().getName(), s.getSpec().getTemplate()));
        all(Deployment.class).forEach(d -> t.put(d.getMetadata().getName(), d.getSpec().getTemplate()));
        return t;
    }

    private static Stream<Container> containers(PodSpec spec) {
        return Stream.concat(spec.getContainers().stream(),
                spec.getInitContainers() == null ? Stream.empty() : spec.getInitContainers().stream());
    }

    private static boolean selects(Map<String, String> selector, Map<String, String> labels) {
        return selector != null && !selector.isEmpty() && labels.entrySet().containsAll(selector.entrySet());
    }

    @Test
    void everyFileInTheDirectoryIsAResourceOfTheKustomization() throws Exception {
        Set<String> listed = new TreeSet<>(kustomizationResources());
        try (Stream<Path> files = Files.list(DIR)) {
            Set<String> present = files.map(p -> p.getFileName().toString())
                .filter(n -> n.endsWith(".yaml") && !n.equals("kustomization.yaml"))
                .collect(Collectors.toCollection(TreeSet::new));
            assertEquals(present, listed);
        }
        assertTrue(resources.size() >= 12, "read " + resources.size() + " documents");
    }

    @Test
    void everyContainerHasRequestsLimitsAndAllThreeProbes() {
        templates().forEach((workload, t) -> containers(t.getSpec()).forEach(c -> {
            String at = workload + "/" + c.getName();
            ResourceRequirements r = c.getResources();
            assertNotNull(r, at + ": resources");
            for (String what : List.of("cpu", "memory")) {
                assertNotNull(r.getRequests() == null ? null : r.getRequests().get(what), at + ": requests." + what);
                assertNotNull(r.getLimits() == null ? null : r.getLimits().get(what), at + ": limits." + what);
            }
            for (Probe p : new Probe[] {c.getStartupProbe(), c.getLivenessProbe(), c.getReadinessProbe()}) {
                assertNotNull(p, at + ": startup, liveness and readiness probes");
            }
        }));
    }

    @Test
    void wardenIsProbedOnHealthzAndReadyz() {
        Container w = one(StatefulSet.class, "warden").getSpec().getTemplate().getSpec().getContainers().get(0);
        assertEquals("/healthz", w.getStartupProbe().getHttpGet().getPath());
        assertEquals("/healthz", w.getLivenessProbe().getHttpGet().getPath());
        assertEquals("/readyz", w.getReadinessProbe().getHttpGet().getPath());
    }

    @Test
    void theServicesAndTheBudgetSelectTheReplicas() {
        StatefulSet warden = one(StatefulSet.class, "warden");
        Map<String, String> pods = warden.getSpec().getTemplate().getMetadata().getLabels();
        assertTrue(selects(warden.getSpec().getSelector().getMatchLabels(), pods), "the StatefulSet's own selector");
        Service headless = one(Service.class, warden.getSpec().getServiceName());
        assertEquals("None", headless.getSpec().getClusterIP(), "the StatefulSet's service is headless");
        assertTrue(selects(headless.getSpec().getSelector(), pods));
        assertTrue(selects(one(Service.class, "warden").getSpec().getSelector(), pods));
        assertTrue(selects(one(PodDisruptionBudget.class, "warden").getSpec().getSelector().getMatchLabels(), pods));
        // and every Service selects the pods of some workload here, no more than one
        for (Service s : all(Service.class)) {
            long matched = templates().values().stream()
                .filter(t -> selects(s.getSpec().getSelector(), t.getMetadata().getLabels())).count();
            assertEquals(1, matched, "Service " + s.getMetadata().getName() + " selects one workload's pods");
        }
        // each replica names itself and its address from its pod
        List<EnvVar> env = warden.getSpec().getTemplate().getSpec().getContainers().get(0).getEnv();
        EnvVar id = env.stream().filter(e -> e.getName().equals("WARDEN_REPLICA_ID")).findFirst().orElseThrow();
        assertEquals("metadata.name", id.getValueFrom().getFieldRef().getFieldPath());
        EnvVar url = env.stream().filter(e -> e.getName().equals("WARDEN_ADVERTISE_URL")).findFirst().orElseThrow();
        assertTrue(url.getValue().startsWith("http://$(WARDEN_REPLICA_ID)." + headless.getMetadata().getName() + "."),
                url.getValue());
    }

    @Test
    void theConfigMapLoadsWithWardensLoaderAndHasTheFleetOnWithoutSecrets() throws Exception {
        String yaml = one(ConfigMap.class, "warden-config").getData().get("warden.yaml");
        Path f = tmp.resolve("warden.yaml");
        Files.writeString(f, yaml);
        WardenConfig c = new ConfigLoader().load(f);
        assertTrue(c.fleet().enabled());
        assertEquals("redis://warden-redis:6379", c.fleet().redis());
        assertEquals("jdbc:postgresql://warden-postgres:5432/warden", c.fleet().postgres().url());
        assertEquals("", c.fleet().postgres().password(), "the password comes from the Secret");
        assertEquals("", c.fleet().secret(), "the fleet secret comes from the Secret");
        assertEquals(List.of(), c.http().tokens(), "client tokens come from the Secret");
        assertEquals("", c.operator().token(), "the operator token comes from the Secret");
        // each address the config names is a Service here
        Set<String> services = all(Service.class).stream().map(s -> s.getMetadata().getName()).collect(Collectors.toSet());
        assertTrue(services.contains(java.net.URI.create(c.fleet().redis()).getHost()));
        assertTrue(services.contains(java.net.URI.create(c.fleet().postgres().url().substring(5)).getHost()));
    }

    @Test
    void everySecretTheReplicasReadIsAPlaceholderTooShortToServe() {
        Secret s = one(Secret.class, "warden-secrets");
        Map<String, String> data = s.getStringData();
        templates().values().forEach(t -> containers(t.getSpec()).flatMap(c -> c.getEnv() == null ? Stream.empty()
                : c.getEnv().stream()).filter(e -> e.getValueFrom() != null && e.getValueFrom().getSecretKeyRef() != null)
            .forEach(e -> assertTrue(data.containsKey(e.getValueFrom().getSecretKeyRef().getKey()), e.getName())));
        // Warden refuses a token under 16 characters: applied as is, the fleet does not start with a published token
        data.forEach((k, v) -> assertTrue(v.startsWith("CHANGE-ME") && v.length() < 16, k));
    }

    @Test
    void noImageIsLatestOrUntagged() {
        templates().forEach((workload, t) -> containers(t.getSpec()).forEach(c -> {
            String image = c.getImage();
            int slash = image.lastIndexOf('/');
            int colon = image.indexOf(':', slash + 1);
            assertTrue(colon > 0 || image.contains("@sha256:"), workload + ": " + image + " has no tag");
            assertFalse(image.endsWith(":latest"), workload + ": " + image);
        }));
    }

    /**
     * The Warden container's privileges, each as docs/FLEET.md writes it in the first column of its table of
     * privileges: the set in the manifest and the set in the table must be the same.
     */
    @Test
    void theReplicasHaveExactlyTheDocumentedPrivileges() throws Exception {
        PodSpec pod = one(StatefulSet.class, "warden").getSpec().getTemplate().getSpec();
        assertEquals(1, pod.getContainers().size());
        SecurityContext sc = pod.getContainers().get(0).getSecurityContext();
        assertEquals(Boolean.FALSE, sc.getPrivileged());
        assertEquals(Boolean.FALSE, sc.getAllowPrivilegeEscalation());
        assertEquals(List.of("ALL"), sc.getCapabilities().getDrop());
        Set<String> granted = new TreeSet<>();
        sc.getCapabilities().getAdd().forEach(cap -> granted.add("CAP_" + cap));
        granted.add("runAsUser: " + sc.getRunAsUser());
        granted.add("seccompProfile: " + sc.getSeccompProfile().getType());
        granted.add("appArmorProfile: " + sc.getAppArmorProfile().getType());
        granted.add("procMount: " + sc.getProcMount());
        assertEquals(documentedPrivileges(), granted);
        // and nothing of the host: no host namespaces, no host paths
        for (PodTemplateSpec t : templates().values()) {
            PodSpec p = t.getSpec();
            assertFalse(Boolean.TRUE.equals(p.getHostNetwork()) || Boolean.TRUE.equals(p.getHostPID())
                    || Boolean.TRUE.equals(p.getHostIPC()), "host namespaces");
            assertTrue(p.getVolumes() == null || p.getVolumes().stream().allMatch(v -> v.getHostPath() == null), "hostPath");
            assertFalse(Boolean.TRUE.equals(p.getAutomountServiceAccountToken()), "service account token");
            containers(p).filter(c -> c != pod.getContainers().get(0)).forEach(c -> {
                SecurityContext o = c.getSecurityContext();
                assertNotNull(o, c.getName());
                assertEquals(Boolean.FALSE, o.getAllowPrivilegeEscalation(), c.getName());
                assertEquals(List.of("ALL"), o.getCapabilities().getDrop(), c.getName());
                assertTrue(o.getCapabilities().getAdd() == null || o.getCapabilities().getAdd().isEmpty(), c.getName());
                assertFalse(Boolean.TRUE.equals(o.getPrivileged()), c.getName());
            });
        }
    }

    /** The first column's code spans of the table under "### Privileges" in docs/FLEET.md. */
    private static Set<String> documentedPrivileges() throws Exception {
        String doc = Files.readString(Path.of("docs", "FLEET.md"));
        int at = doc.indexOf("\n### Privileges");
        assertTrue(at >= 0, "docs/FLEET.md has a section ### Privileges");
        String section = doc.substring(at + 1);
        int next = section.indexOf("\n#", 1);
        section = next < 0 ? section : section.substring(0, next);
        Set<String> listed = new TreeSet<>();
        Matcher m = Pattern.compile("(?m)^\\| `([^`]+)` \\|").matcher(section);
        while (m.find()) {
            listed.add(m.group(1));
        }
        return listed;
    }
}
