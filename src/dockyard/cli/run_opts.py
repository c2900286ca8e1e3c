"""``run``/``create`` flags into the Engine API's create body, as the docker CLI builds it
(pure: no request is made here, so it is tested without a daemon)."""

from dockyard.cli.context import environ as process_environ
from dockyard.cli.flags import Flag, UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

CREATE_FLAGS = [
    Flag(("--add-host",), "add_host", "list", help="Add a custom host-to-IP mapping "
         "(host:ip)"),
    Flag(("--cap-add",), "cap_add", "list", help="Add Linux capabilities"),
    Flag(("--cap-drop",), "cap_drop", "list", help="Drop Linux capabilities"),
    Flag(("--dns",), "dns", "list", help="Set custom DNS servers"),
    Flag(("--dns-option", "--dns-opt"), "dns_option", "list", help="Set DNS options"),
    Flag(("--dns-search",), "dns_search", "list", help="Set custom DNS search domains"),
    Flag(("--entrypoint",), "entrypoint", help="Overwrite the default ENTRYPOINT of the image"),
    Flag(("-e", "--env"), "env", "list", help="Set environment variables"),
    Flag(("--group-add",), "group_add", "list", help="Add additional groups to join"),
    Flag(("--env-file",), "env_file", "list", help="Read in a file of environment variables"),
    Flag(("--expose",), "expose", "list", help="Expose a port or a range of ports"),
    Flag(("--health-cmd",), "health_cmd", help="Command to run to check health"),
    Flag(("--health-interval",), "health_interval", help="Time between running the check "
         "(ms|s|m|h) (default 0s)"),
    Flag(("--health-retries",), "health_retries", "int", help="Consecutive failures needed "
         "to report unhealthy"),
    Flag(("--health-start-interval",), "health_start_interval", help="Time between running "
         "the check during the start period (ms|s|m|h) (default 0s)"),
    Flag(("--health-start-period",), "health_start_period", help="Start period for the "
         "container to initialize before starting health-retries countdown (ms|s|m|h) "
         "(default 0s)"),
    Flag(("--health-timeout",), "health_timeout", help="Maximum time to allow one check to "
         "run (ms|s|m|h) (default 0s)"),
    Flag(("--no-healthcheck",), "no_healthcheck", "bool", help="Disable any "
         "container-specified HEALTHCHECK"),
    Flag(("-h", "--hostname"), "hostname", help="Container host name"),
    Flag(("--domainname",), "domainname", help="Container NIS domain name"),
    Flag(("--init",), "init", "optbool",
         help="Run an init inside the container that forwards signals and reaps processes"),
    Flag(("-i", "--interactive"), "interactive", "bool", help="Keep STDIN open even if not "
         "attached"),
    Flag(("--ip",), "ip", help="IPv4 address (e.g., 172.30.100.104)"),
    Flag(("--ip6",), "ip6", help="IPv6 address (e.g., 2001:db8::33)"),
    Flag(("-l", "--label"), "label", "list", help="Set meta data on a container"),
    Flag(("--link",), "link", "list", help="Add link to another container"),
    Flag(("--mac-address",), "mac_address", help="Container MAC address (e.g., "
         "92:d0:c6:0a:29:33)"),
    Flag(("-m", "--memory"), "memory", help="Memory limit"),
    Flag(("--memory-swap",), "memory_swap", help="Swap limit equal to memory plus swap: "
         "'-1' to enable unlimited swap"),
    Flag(("--mount",), "mount", "list", help="Attach a filesystem mount to the container"),
    Flag(("--name",), "name", help="Assign a name to the container"),
    Flag(("--network", "--net"), "network", "list", help="Connect a container to a network"),
    Flag(("--network-alias", "--net-alias"), "alias", "list", help="Add network-scoped alias "
         "for the container"),
    Flag(("-p", "--publish"), "publish", "list", help="Publish a container's port(s) to the "
         "host"),
    Flag(("-P", "--publish-all"), "publish_all", "bool", help="Publish all exposed ports to "
         "random ports"),
    Flag(("--pull",), "pull", default="missing", help="Pull image before running (never: "
         "images are imported here)"),
    Flag(("--read-only",), "read_only", "bool", help="Mount the container's root filesystem "
         "as read only"),
    Flag(("--restart",), "restart", default="no", help="Restart policy to apply when a "
         "container exits"),
    Flag(("--rm",), "rm", "bool", help="Automatically remove the container when it exits"),
    Flag(("--stop-signal",), "stop_signal", help="Signal to stop the container"),
    Flag(("--stop-timeout",), "stop_timeout", "int", help="Timeout (in seconds) to stop a "
         "container"),
    Flag(("--sysctl",), "sysctl", "list", help="Sysctl options (net.* only)"),
    Flag(("--tmpfs",), "tmpfs", "list", help="Mount a tmpfs directory"),
    Flag(("-t", "--tty"), "tty", "bool", help="Allocate a pseudo-TTY"),
    Flag(("-u", "--user"), "user", help="Username or UID (format: <name|uid>[:<group|gid>])"),
    Flag(("-v", "--volume"), "volume", "list", help="Bind mount a volume"),
    Flag(("-w", "--workdir"), "workdir", help="Working directory inside the container"),
]
RUN_FLAGS = [
    Flag(("-d", "--detach"), "detach", "bool", help="Run container in background and print "
         "container ID"),
    Flag(("--detach-keys",), "detach_keys", help="Override the key sequence for detaching a "
         "container"),
    *CREATE_FLAGS,
]


def split_command(args: list[str], flags: list[Flag]) -> tuple[list[str], list[str]]:
    """Flags stop at the image: everything after it is the command (``run busybox ls -l``)."""
    by_name = {n: f for f in flags for n in f.names}
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            return args[:i], args[i + 1:]
        if not arg.startswith("-") or arg == "-":
            return args[:i + 1], args[i + 1:]
        name = arg.partition("=")[0]
        flag = by_name.get(name)
        if flag is None and not arg.startswith("--") and len(name) > 2:
            flag = by_name.get(name[:2])
            if flag is not None and flag.kind == "bool":
                flag = None  # grouped booleans such as -dit
            elif flag is not None:
                i += 1
                continue  # -p8080:80: value attached
        if flag is not None and flag.kind not in ("bool", "optbool") and "=" not in arg:
            i += 2
        else:
            i += 1
    return args, []


def _env_items(values: list[str], files: list[str], environ: "Mapping[str, str]") -> list[str]:
    out = []
    for path in files:
        try:
            with open(path) as f:
                lines = f.read().splitlines()
        except OSError as err:
            raise UsageError(f"open {path}: {err.strerror}") from None
        for line in lines:
            line = line.strip()
            if line and not line.startswith("#"):
                out.append(line)
    out += values
    resolved = []
    for item in out:
        if "=" in item:
            resolved.append(item)
        elif item in environ:
            resolved.append(f"{item}={environ[item]}")
    return resolved


def _port_range(text: str, spec: str) -> list[int]:
    low, sep, high = text.partition("-")
    try:
        start = int(low)
        end = int(high) if sep else start
    except ValueError:
        raise UsageError(f'invalid argument "{spec}" for "-p, --publish" flag: invalid '
                         f"port {text!r}") from None
    if not (0 <= start <= end <= 65535):
        raise UsageError(f'invalid argument "{spec}" for "-p, --publish" flag: invalid range')
    return list(range(start, end + 1))


def parse_publish(spec: str) -> list[tuple[str, str, str]]:
    """``[ip:][hostPort:]containerPort[/proto]`` → (``80/tcp``, host ip, host port)."""
    ip = ""
    rest = spec
    if rest.startswith("["):
        end = rest.find("]")
        if end < 0:
            raise UsageError(f'invalid argument "{spec}" for "-p, --publish" flag')
        ip, rest = rest[1:end], rest[end + 1:].removeprefix(":")
        parts = rest.split(":")
        host_part, container_part = (parts[0], parts[1]) if len(parts) == 2 else ("", parts[0])
    else:
        parts = rest.split(":")
        if len(parts) == 1:
            host_part, container_part = "", parts[0]
        elif len(parts) == 2:
            host_part, container_part = parts
        elif len(parts) == 3:
            ip, host_part, container_part = parts
        else:
            raise UsageError(f'invalid argument "{spec}" for "-p, --publish" flag')
    ports, _, proto = container_part.partition("/")
    proto = proto or "tcp"
    container_ports = _port_range(ports, spec)
    if host_part:
        host_ports = _port_range(host_part, spec)
        if len(host_ports) == len(container_ports):
            hosts = [str(p) for p in host_ports]
        elif len(container_ports) == 1:
            hosts = [host_part]
        else:
            raise UsageError(f'invalid argument "{spec}" for "-p, --publish" flag: port '
                             "ranges must have the same size")
    else:
        hosts = [""] * len(container_ports)
    return [(f"{c}/{proto}", ip, h) for c, h in zip(container_ports, hosts, strict=True)]


def _mount(spec: str) -> "dict[str, Any]":
    doc: dict[str, Any] = {"Type": "volume"}
    for item in spec.split(","):
        key, sep, value = item.partition("=")
        key = key.strip().lower()
        if key in ("readonly", "ro"):
            doc["ReadOnly"] = value.lower() not in ("0", "false") if sep else True
        elif key == "type":
            doc["Type"] = value
        elif key in ("source", "src"):
            doc["Source"] = value
        elif key in ("target", "dst", "destination"):
            doc["Target"] = value
        elif key in ("bind-propagation", "volume-nocopy", "consistency"):
            continue
        else:
            raise UsageError(f'invalid argument "{spec}" for "--mount" flag: unexpected key '
                             f"'{key}' in '{item}'")
    if "Target" not in doc:
        raise UsageError(f'invalid argument "{spec}" for "--mount" flag: target is required')
    return doc


def restart_flag(text: str) -> "dict[str, Any]":
    name, sep, count = text.partition(":")
    if sep and not count.isdigit():
        raise UsageError(f'invalid restart policy "{text}": maximum retry count must be an '
                         "integer")
    return {"Name": name, "MaximumRetryCount": int(count) if sep else 0}


_DURATION_UNITS = (("ns", 1), ("us", 1_000), ("µs", 1_000), ("ms", 1_000_000),
                   ("s", 1_000_000_000), ("m", 60_000_000_000), ("h", 3_600_000_000_000))


def _duration_ns(text: str, flag: str) -> int:
    """A Go duration (``200ms``, ``1m30s``) in nanoseconds; written here rather than
    imported because the CLI keeps its imports to what each command needs."""
    def bad() -> UsageError:
        return UsageError(f'invalid argument "{text}" for "{flag}" flag: time: invalid '
                          f'duration "{text}"')

    rest = text.strip()
    sign = -1 if rest.startswith("-") else 1
    rest = rest.lstrip("+-")
    if rest == "0":
        return 0
    if not rest:
        raise bad()
    total = 0.0
    while rest:
        digits = len(rest) - len(rest.lstrip("0123456789."))
        number, rest = rest[:digits], rest[digits:]
        unit = next((u for u in sorted((u for u, _ in _DURATION_UNITS), key=len, reverse=True)
                     if rest.startswith(u)), None)
        if not number or unit is None or number.count(".") > 1 or number == ".":
            raise bad()
        total += float(number) * dict(_DURATION_UNITS)[unit]
        rest = rest[len(unit):]
    return sign * round(total)


def _healthcheck(opts: "Mapping[str, Any]") -> "dict[str, Any] | None":
    """The ``Healthcheck`` of the create body, as the docker CLI builds it from the
    ``--health-*`` flags; None when none is given (the image's applies)."""
    durations = {"Interval": "interval", "Timeout": "timeout", "StartPeriod": "start_period",
                 "StartInterval": "start_interval"}
    given = bool(opts.get("health_cmd")) or opts.get("health_retries") is not None or any(
        opts.get(f"health_{name}") for name in durations.values())
    if opts.get("no_healthcheck"):
        if given:
            raise UsageError("--no-healthcheck conflicts with --health-* options")
        return {"Test": ["NONE"]}
    if not given:
        return None
    check: dict[str, Any] = {}
    if opts.get("health_cmd"):
        check["Test"] = ["CMD-SHELL", opts["health_cmd"]]
    for key, name in durations.items():
        text = opts.get(f"health_{name}")
        value = _duration_ns(text, "--health-" + name.replace("_", "-")) if text else 0
        if value < 0:
            raise UsageError(f"--health-{name.replace('_', '-')} cannot be negative")
        check[key] = value
    retries = opts.get("health_retries") or 0
    if retries < 0:
        raise UsageError("--health-retries cannot be negative")
    check["Retries"] = retries
    return check


_BINARY = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}


def ram_in_bytes(text: str) -> int:
    """A size as docker's ``-m`` reads it (go-units' RAMInBytes): a number, then an
    optional ``b``, ``k``, ``m``, ``g``, ``t`` or ``p`` (1024-based, any case) with an
    optional ``b`` or ``ib`` after it: ``64m``, ``1.5GiB``, ``512kb``. ValueError with
    docker's words otherwise."""
    end = max(text.rfind(c) for c in "0123456789. ")
    if end < 0:
        raise ValueError(f"invalid size: '{text}'")
    number, suffix = (text[:end + 1], text[end + 1:]) if text[end] != " " else (
        text[:end], text[end + 1:])
    try:
        size = float(number)
    except ValueError:
        raise ValueError(f'strconv.ParseFloat: parsing "{number}": invalid syntax') from None
    if size < 0:
        raise ValueError(f"invalid size: '{text}'")
    if len(suffix) > 3:
        raise ValueError(f"invalid suffix: '{suffix}'")
    unit = suffix.lower()
    if not unit or unit == "b":
        return int(size)
    if unit[0] not in _BINARY or unit[1:] not in ("", "b", "ib"):
        raise ValueError(f"invalid suffix: '{unit}'")
    return int(size * _BINARY[unit[0]])


def memory_flag(text: str | None, flag: str, allow_unlimited: bool = False) -> int:
    if not text:
        return 0
    if allow_unlimited and text == "-1":
        return -1
    try:
        return ram_in_bytes(text)
    except ValueError as err:
        raise UsageError(f'invalid argument "{text}" for "{flag}" flag: {err}') from None


def _kv(values: list[str]) -> dict[str, str]:
    out = {}
    for value in values:
        key, _, rest = value.partition("=")
        out[key] = rest
    return out


_NETWORK_KEYS = ("name", "alias", "ip", "ip6", "mac-address", "link-local-ip", "driver-opt",
                 "gw-priority")
_PER_NETWORK_CONFLICTS = (  # flag of the first network, its per-network key, the words
    ("alias", "alias", "--network-alias and per-network alias"),
    ("ip", "ip", "--ip and per-network IPv4 address"),
    ("ip6", "ip6", "--ip6 and per-network IPv6 address"),
    ("mac_address", "mac-address", "--mac-address and per-network MAC address"),
)


def _network_spec(text: str) -> dict[str, list[str]]:
    """One ``--network`` value: a name, or docker's ``name=N,alias=A,ip=…`` form."""
    if "=" not in text:
        return {"name": [text]}
    fields: dict[str, list[str]] = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        key = key.strip().lower()
        if not sep or key not in _NETWORK_KEYS:
            raise UsageError(f'invalid argument "{text}" for "--network" flag: invalid field '
                             f"key {key}")
        fields.setdefault(key, []).append(value)
    if not fields.get("name"):
        raise UsageError(f'invalid argument "{text}" for "--network" flag: network name '
                         "missing")
    return fields


def network_endpoints(opts: "Mapping[str, Any]") -> "tuple[str, dict[str, Any]]":
    """NetworkMode and EndpointsConfig for the ``--network`` values (several since Docker
    25), as docker's CLI makes them: ``--network-alias``, ``--ip``, ``--ip6`` and
    ``--mac-address`` belong to the first network."""
    specs = [_network_spec(v) for v in opts["network"]] or [{"name": ["default"]}]
    endpoints: dict[str, Any] = {}
    for i, spec in enumerate(specs):
        name = spec["name"][-1]
        if i == 0:
            for flag, key, words in _PER_NETWORK_CONFLICTS:
                if opts[flag] and spec.get(key):
                    raise UsageError(f"conflicting options: cannot specify both {words}")
                if opts[flag]:
                    spec[key] = list(opts[flag]) if flag == "alias" else [opts[flag]]
        if name in endpoints:
            raise UsageError(f'network "{name}" is specified multiple times')
        endpoint: dict[str, Any] = {}
        if spec.get("alias"):
            endpoint["Aliases"] = spec["alias"]
        addresses = {k: spec[f][-1] for k, f in (("IPv4Address", "ip"), ("IPv6Address", "ip6"))
                     if spec.get(f)}
        if spec.get("link-local-ip"):
            addresses["LinkLocalIPs"] = spec["link-local-ip"]  # type: ignore[assignment]
        if addresses:
            endpoint["IPAMConfig"] = addresses
        if spec.get("mac-address"):
            endpoint["MacAddress"] = spec["mac-address"][-1]
        if spec.get("driver-opt"):
            endpoint["DriverOpts"] = _kv(spec["driver-opt"])
        if spec.get("gw-priority"):
            priority = spec["gw-priority"][-1]
            if not priority.lstrip("-").isdigit():
                raise UsageError(f'invalid argument "gw-priority={priority}" for "--network" '
                                 "flag: not an integer")
            endpoint["GwPriority"] = int(priority)
        # one network without options: no endpoint config, as docker sends
        if endpoint or len(specs) > 1:
            endpoints[name] = endpoint
    return specs[0]["name"][-1], endpoints


def create_body(opts: "Mapping[str, Any]", image: str, cmd: list[str],
                environ: "Mapping[str, str] | None" = None,
                console_size: tuple[int, int] | None = None) -> "dict[str, Any]":
    """The ``POST /containers/create`` body for these flags; ``console_size``: (rows,
    cols) of the local terminal, the container's terminal's first size with ``-t``."""
    environ = process_environ() if environ is None else environ
    if opts["rm"] and opts["restart"] not in ("", "no"):
        raise UsageError("Conflicting options: --restart and --rm")
    exposed: dict[str, dict[str, Any]] = {}
    for item in opts["expose"]:
        ports, _, proto = item.partition("/")
        for port in _port_range(ports, item):
            exposed[f"{port}/{proto or 'tcp'}"] = {}
    bindings: dict[str, list[dict[str, str]]] = {}
    for spec in opts["publish"]:
        for key, ip, host_port in parse_publish(spec):
            exposed[key] = {}
            bindings.setdefault(key, []).append({"HostIp": ip, "HostPort": host_port})
    network, endpoints = network_endpoints(opts)
    entrypoint: list[str] | None = None
    if opts["entrypoint"] is not None:
        entrypoint = [opts["entrypoint"]] if opts["entrypoint"] else []
    host_config: dict[str, Any] = {
        "NetworkMode": network,
        "PortBindings": bindings,
        "PublishAllPorts": opts["publish_all"],
        # As docker's CLI: a lone container path is an anonymous volume (Config.Volumes).
        "Binds": [v for v in opts["volume"] if ":" in v],
        "Mounts": [_mount(m) for m in opts["mount"]],
        "RestartPolicy": restart_flag(opts["restart"] or "no"),
        "AutoRemove": opts["rm"],
        "Links": list(opts["link"]),
        "Dns": list(opts["dns"]),
        "DnsSearch": list(opts["dns_search"]),
        "DnsOptions": list(opts["dns_option"]),
        "ExtraHosts": [h.replace("=", ":", 1) if "=" in h else h for h in opts["add_host"]],
        "Init": opts["init"],  # None unless given: the daemon's default (dockerd --init)
        "Memory": memory_flag(opts.get("memory"), "-m, --memory"),
        "MemorySwap": memory_flag(opts.get("memory_swap"), "--memory-swap",
                                   allow_unlimited=True),
        "CapAdd": list(opts["cap_add"]) or None,
        "CapDrop": list(opts["cap_drop"]) or None,
        "GroupAdd": list(opts["group_add"]) or None,
        "ReadonlyRootfs": opts["read_only"],
        "Sysctls": _kv(opts["sysctl"]) or None,
        # docker's: PATH[:OPTIONS]
        "Tmpfs": {t.partition(":")[0]: t.partition(":")[2] for t in opts["tmpfs"]} or None,
    }
    if opts["tty"] and console_size:
        host_config["ConsoleSize"] = list(console_size)
    body: dict[str, Any] = {
        "Image": image,
        "Cmd": cmd or None,
        "Entrypoint": entrypoint,
        "Env": _env_items(opts["env"], opts["env_file"], environ),
        "WorkingDir": opts["workdir"] or "",
        "User": opts["user"] or "",
        "Hostname": opts["hostname"] or "",
        "Domainname": opts["domainname"] or "",
        "ExposedPorts": exposed,
        "Volumes": {v: {} for v in opts["volume"] if ":" not in v} or None,
        "Labels": _kv(opts["label"]),
        "StopSignal": opts["stop_signal"] or None,
        "StopTimeout": opts["stop_timeout"],
        # docker's: -i keeps stdin open; attached (not -d) it is also the client's, and
        # closed when the client's input ends (StdinOnce)
        "Tty": opts["tty"],
        "OpenStdin": opts["interactive"],
        "StdinOnce": opts["interactive"] and not opts.get("detach", False),
        "AttachStdin": opts["interactive"] and not opts.get("detach", False),
        "AttachStdout": not opts.get("detach", False),
        "AttachStderr": not opts.get("detach", False),
        "HostConfig": host_config,
        "NetworkingConfig": {"EndpointsConfig": endpoints},
    }
    healthcheck = _healthcheck(opts)
    if healthcheck is not None:
        body["Healthcheck"] = healthcheck
    return body


def start_exit_code(message: str) -> int:
    """docker's codes for a container that could not start: 127 not found, 126 not
    executable, 125 anything else."""
    lowered = message.lower()
    if "executable file not found" in lowered or "no such file or directory" in lowered:
        return 127
    if "permission denied" in lowered or "not executable" in lowered:
        return 126
    return 125
