"""``dockyard network create|ls|inspect|rm|connect|disconnect|prune``, docker's way."""

import sys

from dockyard.cli.context import (
    Context,
    confirm,
    daemon_error,
    parse_filters,
    parse_or_usage,
    print_json,
)
from dockyard.cli.flags import Flag, UsageError
from dockyard.cli.output import render_rows, tabwrite
from dockyard.client.http import APIError, quote

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

CREATE_FLAGS = [
    Flag(("--attachable",), "attachable", "bool", help="Enable manual container attachment"),
    Flag(("--aux-address",), "aux", "list", help="Auxiliary IPv4 or IPv6 addresses"),
    Flag(("--config-from",), "config_from", help="The network from which to copy the config"),
    Flag(("--config-only",), "config_only", "bool", help="Create a configuration only network"),
    Flag(("-d", "--driver"), "driver", default="bridge", help="Driver to manage the Network"),
    Flag(("--gateway",), "gateway", "list", help="IPv4 or IPv6 Gateway for the master subnet"),
    Flag(("--ingress",), "ingress", "bool", help="Create swarm routing-mesh network"),
    Flag(("--internal",), "internal", "bool", help="Restrict external access to the network"),
    Flag(("--ip-range",), "ip_range", "list", help="Allocate container ip from a sub-range"),
    Flag(("--ipam-driver",), "ipam_driver", default="default", help="IP Address Management "
         "Driver"),
    Flag(("--ipam-opt",), "ipam_opt", "list", help="Set IPAM driver specific options"),
    Flag(("--ipv4",), "ipv4", "optbool", help="Enable or disable IPv4 address assignment"),
    Flag(("--ipv6",), "ipv6", "bool", help="Enable or disable IPv6 networking"),
    Flag(("--label",), "label", "list", help="Set metadata on a network"),
    Flag(("-o", "--opt"), "opt", "list", help="Set driver specific options"),
    Flag(("--scope",), "scope", help="Control the network's scope"),
    Flag(("--subnet",), "subnet", "list", help="Subnet in CIDR format that represents a "
         "network segment"),
]


def _kv(values: list[str]) -> dict[str, str]:
    out = {}
    for value in values:
        key, _, rest = value.partition("=")
        out[key] = rest
    return out


def _ipam_config(opts: "dict[str, Any]") -> "list[dict[str, Any]]":
    """Pair every gateway, ip-range and aux address with the subnet that holds it, as the
    docker CLI does before it sends the request."""
    subnets = opts["subnet"]
    if not subnets and (opts["gateway"] or opts["ip_range"] or opts["aux"]):
        raise ValueError("every ip-range or gateway must have a corresponding subnet")
    if not subnets:
        return []
    import ipaddress  # only now: its import costs a plain `network create` ~2 ms
    configs: list[dict[str, Any]] = [{"Subnet": s} for s in subnets]
    nets: list[ipaddress.IPv4Network | ipaddress.IPv6Network | None] = []
    for subnet in subnets:
        try:
            nets.append(ipaddress.ip_network(subnet, strict=False))
        except ValueError:
            nets.append(None)

    def owner(address: str, what: str) -> "dict[str, Any]":
        try:
            value = ipaddress.ip_network(address, strict=False)
        except ValueError:
            raise ValueError(f"invalid {what} {address}") from None
        for config, net in zip(configs, nets, strict=True):
            if net is not None and value.version == net.version and value.subnet_of(net):  # type: ignore[arg-type]
                return config
        raise ValueError(f"no matching subnet for {what} {address}")

    for gateway in opts["gateway"]:
        config = owner(gateway, "gateway")
        if "Gateway" in config:
            raise ValueError(f"cannot configure multiple gateways ({gateway}, "
                             f"{config['Gateway']}) for the same subnet")
        config["Gateway"] = gateway
    for ip_range in opts["ip_range"]:
        config = owner(ip_range, "range")
        if "IPRange" in config:
            raise ValueError(f"cannot configure multiple ranges ({ip_range}, "
                             f"{config['IPRange']}) on the same subnet")
        config["IPRange"] = ip_range
    for aux in opts["aux"]:
        name, sep, address = aux.partition("=")
        if not sep:
            raise ValueError(f"invalid aux-address {aux}: expected name=address")
        owner(address, "aux-address").setdefault("AuxiliaryAddresses", {})[name] = address
    return configs


def create(ctx: Context, args: list[str]) -> int:
    opts, rest = parse_or_usage("network create", "dockyard network create [OPTIONS] NETWORK",
                                "Create a network", CREATE_FLAGS, args, (1, 1))
    try:
        ipam_config = _ipam_config(opts)
    except ValueError as err:
        print(err, file=sys.stderr)
        return 1
    body: dict[str, Any] = {
        "Name": rest[0],
        "Driver": opts["driver"],
        "Scope": opts["scope"] or "",
        "EnableIPv4": opts["ipv4"],  # None unless given, as docker's
        "EnableIPv6": opts["ipv6"] or None,
        "IPAM": {"Driver": opts["ipam_driver"], "Config": ipam_config,
                 "Options": _kv(opts["ipam_opt"])},
        "Internal": opts["internal"],
        "Attachable": opts["attachable"],
        "Ingress": opts["ingress"],
        "ConfigOnly": opts["config_only"],
        "Options": _kv(opts["opt"]),
        "Labels": _kv(opts["label"]),
    }
    if opts["config_from"]:
        body["ConfigFrom"] = {"Network": opts["config_from"]}
    try:
        result = ctx.client().post("/networks/create", body)
    except APIError as err:
        return daemon_error(err)
    print(result["Id"])
    return 0


LS_FLAGS = [
    Flag(("-f", "--filter"), "filter", "list", help='Provide filter values (e.g. "driver=bridge")'),
    Flag(("--format",), "format", help="Format output using a custom template"),
    Flag(("--no-trunc",), "no_trunc", "bool", help="Do not truncate the output"),
    Flag(("-q", "--quiet"), "quiet", "bool", help="Only display network IDs"),
]
LS_HEADERS = {"ID": "NETWORK ID", "Name": "NAME", "Driver": "DRIVER", "Scope": "SCOPE",
              "IPv6": "IPV6", "Internal": "INTERNAL", "Labels": "LABELS",
              "CreatedAt": "CREATED AT"}


def _row(network: "dict[str, Any]", no_trunc: bool) -> "dict[str, Any]":
    labels = network.get("Labels") or {}
    return {
        "ID": network["Id"] if no_trunc else network["Id"][:12],
        "Name": network["Name"],
        "Driver": network["Driver"],
        "Scope": network["Scope"],
        "IPv6": "true" if network.get("EnableIPv6") else "false",
        "Internal": "true" if network.get("Internal") else "false",
        "Labels": ",".join(f"{k}={v}" for k, v in labels.items()),
        "CreatedAt": network.get("Created", ""),
    }


def ls(ctx: Context, args: list[str]) -> int:
    opts, _ = parse_or_usage("network ls", "dockyard network ls [OPTIONS]", "List networks",
                             LS_FLAGS, args, (0, 0))
    try:
        networks = ctx.client().get("/networks", {"filters": parse_filters(opts["filter"])})
    except APIError as err:
        return daemon_error(err)
    networks.sort(key=lambda n: n["Name"])
    rows = [_row(n, opts["no_trunc"]) for n in networks]
    if opts["quiet"]:
        for row in rows:
            print(row["ID"])
        return 0
    fmt = opts["format"] or "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}"
    sys.stdout.write(render_rows(fmt, rows, LS_HEADERS))
    return 0


INSPECT_FLAGS = [
    Flag(("-f", "--format"), "format", help="Format output using a custom template"),
    Flag(("-v", "--verbose"), "verbose", "bool", help="Verbose output for diagnostics"),
]


def print_inspected(docs: "list[Any]", fmt: str | None) -> None:
    if fmt:
        fmt = fmt.replace("\\n", "\n").replace("\\t", "\t")
        if fmt == "json":
            fmt = "{{json .}}"
        from dockyard.cli.template import render

        for doc in docs:
            print(render(fmt, doc))
    else:
        print_json(docs)


def inspect(ctx: Context, args: list[str]) -> int:
    opts, refs = parse_or_usage("network inspect",
                                "dockyard network inspect [OPTIONS] NETWORK [NETWORK...]",
                                "Display detailed information on one or more networks",
                                INSPECT_FLAGS, args, (1, None))
    docs, status = [], 0
    client = ctx.client()
    errors = []
    for ref in refs:
        try:
            docs.append(client.get(f"/networks/{quote(ref)}"))
        except APIError as err:
            errors.append(err)
    print_inspected(docs, opts["format"])
    for error in errors:
        status = daemon_error(error)
    return status


def rm(ctx: Context, args: list[str]) -> int:
    opts, refs = parse_or_usage(
        "network rm", "dockyard network rm NETWORK [NETWORK...]", "Remove one or more networks",
        [Flag(("-f", "--force"), "force", "bool", help="Do not error if the network does not "
              "exist")], args, (1, None))
    status = 0
    client = ctx.client()
    for ref in refs:
        try:
            client.request("DELETE", f"/networks/{quote(ref)}")
        except APIError as err:
            if opts["force"] and err.status == 404:
                continue
            status = daemon_error(err)
            continue
        print(ref)
    if status:
        print(f"exit status {status}", file=sys.stderr)  # docker 28 prints this too
    return status


CONNECT_FLAGS = [
    Flag(("--alias",), "alias", "list", help="Add network-scoped alias for the container"),
    Flag(("--driver-opt",), "driver_opt", "list", help="driver options for the network"),
    Flag(("--gw-priority",), "gw_priority", "int", 0, help="Highest gw-priority provides the "
         "default gateway"),
    Flag(("--ip",), "ip", help="IPv4 address (e.g., 172.30.100.104)"),
    Flag(("--ip6",), "ip6", help="IPv6 address (e.g., 2001:db8::33)"),
    Flag(("--link",), "link", "list", help="Add link to another container"),
    Flag(("--link-local-ip",), "link_local_ip", "list", help="Add a link-local address"),
]


def connect(ctx: Context, args: list[str]) -> int:
    opts, (network, container) = parse_or_usage(
        "network connect", "dockyard network connect [OPTIONS] NETWORK CONTAINER",
        "Connect a container to a network", CONNECT_FLAGS, args, (2, 2))
    body = {"Container": container, "EndpointConfig": {
        "Aliases": opts["alias"], "Links": opts["link"], "GwPriority": opts["gw_priority"],
        "IPAMConfig": {"IPv4Address": opts["ip"] or "", "IPv6Address": opts["ip6"] or "",
                       "LinkLocalIPs": opts["link_local_ip"]},
        "DriverOpts": _kv(opts["driver_opt"])}}
    try:
        ctx.client().request("POST", f"/networks/{quote(network)}/connect", json_body=body)
    except APIError as err:
        return daemon_error(err)
    return 0


def disconnect(ctx: Context, args: list[str]) -> int:
    opts, (network, container) = parse_or_usage(
        "network disconnect", "dockyard network disconnect [OPTIONS] NETWORK CONTAINER",
        "Disconnect a container from a network",
        [Flag(("-f", "--force"), "force", "bool", help="Force the container to disconnect "
              "from a network")], args, (2, 2))
    try:
        ctx.client().request("POST", f"/networks/{quote(network)}/disconnect",
                             json_body={"Container": container, "Force": opts["force"]})
    except APIError as err:
        return daemon_error(err)
    return 0


def prune(ctx: Context, args: list[str]) -> int:
    opts, _ = parse_or_usage(
        "network prune", "dockyard network prune [OPTIONS]", "Remove all unused networks",
        [Flag(("--filter",), "filter", "list",
               help='Provide filter values (e.g. "until=<timestamp>")'),
         Flag(("-f", "--force"), "force", "bool", help="Do not prompt for confirmation")],
        args, (0, 0))
    if not opts["force"] and not confirm(
            "WARNING! This will remove all custom networks not used by at least one container."):
        return 0
    try:
        result = ctx.client().post("/networks/prune",
                                   query={"filters": parse_filters(opts["filter"])})
    except APIError as err:
        return daemon_error(err)
    deleted = result.get("NetworksDeleted") or []
    if deleted:
        print("Deleted Networks:")
        for name in deleted:
            print(name)
        print()
    return 0


COMMANDS = {"create": create, "ls": ls, "list": ls, "inspect": inspect, "rm": rm,
            "remove": rm, "connect": connect, "disconnect": disconnect, "prune": prune}


def main(ctx: Context, args: list[str]) -> int:
    if not args or args[0] in ("-h", "--help") or args[0] not in COMMANDS:
        if args and args[0] not in ("-h", "--help"):
            raise UsageError(f'unknown command "{args[0]}" for "dockyard network"')
        print("\nUsage:  dockyard network COMMAND\n\nManage networks\n\nCommands:\n"
              "  connect     Connect a container to a network\n"
              "  create      Create a network\n"
              "  disconnect  Disconnect a container from a network\n"
              "  inspect     Display detailed information on one or more networks\n"
              "  ls          List networks\n"
              "  prune       Remove all unused networks\n"
              "  rm          Remove one or more networks\n")
        return 0
    return COMMANDS[args[0]](ctx, args[1:])


__all__ = ["COMMANDS", "main", "tabwrite"]
