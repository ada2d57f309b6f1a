package dev.warden.exec;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** One language of execute_code: how its interpreter is called with the code, and its extra env. */
public record Language(String name, List<String> aliases, List<String> command, Map<String, String> env) {

    public List<String> argv(String code) {
        List<String> argv = new ArrayList<>(command.size());
        for (String part : command) {
            argv.add(part.replace("{code}", code));
        }
        return argv;
    }

    public String interpreter() {
        return command.get(0);
    }
}
