"""The overlay driver's plans and checks, without a kernel."""

from __future__ import annotations

import pytest

from dockyard import plan
from dockyard.drivers.overlay import OPT_VNI, OverlayDriver, default_vni
from dockyard.errors import InvalidParameter
from dockyard.model.endpoint import Endpoint
from dockyard.model.network import Network
from dockyard.model.sandbox import Sandbox

NET_ID = "0123456789ab" + "c" * 52


def overlay(**options: str) -> Network:
    return Network(id=NET_ID, name="mesh", driver="overlay", created="",
                   device="dy-0123456789ab", options={"peers": "10.99.0.2, 10.99.0.3",
                                                      **options})


def test_a_bridge_with_no_address_and_a_vxlan_port_flooding_to_the_peers() -> None:
    assert OverlayDriver().plan_create(overlay()) == [
        plan.CreateBridge("dy-0123456789ab", (), 1450),
        plan.CreateVxlan("dyo0123456789ab", default_vni("mesh"), "dy-0123456789ab",
                         ("10.99.0.2", "10.99.0.3"), None, 4789, 1450)]
    given = OverlayDriver().plan_create(overlay(**{OPT_VNI: "4097", "local": "10.99.0.1"}))
    assert given[1] == plan.CreateVxlan("dyo0123456789ab", 4097, "dy-0123456789ab",
                                        ("10.99.0.2", "10.99.0.3"), "10.99.0.1", 4789, 1450)
    assert OverlayDriver().plan_delete(overlay()) == [
        plan.DeleteLink("dyo0123456789ab"), plan.DeleteLink("dy-0123456789ab")]


def test_the_same_name_gives_the_same_vni_and_it_is_no_reserved_one() -> None:
    assert default_vni("mesh") == default_vni("mesh") != default_vni("other")
    assert all(4096 <= default_vni(n) < 1 << 24 for n in ("a", "mesh", "x" * 100))


def test_endpoints_get_the_overlays_mtu() -> None:
    endpoint = Endpoint(id="e" * 64, network_id=NET_ID, sandbox_id="s" * 64, name="c",
                        ifname="eth0", host_ifname="dyveeeeeeeeeeee", mac="02:42:0a:c8:00:02",
                        ipv4="10.200.0.2/24")
    sandbox = Sandbox(id="s" * 64, name="c", mode="private", netns="/run/x/netns/s")
    (veth,) = OverlayDriver().plan_join(overlay(), endpoint, sandbox)
    assert isinstance(veth, plan.CreateVeth) and veth.mtu == 1450
    assert veth.master == "dy-0123456789ab"


@pytest.mark.parametrize(("options", "words"), [
    ({}, "needs its peers"),
    ({"peers": "10.99.0.2,host2"}, "peers and local are IP addresses"),
    ({"peers": "10.99.0.2", "local": "me"}, "peers and local are IP addresses"),
    ({"peers": "10.99.0.2", OPT_VNI: "0"}, "a VXLAN id is 1 to 16777215"),
])
def test_bad_options_are_refused_by_name(options: dict[str, str], words: str) -> None:
    with pytest.raises(InvalidParameter, match=words):
        OverlayDriver().validate_options(options)
