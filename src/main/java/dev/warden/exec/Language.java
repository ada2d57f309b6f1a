package dev.warden.exec;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * One language of execute_code: how its host interpreter is called with the code (L2), and its extra
 * env. A language that exists only in containers has no command here (its image knows how to run it).
 */
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

    /** Whether it has a host interpreter, i.e. can run in the L2 sandbox. */
    public boolean onHost() {
        return !command.isEmpty();
    }
}
