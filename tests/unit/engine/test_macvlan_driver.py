"""The macvlan driver's choices, without a kernel: which parent, who makes it, what steps."""

from __future__ import annotations

import pytest

from dockyard import plan
from dockyard.drivers.macvlan import MacvlanDriver, choose_parent
from dockyard.errors import Conflict, InvalidParameter
from dockyard.model.endpoint import Endpoint
from dockyard.model.network import Network
from dockyard.model.sandbox import Sandbox

NET_ID = "ab" * 32


def network(device: str, made: bool, **options: str) -> Network:
    return Network(id=NET_ID, name="mv", driver="macvlan", created="", device=device,
                   made_device=made, options=dict(options))


def test_an_existing_parent_is_used_as_it_is_and_never_made() -> None:
    assert choose_parent(NET_ID, {"parent": "eth1"}, False, {"lo", "eth1"}, []) == (
        "eth1", False)
    assert MacvlanDriver().plan_create(network("eth1", False)) == []
    assert MacvlanDriver().plan_delete(network("eth1", False)) == []


def test_no_parent_or_internal_gets_a_segment_of_the_networks_own() -> None:
    own = ("dym" + NET_ID[:12], True)
    assert choose_parent(NET_ID, {}, False, {"eth1"}, []) == own
    assert choose_parent(NET_ID, {"parent": "eth1"}, True, {"eth1"}, []) == own
    assert MacvlanDriver().plan_create(network(*own)) == [
        plan.CreateParentLink(own[0], "bridge")]
    assert MacvlanDriver().plan_delete(network(*own)) == [plan.DeleteLink(own[0])]


def test_a_missing_vlan_subinterface_is_made_on_its_lower_link() -> None:
    assert choose_parent(NET_ID, {"parent": "eth1.20"}, False, {"eth1"}, []) == (
        "eth1.20", True)
    assert MacvlanDriver().plan_create(network("eth1.20", True)) == [
        plan.CreateParentLink("eth1.20", "vlan", "eth1", 20)]


@pytest.mark.parametrize(("parent", "error"), [
    ("eth9", "-o parent interface was not found on the host: eth9"),
    ("eth9.20", "-o parent interface was not found on the host: eth9.20"),
    ("eth1.0", "vlan id must be between 1-4094, received: 0"),
    ("eth1.x", "vlan id must be between 1-4094, received: x"),
])
def test_a_parent_that_cannot_be_had_is_refused(parent: str, error: str) -> None:
    with pytest.raises(InvalidParameter) as refused:
        choose_parent(NET_ID, {"parent": parent}, False, {"eth1"}, [])
    assert refused.value.message == error


def test_two_networks_never_share_a_parent() -> None:
    with pytest.raises(Conflict) as refused:
        choose_parent("cd" * 32, {"parent": "eth1"}, False, {"eth1"},
                      [network("eth1", False)])
    assert refused.value.message == "network mv is already using parent interface eth1"


def test_an_endpoint_is_a_macvlan_born_in_the_sandbox_with_its_mac_and_addresses() -> None:
    endpoint = Endpoint(id="e" * 64, network_id=NET_ID, sandbox_id="s" * 64, name="web",
                        ifname="eth0", host_ifname="", mac="02:42:0a:63:00:02",
                        ipv4="10.99.0.2/24")
    sandbox = Sandbox(id="s" * 64, name="web", mode="private", netns="/run/x/netns/s")
    driver = MacvlanDriver()
    join = driver.plan_join(network("eth1", False, macvlan_mode="private"), endpoint, sandbox)
    assert join == [plan.CreateMacvlan("eth1", "private", "/run/x/netns/s", "eth0",
                                       "02:42:0a:63:00:02", ("10.99.0.2/24",))]
    assert join[0].undo() == plan.DeleteLink("eth0", "/run/x/netns/s")
    assert driver.plan_leave(network("eth1", False), endpoint, sandbox) == [
        plan.DeleteLink("eth0", netns="/run/x/netns/s")]


def test_options_are_checked_by_name() -> None:
    driver = MacvlanDriver()
    driver.validate_options({"parent": "eth1", "macvlan_mode": "vepa"})
    with pytest.raises(InvalidParameter, match="requested macvlan mode 'x' is not valid"):
        driver.validate_options({"macvlan_mode": "x"})
    with pytest.raises(InvalidParameter, match="option parent"):
        driver.validate_options({"parent": "a/b"})
