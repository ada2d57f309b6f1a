package dev.warden.exec;

import dev.warden.config.WardenConfig.ContainerLanguage;
import dev.warden.config.WardenConfig.LanguageConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The languages of execute_code, from config: those whose host interpreter is installed (L2), and
 * those that exist only in containers (L3), listed only while their container can run.
 */
public final class Languages {

    private static final Logger log = LoggerFactory.getLogger(Languages.class);

    private final Map<String, Language> byName = new LinkedHashMap<>();
    private final List<String> names = new ArrayList<>();
    private final List<String> containerOnly = new ArrayList<>();

    public Languages(Map<String, LanguageConfig> config) {
        this(config, Map.of());
    }

    public Languages(Map<String, LanguageConfig> config, Map<String, ContainerLanguage> containers) {
        config.forEach((name, c) -> {
            Language lang = new Language(name, c.aliases() == null ? List.of() : c.aliases(), c.command(),
                    c.env() == null ? Map.of() : c.env());
            if (!Files.isExecutable(Path.of(lang.interpreter()))) {
                log.warn("language {} is off: {} is not installed", name, lang.interpreter());
                return;
            }
            names.add(name);
            byName.put(name.toLowerCase(Locale.ROOT), lang);
            lang.aliases().forEach(a -> byName.putIfAbsent(a.toLowerCase(Locale.ROOT), lang));
        });
        (containers == null ? Map.<String, ContainerLanguage>of() : containers).forEach((name, c) -> {
            if (byName.containsKey(name.toLowerCase(Locale.ROOT))) {
                return;
            }
            Language lang = new Language(name, c.aliases() == null ? List.of() : c.aliases(), List.of(), Map.of());
            containerOnly.add(name);
            byName.put(name.toLowerCase(Locale.ROOT), lang);
            lang.aliases().forEach(a -> byName.putIfAbsent(a.toLowerCase(Locale.ROOT), lang));
        });
    }

    public Optional<Language> find(String name) {
        return Optional.ofNullable(byName.get(name.toLowerCase(Locale.ROOT)));
    }

    /** Canonical names, in config order: the enum of the tool schema. */
    public List<String> names() {
        return List.copyOf(names);
    }

    /** The host languages, then the container-only ones that can run now: the enum of the tool schema. */
    public List<String> names(java.util.function.Predicate<String> containerReady) {
        List<String> all = new ArrayList<>(names);
        containerOnly.stream().filter(containerReady).forEach(all::add);
        return all;
    }

    /** Every language a call may name, available or not (for the message of an unknown one). */
    public List<String> allNames() {
        List<String> all = new ArrayList<>(names);
        all.addAll(containerOnly);
        return all;
    }
}
