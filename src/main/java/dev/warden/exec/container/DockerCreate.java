package dev.warden.exec.container;

import com.github.dockerjava.api.command.CreateContainerCmd;
import com.github.dockerjava.api.model.AccessMode;
import com.github.dockerjava.api.model.Bind;
import com.github.dockerjava.api.model.Capability;
import com.github.dockerjava.api.model.HostConfig;
import com.github.dockerjava.api.model.LogConfig;
import com.github.dockerjava.api.model.Ulimit;
import com.github.dockerjava.api.model.Volume;
import java.util.HashMap;
import java.util.List;

/** Fills docker-java's create command from a {@link ContainerSpec}, one field for one field, nothing added. */
final class DockerCreate {

    private DockerCreate() {
    }

    static HostConfig hostConfig(ContainerSpec s) {
        HostConfig host = HostConfig.newHostConfig()
            .withRuntime(s.runtime())
            .withReadonlyRootfs(s.readonlyRootfs())
            .withNetworkMode(s.networkMode())
            .withCapDrop(s.capDrop().stream().map(Capability::valueOf).toArray(Capability[]::new))
            .withSecurityOpts(s.securityOpts())
            .withMemory(s.memoryBytes())
            .withMemorySwap(s.memorySwapBytes())
            .withPidsLimit(s.pidsLimit())
            .withNanoCPUs(s.nanoCpus())
            .withInit(s.init())
            .withIpcMode(s.ipcMode())
            .withTmpFs(new HashMap<>(s.tmpfs()))
            .withUlimits(s.ulimits().entrySet().stream().map(u -> new Ulimit(u.getKey(), u.getValue(), u.getValue()))
                .toList())
            .withLogConfig(new LogConfig(LogConfig.LoggingType.fromValue(s.logDriver())))
            .withBinds(s.binds().stream()
                .map(m -> new Bind(m.host(), new Volume(m.container()), m.readOnly() ? AccessMode.ro : AccessMode.rw))
                .toList());
        if (s.cgroupParent() != null) {
            host.withCgroupParent(s.cgroupParent());
        }
        return host;
    }

    static CreateContainerCmd fill(CreateContainerCmd cmd, ContainerSpec s) {
        return cmd
            .withName(s.name())
            .withLabels(new HashMap<>(s.labels()))
            .withUser(s.user())
            .withEntrypoint(s.entrypoint())
            .withCmd(List.copyOf(s.cmd()))
            .withWorkingDir(s.workingDir())
            .withHostName(s.hostname())
            .withNetworkDisabled(s.networkDisabled())
            .withStdinOpen(s.attachStdio())
            .withStdInOnce(s.attachStdio())
            .withAttachStdin(s.attachStdio())
            .withAttachStdout(s.attachStdio())
            .withAttachStderr(s.attachStdio())
            .withHostConfig(hostConfig(s));
    }
}
