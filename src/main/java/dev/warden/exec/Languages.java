package dev.warden.exec;

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

/** The languages of execute_code, from config; only those whose interpreter is installed. */
public final class Languages {

    private static final Logger log = LoggerFactory.getLogger(Languages.class);

    private final Map<String, Language> byName = new LinkedHashMap<>();
    private final List<String> names = new ArrayList<>();

    public Languages(Map<String, LanguageConfig> config) {
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
    }

    public Optional<Language> find(String name) {
        return Optional.ofNullable(byName.get(name.toLowerCase(Locale.ROOT)));
    }

    /** Canonical names, in config order: the enum of the tool schema. */
    public List<String> names() {
        return List.copyOf(names);
    }
}
