"""Loopback double of an OpenStack cloud, as far as openstacksdk 4.14.0 and openstack.cloud 2.5.0 use it.

One HTTP server plays Keystone v3 (password auth), Nova (compute v2.1), Neutron (network v2.0), Cinder
(block storage v3) and Glance (image v2). The token's catalog points every service at this server, under the
prefixes /compute, /network, /volume and /image, each with the version documents keystoneauth discovers.

Stateful: a server stays BUILD for a few reads, then turns ACTIVE with a port on its network; a boot volume
from a block device mapping is attached and deleted with the server only when `delete_on_termination` is set.
Deleting a server deletes its ports; a floating IP on such a port is only detached and keeps "billing", the
leak the collection must avoid. New security groups get the two default egress rules, as in Neutron.

Faults (attribute `faults`, a set):

- `quota_exceeded`: POST /servers answers 403 with Nova's quota message.
- `no_valid_host`: new servers go ERROR with the fault 'No valid host was found.' and no port or volume.
- `stuck_build`: new servers stay BUILD forever.
- `server_gone_on_delete`: DELETE /servers/{id} removes the server and answers 404, as when another client
  deleted it between the caller's read and its delete.
- `floating_ip_error`: POST /floatingips answers 500, after the server exists.
- `floating_ip_quota_exceeded`: POST /floatingips answers 409 OverQuota, as cPouta does past its default 2.

`floating_ip_quota` limits the project's floating IPs (cPouta's default is 2); Neutron answers 409 OverQuota
above it. `instance_quota` does the same for servers.
"""

import base64
import collections
import copy
import ipaddress
import itertools
import secrets
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from http_double import ApiError, HttpDouble  # noqa: E402  (needs the path above)

REGION = "regionOne"
COMPUTE_MAX_MICROVERSION = "2.96"
FLAVORS = [
    {"id": "1", "name": "standard.small", "vcpus": 2, "ram": 2000, "disk": 80},
    {"id": "2", "name": "standard.large", "vcpus": 4, "ram": 7800, "disk": 80},
    {"id": "3", "name": "gpu.1.1gpu", "vcpus": 14, "ram": 117000, "disk": 80},
]
IMAGE_NAME = "Ubuntu-24.04"
PROJECT_NETWORK = "project_2001234"
FLOATING_NETWORK = "public"
# Documentation ranges (RFC 5737), so no address of the double looks like a routable host.
PROJECT_CIDR = "192.0.2.0/24"
FLOATING_CIDR = "198.51.100.0/24"
# Reads of a server it spends in BUILD before it turns ACTIVE.
READS_IN_BUILD = 1
# Query parameters that page or shape a list instead of filtering it.
LIST_CONTROLS = {"limit", "marker", "fields", "sort_key", "sort_dir", "page_reverse", "all_tenants", "all_projects"}


def now_iso(delta=0):
    return (datetime.now(UTC) + timedelta(seconds=delta)).strftime("%Y-%m-%dT%H:%M:%SZ")


def nova_error(status, kind, message):
    return ApiError(status, {kind: {"code": status, "message": message}})


def neutron_error(status, kind, message):
    return ApiError(status, {"NeutronError": {"type": kind, "message": message, "detail": ""}})


def filtered(records, query):
    """Keep the records whose fields equal every filter in the query, as Neutron and Cinder list filters do."""
    filters = {key: value for key, value in query.items() if key not in LIST_CONTROLS}
    return [record for record in records
            if all(key not in record or str(record[key]).lower() == value.lower() or
                   (record[key] is None and value in ("", "None")) for key, value in filters.items())]


def find(table, kind, record_id, error):
    record = table.get(record_id)
    if record is None:
        raise error(404, "itemNotFound" if error is nova_error else f"{kind}NotFound",
                    f"{kind} {record_id} could not be found.")
    return record


class OpenStackDouble(HttpDouble):
    """The OpenStack double; `servers`, `ports`, `floating_ips`, `volumes` and `security_groups` are its state."""

    def __init__(self, username, password, project_name="project_2001234", instance_quota=8, floating_ip_quota=8):
        super().__init__()
        self.username = username
        self.password = password
        self.project_name = project_name
        self.project_id = uuid.uuid4().hex
        self.user_id = uuid.uuid4().hex
        self.instance_quota = instance_quota
        self.floating_ip_quota = floating_ip_quota
        self.faults = set()
        self.tokens = set()
        self.servers = {}
        self.server_reads = {}
        self.ports = {}
        self.floating_ips = {}
        self.volumes = {}
        self.security_groups = {}
        self.security_group_rules = {}
        self.networks = {}
        self.subnets = {}
        self.image_id = str(uuid.uuid4())
        self.addresses = {PROJECT_CIDR: ipaddress.ip_network(PROJECT_CIDR).hosts(),
                          FLOATING_CIDR: ipaddress.ip_network(FLOATING_CIDR).hosts()}
        self.mac_counter = itertools.count(1)
        # .1 is the gateway on both networks; the first host address handed out is .10, for readability.
        for addresses in self.addresses.values():
            collections.deque(itertools.islice(addresses, 9), maxlen=0)
        self.project_network_id = self.add_network(PROJECT_NETWORK, PROJECT_CIDR, external=False)
        self.floating_network_id = self.add_network(FLOATING_NETWORK, FLOATING_CIDR, external=True)
        self.create_security_group_record("default", "Default security group")
        self.register_routes()

    # --- routes -----------------------------------------------------------------------------------------

    def register_routes(self):
        self.register_identity_routes()
        self.register_compute_routes()
        self.register_network_routes()
        self.register_volume_routes()
        self.route("GET", "/image", self.image_versions)
        self.route("GET", "/image/v2/images", self.list_images)
        self.route("GET", r"/image/v2/images/(?P<id>[^/]+)", self.get_image)

    def register_identity_routes(self):
        self.route("GET", "/identity", self.identity_versions)
        self.route("GET", "/identity/v3", self.identity_version)
        self.route("POST", "/identity/v3/auth/tokens", self.issue_token)

    def register_compute_routes(self):
        compute = "/compute/v2.1"
        self.route("GET", "/compute", self.compute_versions)
        self.route("GET", compute, self.compute_version)
        self.route("GET", compute + "/flavors(?:/detail)?", self.list_flavors)
        self.route("GET", compute + r"/flavors/(?P<id>[^/]+)", self.get_flavor)
        self.route("GET", compute + r"/flavors/(?P<id>[^/]+)/os-extra_specs", self.get_flavor_extra_specs)
        self.route("GET", compute + "/limits", self.get_limits)
        self.route("GET", compute + r"/os-quota-sets/(?P<project>[^/]+)", self.get_compute_quota)
        self.route("GET", compute + "/servers(?:/detail)?", self.list_servers)
        self.route("POST", compute + "/servers", self.create_server)
        self.route("GET", compute + r"/servers/(?P<id>[^/]+)", self.get_server)
        self.route("DELETE", compute + r"/servers/(?P<id>[^/]+)", self.delete_server)
        self.route("GET", compute + r"/servers/(?P<id>[^/]+)/metadata", self.get_server_metadata)
        self.route("POST", compute + r"/servers/(?P<id>[^/]+)/metadata", self.update_server_metadata)
        self.route("GET", compute + r"/servers/(?P<id>[^/]+)/tags", self.get_server_tags)
        self.route("PUT", compute + r"/servers/(?P<id>[^/]+)/tags", self.replace_server_tags)
        self.route("GET", compute + r"/servers/(?P<id>[^/]+)/os-security-groups", self.get_server_security_groups)

    def register_network_routes(self):
        network = "/network/v2.0"
        self.route("GET", "/network", self.network_versions)
        self.route("GET", network, self.network_version)
        self.route("GET", network + "/extensions", self.list_extensions)
        self.route("GET", network + r"/quotas/(?P<project>[^/]+)", self.get_network_quota)
        for collection, table in (("networks", "networks"), ("subnets", "subnets"), ("ports", "ports"),
                                  ("floatingips", "floating_ips"), ("security-groups", "security_groups"),
                                  ("security-group-rules", "security_group_rules")):
            self.route("GET", f"{network}/{collection}", self.neutron_lister(collection, table))
            self.route("GET", f"{network}/{collection}/(?P<id>[^/]+)", self.neutron_getter(collection, table))
        self.route("POST", network + "/floatingips", self.create_floating_ip)
        self.route("PUT", network + r"/floatingips/(?P<id>[^/]+)", self.update_floating_ip)
        self.route("DELETE", network + r"/floatingips/(?P<id>[^/]+)", self.delete_floating_ip)
        self.route("POST", network + "/security-groups", self.create_security_group)
        self.route("DELETE", network + r"/security-groups/(?P<id>[^/]+)", self.delete_security_group)
        self.route("POST", network + "/security-group-rules", self.create_security_group_rule)
        self.route("DELETE", network + r"/security-group-rules/(?P<id>[^/]+)", self.delete_security_group_rule)

    def register_volume_routes(self):
        volume = r"/volume/v3/(?P<project>[0-9a-f]+)"
        self.route("GET", "/volume", self.volume_versions)
        self.route("GET", "/volume/v3", self.volume_versions)
        self.route("GET", volume, self.volume_versions)
        self.route("GET", volume + "/volumes(?:/detail)?", self.list_volumes)
        self.route("GET", volume + r"/volumes/(?P<id>[^/]+)", self.get_volume)
        self.route("DELETE", volume + r"/volumes/(?P<id>[^/]+)", self.delete_volume)

    def authorize(self, headers):
        if headers.get("X-Auth-Token") not in self.tokens:
            raise ApiError(401, {"error": {"code": 401, "title": "Unauthorized",
                                           "message": "The request you have made requires authentication."}})

    # --- Keystone -----------------------------------------------------------------------------------------

    def identity_version_record(self):
        return {"id": "v3.14", "status": "stable", "updated": "2020-04-07T00:00:00Z",
                "links": [{"rel": "self", "href": f"{self.base_url}/identity/v3/"}],
                "media-types": [{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}]}

    def identity_versions(self, match, query, body, headers):
        return 300, {"versions": {"values": [self.identity_version_record()]}}, {}

    def identity_version(self, match, query, body, headers):
        return 200, {"version": self.identity_version_record()}, {}

    def issue_token(self, match, query, body, headers):
        identity = ((body or {}).get("auth") or {}).get("identity") or {}
        user = (identity.get("password") or {}).get("user") or {}
        valid = "password" in identity.get("methods", []) and user.get("name") == self.username and \
            secrets.compare_digest(str(user.get("password", "")), self.password)
        if not valid:
            raise ApiError(401, {"error": {"code": 401, "title": "Unauthorized",
                                           "message": "The request you have made requires authentication."}})
        token = secrets.token_hex(16)
        with self.lock:
            self.tokens.add(token)
        return 201, {"token": self.token_body()}, {"X-Subject-Token": token}

    def token_body(self):
        domain = {"id": "default", "name": "Default"}
        return {
            "methods": ["password"], "expires_at": now_iso(3600), "issued_at": now_iso(), "audit_ids": ["double"],
            "user": {"id": self.user_id, "name": self.username, "domain": domain, "password_expires_at": None},
            "project": {"id": self.project_id, "name": self.project_name, "domain": domain},
            "roles": [{"id": "member", "name": "member"}],
            "catalog": [self.catalog_entry("identity", "keystone", "/identity/v3"),
                        self.catalog_entry("compute", "nova", "/compute/v2.1"),
                        self.catalog_entry("network", "neutron", "/network"),
                        self.catalog_entry("volumev3", "cinderv3", f"/volume/v3/{self.project_id}"),
                        self.catalog_entry("block-storage", "cinder", f"/volume/v3/{self.project_id}"),
                        self.catalog_entry("image", "glance", "/image")],
        }

    def catalog_entry(self, service_type, name, path):
        endpoints = [{"id": uuid.uuid4().hex, "interface": interface, "region": REGION, "region_id": REGION,
                      "url": self.base_url + path} for interface in ("public", "internal")]
        return {"id": uuid.uuid4().hex, "type": service_type, "name": name, "endpoints": endpoints}

    # --- version documents ------------------------------------------------------------------------------

    def compute_version_record(self):
        return {"id": "v2.1", "status": "CURRENT", "version": COMPUTE_MAX_MICROVERSION, "min_version": "2.1",
                "updated": "2013-07-23T11:33:21Z", "links": [{"rel": "self", "href": f"{self.base_url}/compute/v2.1/"}]}

    def compute_versions(self, match, query, body, headers):
        return 200, {"versions": [self.compute_version_record()]}, {}

    def compute_version(self, match, query, body, headers):
        return 200, {"version": self.compute_version_record()}, {}

    def network_versions(self, match, query, body, headers):
        return 200, {"versions": [{"id": "v2.0", "status": "CURRENT",
                                   "links": [{"rel": "self", "href": f"{self.base_url}/network/v2.0/"}]}]}, {}

    def network_version(self, match, query, body, headers):
        return 200, {"resources": []}, {}

    def list_extensions(self, match, query, body, headers):
        self.authorize(headers)
        aliases = ["router", "external-net", "security-group", "standard-attr-description", "standard-attr-tag",
                   "quotas", "port-security", "binding"]
        return 200, {"extensions": [{"alias": alias, "name": alias, "description": alias, "links": [],
                                     "updated": "2013-01-01T00:00:00-00:00"} for alias in aliases]}, {}

    def volume_versions(self, match, query, body, headers):
        return 300, {"versions": [{"id": "v3.0", "status": "CURRENT", "version": "3.70", "min_version": "3.0",
                                   "updated": "2023-08-31T00:00:00Z",
                                   "links": [{"rel": "self", "href": f"{self.base_url}/volume/v3/"}]}]}, {}

    def image_versions(self, match, query, body, headers):
        return 300, {"versions": [{"id": "v2.16", "status": "CURRENT",
                                   "links": [{"rel": "self", "href": f"{self.base_url}/image/v2/"}]}]}, {}

    # --- Glance -----------------------------------------------------------------------------------------

    def image_record(self):
        return {"id": self.image_id, "name": IMAGE_NAME, "status": "active", "visibility": "public",
                "disk_format": "qcow2", "container_format": "bare", "min_disk": 0, "min_ram": 0, "size": 1 << 30,
                "protected": False, "tags": [], "owner": "admin", "created_at": "2026-01-01T00:00:00Z",
                "updated_at": "2026-01-01T00:00:00Z", "self": f"/v2/images/{self.image_id}",
                "file": f"/v2/images/{self.image_id}/file", "schema": "/v2/schemas/image"}

    def list_images(self, match, query, body, headers):
        self.authorize(headers)
        filters = {key: value for key, value in query.items() if key in ("name", "id", "status", "visibility")}
        images = filtered([self.image_record()], filters)
        return 200, {"images": images, "first": "/v2/images", "schema": "/v2/schemas/images"}, {}

    def get_image(self, match, query, body, headers):
        self.authorize(headers)
        if match["id"] != self.image_id:
            raise ApiError(404, "404 Not Found\n\nNo image found with ID " + match["id"])
        return 200, self.image_record(), {}

    # --- Nova -------------------------------------------------------------------------------------------

    def flavor_record(self, flavor):
        return {**flavor, "links": [], "swap": "", "rxtx_factor": 1.0, "OS-FLV-EXT-DATA:ephemeral": 0,
                "OS-FLV-DISABLED:disabled": False, "os-flavor-access:is_public": True, "description": None,
                "extra_specs": {}}

    def list_flavors(self, match, query, body, headers):
        self.authorize(headers)
        return 200, {"flavors": [self.flavor_record(flavor) for flavor in FLAVORS]}, {}

    def get_flavor(self, match, query, body, headers):
        self.authorize(headers)
        for flavor in FLAVORS:
            if flavor["id"] == match["id"]:
                return 200, {"flavor": self.flavor_record(flavor)}, {}
        raise nova_error(404, "itemNotFound", f"Flavor {match['id']} could not be found.")

    def get_flavor_extra_specs(self, match, query, body, headers):
        self.authorize(headers)
        return 200, {"extra_specs": {}}, {}

    def get_limits(self, match, query, body, headers):
        self.authorize(headers)
        with self.lock:
            used = len(self.servers)
        return 200, {"limits": {"rate": [], "absolute": {
            "maxTotalInstances": self.instance_quota, "totalInstancesUsed": used,
            "maxTotalCores": 8 * self.instance_quota, "totalCoresUsed": 0, "maxTotalRAMSize": 32768 * 8,
            "totalRAMUsed": 0, "maxServerMeta": 128, "maxPersonality": 5, "maxPersonalitySize": 10240,
            "maxTotalKeypairs": 100, "maxServerGroups": 10, "maxServerGroupMembers": 10,
            "totalServerGroupsUsed": 0, "maxImageMeta": 128}}}, {}

    def get_compute_quota(self, match, query, body, headers):
        self.authorize(headers)
        return 200, {"quota_set": {"id": match["project"], "instances": self.instance_quota, "cores": 64,
                                   "ram": 262144, "key_pairs": 100, "metadata_items": 128,
                                   "server_groups": 10, "server_group_members": 10}}, {}

    @staticmethod
    def microversion(headers):
        """Return the compute microversion the client asked for as a tuple, (2, 1) when it asked for none."""
        for name in ("OpenStack-API-Version", "X-OpenStack-Nova-API-Version"):
            value = headers.get(name) or ""
            value = value.split()[-1] if value else ""
            if value and value != "latest":
                major, minor = value.split(".")
                return int(major), int(minor)
        return 2, 1

    def server_view(self, server, headers):
        version = self.microversion(headers)
        view = copy.deepcopy({key: value for key, value in server.items() if not key.startswith("_")})
        view["addresses"] = self.server_addresses(server)
        view["os-extended-volumes:volumes_attached"] = [
            {"id": volume_id, "delete_on_termination": self.volumes[volume_id]["_delete_on_termination"]}
            for volume_id in server["_volume_ids"] if volume_id in self.volumes]
        flavor = next(item for item in FLAVORS if item["id"] == server["_flavor_id"])
        if version >= (2, 47):
            view["flavor"] = {"original_name": flavor["name"], "vcpus": flavor["vcpus"], "ram": flavor["ram"],
                              "disk": flavor["disk"], "ephemeral": 0, "swap": 0, "extra_specs": {}}
        else:
            view["flavor"] = {"id": flavor["id"], "links": []}
        if version < (2, 26):
            view.pop("tags")
        return view

    def server_addresses(self, server):
        addresses = {}
        for port in self.ports.values():
            if port["device_id"] != server["id"]:
                continue
            network_name = self.networks[port["network_id"]]["name"]
            entries = addresses.setdefault(network_name, [])
            for fixed_ip in port["fixed_ips"]:
                entries.append({"version": 4, "addr": fixed_ip["ip_address"], "OS-EXT-IPS:type": "fixed",
                                "OS-EXT-IPS-MAC:mac_addr": port["mac_address"]})
            for floating_ip in self.floating_ips.values():
                if floating_ip["port_id"] == port["id"]:
                    entries.append({"version": 4, "addr": floating_ip["floating_ip_address"],
                                    "OS-EXT-IPS:type": "floating", "OS-EXT-IPS-MAC:mac_addr": port["mac_address"]})
        return addresses

    def read_server(self, server_id):
        """Count a read of the server and move it from BUILD to ACTIVE after READS_IN_BUILD reads."""
        server = self.servers[server_id]
        self.server_reads[server_id] = self.server_reads.get(server_id, 0) + 1
        if server["status"] == "BUILD" and "stuck_build" not in self.faults and \
                self.server_reads[server_id] > READS_IN_BUILD:
            self.boot(server)
        return server

    def list_servers(self, match, query, body, headers):
        self.authorize(headers)
        with self.lock:
            servers = [self.read_server(server_id) for server_id in list(self.servers)]
            if query.get("name"):
                # Nova matches the name as a regular expression; the SDK and the modules pass plain names.
                servers = [server for server in servers if query["name"] in server["name"]]
            views = [self.server_view(server, headers) for server in servers]
        return 200, {"servers": views}, {}

    def get_server(self, match, query, body, headers):
        self.authorize(headers)
        with self.lock:
            find(self.servers, "Instance", match["id"], nova_error)
            return 200, {"server": self.server_view(self.read_server(match["id"]), headers)}, {}

    def create_server(self, match, query, body, headers):
        self.authorize(headers)
        request = (body or {}).get("server") or {}
        with self.lock:
            self.validate_server_request(request)
            server = self.new_server(request)
        return 202, {"server": {"id": server["id"], "links": [], "OS-DCF:diskConfig": "MANUAL",
                                "security_groups": server["security_groups"], "adminPass": "not-used"}}, {}

    def validate_server_request(self, request):
        if not request.get("name") or not request.get("flavorRef"):
            raise nova_error(400, "badRequest", "Invalid input: 'name' and 'flavorRef' are required.")
        if request["flavorRef"] not in {flavor["id"] for flavor in FLAVORS}:
            raise nova_error(400, "badRequest", f"Flavor {request['flavorRef']} could not be found.")
        if "quota_exceeded" in self.faults or len(self.servers) >= self.instance_quota:
            raise nova_error(403, "forbidden", f"Quota exceeded for instances: Requested 1, but already used "
                                               f"{len(self.servers)} of {self.instance_quota} instances")
        for group in request.get("security_groups") or []:
            if self.security_group_id(group["name"]) is None:
                raise nova_error(400, "badRequest", f"Unable to find security_group with name or id '{group['name']}'")
        user_data = request.get("user_data")
        if user_data:
            if len(user_data) > 65535:
                raise nova_error(400, "badRequest", "User data too large. User data must be no larger than 65535 "
                                                    "bytes once base64 encoded.")
            base64.b64decode(user_data, validate=True)
        for key, value in (request.get("metadata") or {}).items():
            if not isinstance(value, str) or len(key) > 255 or len(value) > 255:
                raise nova_error(400, "badRequest", "Invalid input for field/attribute metadata.")

    def new_server(self, request):
        server_id = str(uuid.uuid4())
        networks = request.get("networks") or [{"uuid": self.project_network_id}]
        if networks in ("auto", "none"):
            networks = [] if networks == "none" else [{"uuid": self.project_network_id}]
        server = {
            "id": server_id, "name": request["name"], "status": "BUILD", "tenant_id": self.project_id,
            "user_id": self.user_id, "metadata": dict(request.get("metadata") or {}),
            "tags": list(request.get("tags") or []), "hostId": "",
            # A server booted from a volume has no image; Nova shows an empty string then.
            "image": {"id": request["imageRef"], "links": []} if request.get("imageRef") else "",
            "created": now_iso(), "updated": now_iso(), "accessIPv4": "", "accessIPv6": "", "links": [],
            "OS-DCF:diskConfig": "MANUAL", "progress": 0, "OS-EXT-AZ:availability_zone": "nova",
            "config_drive": "", "key_name": request.get("key_name"), "OS-SRV-USG:launched_at": None,
            "OS-SRV-USG:terminated_at": None, "OS-EXT-STS:task_state": "scheduling", "OS-EXT-STS:vm_state": "building",
            "OS-EXT-STS:power_state": 0, "description": None, "locked": False,
            "security_groups": [{"name": group["name"]} for group in request.get("security_groups") or
                                [{"name": "default"}]],
            "_flavor_id": request["flavorRef"], "_volume_ids": [], "_user_data": request.get("user_data"),
            "_networks": networks, "_block_devices": request.get("block_device_mapping_v2") or [],
        }
        self.servers[server_id] = server
        if "no_valid_host" in self.faults:
            # The scheduler fails before a compute host allocates ports or volumes.
            server.update({"status": "ERROR", "OS-EXT-STS:vm_state": "error", "OS-EXT-STS:task_state": None,
                           "fault": {"code": 500, "created": now_iso(),
                                     "message": "No valid host was found. There are not enough hosts available."}})
        return server

    def boot(self, server):
        """Give the server its ports and boot volume on a compute host, then mark it ACTIVE."""
        for network in server["_networks"]:
            self.create_port_record(network.get("uuid") or self.port_network(network), server)
        for device in server["_block_devices"]:
            if device.get("destination_type") == "volume" and device.get("source_type") == "image":
                volume = self.create_volume_record(f"{server['name']}-boot", int(device.get("volume_size") or 1),
                                                   server["id"], bool(device.get("delete_on_termination")))
                server["_volume_ids"].append(volume["id"])
        server.update({"status": "ACTIVE", "OS-EXT-STS:vm_state": "active", "OS-EXT-STS:task_state": None,
                       "OS-EXT-STS:power_state": 1, "OS-SRV-USG:launched_at": now_iso(), "hostId": "host-1"})

    def port_network(self, network):
        return self.ports[network["port"]]["network_id"]

    def delete_server(self, match, query, body, headers):
        self.authorize(headers)
        with self.lock:
            server = find(self.servers, "Instance", match["id"], nova_error)
            self.remove_server(server)
            if "server_gone_on_delete" in self.faults:
                raise nova_error(404, "itemNotFound", f"Instance {match['id']} could not be found.")
        return 204, None, {}

    def remove_server(self, server):
        """Delete the server now (the double has no DELETING state), its ports, and volumes marked for it."""
        for port in [port for port in self.ports.values() if port["device_id"] == server["id"]]:
            self.remove_port(port)
        for volume_id in server["_volume_ids"]:
            volume = self.volumes.get(volume_id)
            if volume is None:
                continue
            if volume["_delete_on_termination"]:
                del self.volumes[volume_id]
            else:
                volume.update(status="available", attachments=[])
        del self.servers[server["id"]]

    def get_server_metadata(self, match, query, body, headers):
        self.authorize(headers)
        with self.lock:
            return 200, {"metadata": dict(find(self.servers, "Instance", match["id"], nova_error)["metadata"])}, {}

    def update_server_metadata(self, match, query, body, headers):
        self.authorize(headers)
        with self.lock:
            server = find(self.servers, "Instance", match["id"], nova_error)
            server["metadata"].update((body or {}).get("metadata") or {})
            return 200, {"metadata": dict(server["metadata"])}, {}

    def get_server_tags(self, match, query, body, headers):
        self.authorize(headers)
        with self.lock:
            return 200, {"tags": list(find(self.servers, "Instance", match["id"], nova_error)["tags"])}, {}

    def replace_server_tags(self, match, query, body, headers):
        self.authorize(headers)
        with self.lock:
            server = find(self.servers, "Instance", match["id"], nova_error)
            server["tags"] = list((body or {}).get("tags") or [])
            return 200, {"tags": list(server["tags"])}, {}

    def get_server_security_groups(self, match, query, body, headers):
        self.authorize(headers)
        with self.lock:
            server = find(self.servers, "Instance", match["id"], nova_error)
            groups = [self.security_groups[self.security_group_id(group["name"])]
                      for group in server["security_groups"] if self.security_group_id(group["name"])]
            return 200, {"security_groups": [{"id": group["id"], "name": group["name"],
                                              "description": group["description"], "rules": []}
                                             for group in groups]}, {}

    # --- Neutron ----------------------------------------------------------------------------------------

    def add_network(self, name, cidr, external):
        network_id, subnet_id = str(uuid.uuid4()), str(uuid.uuid4())
        self.networks[network_id] = {
            "id": network_id, "name": name, "status": "ACTIVE", "admin_state_up": True, "shared": external,
            "router:external": external, "subnets": [subnet_id], "tenant_id": self.project_id,
            "project_id": self.project_id, "mtu": 1500, "port_security_enabled": True, "tags": [],
            "description": "", "availability_zones": ["nova"]}
        network = ipaddress.ip_network(cidr)
        self.subnets[subnet_id] = {
            "id": subnet_id, "name": f"{name}-subnet", "network_id": network_id, "cidr": cidr, "ip_version": 4,
            "gateway_ip": str(network[1]), "enable_dhcp": True, "tenant_id": self.project_id,
            "project_id": self.project_id, "allocation_pools": [{"start": str(network[10]), "end": str(network[-2])}],
            "dns_nameservers": [], "host_routes": [], "tags": [], "description": ""}
        return network_id

    def neutron_lister(self, collection, table_name):
        key = collection.replace("-", "_")

        def handler(match, query, body, headers):
            self.authorize(headers)
            with self.lock:
                records = [self.neutron_view(record) for record in getattr(self, table_name).values()]
            return 200, {key: filtered(records, query)}, {}
        return handler

    def neutron_getter(self, collection, table_name):
        key = collection.replace("-", "_")[:-1]
        kind = {"floatingip": "FloatingIP", "security_group": "SecurityGroup",
                "security_group_rule": "SecurityGroupRule"}.get(key, key.capitalize())

        def handler(match, query, body, headers):
            self.authorize(headers)
            with self.lock:
                record = find(getattr(self, table_name), kind, match["id"], neutron_error)
                return 200, {key: self.neutron_view(record)}, {}
        return handler

    def neutron_view(self, record):
        view = copy.deepcopy(record)
        if "security_group_rules" in view:
            view["security_group_rules"] = [copy.deepcopy(rule) for rule in self.security_group_rules.values()
                                            if rule["security_group_id"] == record["id"]]
        return view

    def get_network_quota(self, match, query, body, headers):
        self.authorize(headers)
        return 200, {"quota": {"floatingip": self.floating_ip_quota, "network": 10, "port": 50, "router": 10,
                               "security_group": 10, "security_group_rule": 100, "subnet": 10}}, {}

    def create_port_record(self, network_id, server):
        network = find(self.networks, "Network", network_id, neutron_error)
        cidr = self.subnets[network["subnets"][0]]["cidr"]
        port_id = str(uuid.uuid4())
        group_ids = [self.security_group_id(group["name"]) for group in server["security_groups"]]
        self.ports[port_id] = {
            "id": port_id, "name": "", "network_id": network_id, "device_id": server["id"],
            "device_owner": "compute:nova", "status": "ACTIVE", "admin_state_up": True,
            "mac_address": "fa:16:3e:00:00:%02x" % (next(self.mac_counter) % 256),
            "fixed_ips": [{"subnet_id": network["subnets"][0], "ip_address": str(next(self.addresses[cidr]))}],
            "security_groups": [group_id for group_id in group_ids if group_id], "tenant_id": self.project_id,
            "project_id": self.project_id, "tags": [], "description": "", "port_security_enabled": True,
            "binding:vnic_type": "normal"}
        return self.ports[port_id]

    def remove_port(self, port):
        # Neutron keeps a floating IP whose port goes away, detached and still allocated to the project.
        for floating_ip in self.floating_ips.values():
            if floating_ip["port_id"] == port["id"]:
                floating_ip.update(port_id=None, fixed_ip_address=None, status="DOWN")
        del self.ports[port["id"]]

    def create_floating_ip(self, match, query, body, headers):
        self.authorize(headers)
        request = (body or {}).get("floatingip") or {}
        with self.lock:
            if "floating_ip_error" in self.faults:
                raise neutron_error(500, "HTTPInternalServerError", "Request Failed: internal server error while "
                                                                    "processing your request.")
            network = find(self.networks, "Network", request.get("floating_network_id", ""), neutron_error)
            if not network["router:external"]:
                raise neutron_error(400, "BadRequest", f"Network {network['id']} is not a valid external network")
            if "floating_ip_quota_exceeded" in self.faults or len(self.floating_ips) >= self.floating_ip_quota:
                raise neutron_error(409, "OverQuota", "Quota exceeded for resources: ['floatingip'].")
            floating_ip = self.create_floating_ip_record(description=request.get("description", ""))
            self.associate(floating_ip, request.get("port_id"), request.get("fixed_ip_address"))
            return 201, {"floatingip": copy.deepcopy(floating_ip)}, {}

    def create_floating_ip_record(self, description=""):
        floating_ip_id = str(uuid.uuid4())
        self.floating_ips[floating_ip_id] = {
            "id": floating_ip_id, "floating_network_id": self.floating_network_id, "router_id": None,
            "floating_ip_address": str(next(self.addresses[FLOATING_CIDR])), "fixed_ip_address": None,
            "port_id": None, "status": "DOWN", "tenant_id": self.project_id, "project_id": self.project_id,
            "description": description, "tags": [], "created_at": now_iso(), "updated_at": now_iso(),
            "port_details": None, "dns_name": "", "dns_domain": ""}
        return self.floating_ips[floating_ip_id]

    def associate(self, floating_ip, port_id, fixed_ip_address=None):
        if not port_id:
            floating_ip.update(port_id=None, fixed_ip_address=None, status="DOWN", router_id=None)
            return
        port = find(self.ports, "Port", port_id, neutron_error)
        for other in self.floating_ips.values():
            if other is not floating_ip and other["port_id"] == port_id:
                raise neutron_error(409, "FloatingIPPortAlreadyAssociated",
                                    f"Cannot associate floating IP {floating_ip['floating_ip_address']} with port "
                                    f"{port_id}: it already has floating IP {other['floating_ip_address']}.")
        floating_ip.update(port_id=port_id, status="ACTIVE", router_id="router-1",
                           fixed_ip_address=fixed_ip_address or port["fixed_ips"][0]["ip_address"])

    def update_floating_ip(self, match, query, body, headers):
        self.authorize(headers)
        request = (body or {}).get("floatingip") or {}
        with self.lock:
            floating_ip = find(self.floating_ips, "FloatingIP", match["id"], neutron_error)
            if "port_id" in request:
                self.associate(floating_ip, request["port_id"], request.get("fixed_ip_address"))
            if "description" in request:
                floating_ip["description"] = request["description"]
            return 200, {"floatingip": copy.deepcopy(floating_ip)}, {}

    def delete_floating_ip(self, match, query, body, headers):
        self.authorize(headers)
        with self.lock:
            find(self.floating_ips, "FloatingIP", match["id"], neutron_error)
            del self.floating_ips[match["id"]]
        return 204, None, {}

    def security_group_id(self, name_or_id):
        for group in self.security_groups.values():
            if name_or_id in (group["id"], group["name"]):
                return group["id"]
        return None

    def create_security_group_record(self, name, description):
        group_id = str(uuid.uuid4())
        self.security_groups[group_id] = {
            "id": group_id, "name": name, "description": description, "tenant_id": self.project_id,
            "project_id": self.project_id, "stateful": True, "tags": [], "security_group_rules": [],
            "created_at": now_iso(), "updated_at": now_iso(), "revision_number": 1, "shared": False}
        for ethertype in ("IPv4", "IPv6"):
            self.create_rule_record({"security_group_id": group_id, "direction": "egress", "ethertype": ethertype})
        return self.security_groups[group_id]

    def create_security_group(self, match, query, body, headers):
        self.authorize(headers)
        request = (body or {}).get("security_group") or {}
        if not request.get("name"):
            raise neutron_error(400, "BadRequest", "Invalid input: a security group needs a name.")
        with self.lock:
            group = self.create_security_group_record(request["name"], request.get("description", ""))
            return 201, {"security_group": self.neutron_view(group)}, {}

    def delete_security_group(self, match, query, body, headers):
        self.authorize(headers)
        with self.lock:
            find(self.security_groups, "SecurityGroup", match["id"], neutron_error)
            if any(match["id"] in port["security_groups"] for port in self.ports.values()):
                raise neutron_error(409, "SecurityGroupInUse",
                                    f"Security Group {match['id']} in use.")
            for rule_id in [key for key, rule in self.security_group_rules.items()
                            if rule["security_group_id"] == match["id"]]:
                del self.security_group_rules[rule_id]
            del self.security_groups[match["id"]]
        return 204, None, {}

    def create_rule_record(self, request):
        rule_id = str(uuid.uuid4())
        rule = {"id": rule_id, "security_group_id": request["security_group_id"],
                "direction": request.get("direction", "ingress"), "ethertype": request.get("ethertype", "IPv4"),
                "protocol": request.get("protocol"), "port_range_min": request.get("port_range_min"),
                "port_range_max": request.get("port_range_max"), "remote_ip_prefix": request.get("remote_ip_prefix"),
                "remote_group_id": request.get("remote_group_id"), "remote_address_group_id": None,
                "description": request.get("description", ""), "tenant_id": self.project_id,
                "project_id": self.project_id, "normalized_cidr": request.get("remote_ip_prefix"),
                "created_at": now_iso(), "updated_at": now_iso(), "revision_number": 0, "tags": []}
        self.security_group_rules[rule_id] = rule
        return rule

    def create_security_group_rule(self, match, query, body, headers):
        self.authorize(headers)
        request = (body or {}).get("security_group_rule") or {}
        with self.lock:
            find(self.security_groups, "SecurityGroup", request.get("security_group_id", ""), neutron_error)
            fields = ("direction", "ethertype", "protocol", "port_range_min", "port_range_max", "remote_ip_prefix",
                      "remote_group_id")
            for rule in self.security_group_rules.values():
                same = all(str(rule.get(field)) == str(request.get(field, rule.get(field) if field == "ethertype"
                                                                   else None)) for field in fields)
                if rule["security_group_id"] == request["security_group_id"] and same:
                    raise neutron_error(409, "SecurityGroupRuleExists",
                                        f"Security group rule already exists. Rule id is {rule['id']}.")
            return 201, {"security_group_rule": copy.deepcopy(self.create_rule_record(request))}, {}

    def delete_security_group_rule(self, match, query, body, headers):
        self.authorize(headers)
        with self.lock:
            find(self.security_group_rules, "SecurityGroupRule", match["id"], neutron_error)
            del self.security_group_rules[match["id"]]
        return 204, None, {}

    # --- Cinder -----------------------------------------------------------------------------------------

    def create_volume_record(self, name, size, server_id, delete_on_termination):
        volume_id = str(uuid.uuid4())
        self.volumes[volume_id] = {
            "id": volume_id, "name": name, "size": size, "status": "in-use", "bootable": "true",
            "attachments": [{"server_id": server_id, "attachment_id": str(uuid.uuid4()), "volume_id": volume_id,
                             "device": "/dev/vda", "id": volume_id, "host_name": "host-1"}],
            "availability_zone": "nova", "volume_type": "standard", "metadata": {}, "description": None,
            "created_at": now_iso(), "updated_at": now_iso(), "encrypted": False, "multiattach": False,
            "os-vol-tenant-attr:tenant_id": self.project_id, "user_id": self.user_id, "links": [],
            "_delete_on_termination": delete_on_termination}
        return self.volumes[volume_id]

    @staticmethod
    def volume_view(volume):
        return copy.deepcopy({key: value for key, value in volume.items() if not key.startswith("_")})

    def list_volumes(self, match, query, body, headers):
        self.authorize(headers)
        with self.lock:
            views = [self.volume_view(volume) for volume in self.volumes.values()]
        return 200, {"volumes": filtered(views, query)}, {}

    def get_volume(self, match, query, body, headers):
        self.authorize(headers)
        with self.lock:
            return 200, {"volume": self.volume_view(find(self.volumes, "Volume", match["id"], nova_error))}, {}

    def delete_volume(self, match, query, body, headers):
        self.authorize(headers)
        with self.lock:
            volume = find(self.volumes, "Volume", match["id"], nova_error)
            if volume["attachments"]:
                raise nova_error(400, "badRequest", "Invalid volume: Volume status must be available or error or "
                                                    "error_restoring or error_extending or error_managing and must "
                                                    "not be migrating, attached, belong to a group, have snapshots, "
                                                    "awaiting a transfer, or be disassociated from snapshots after "
                                                    "volume transfer.")
            del self.volumes[match["id"]]
        return 202, None, {}

    # --- for tests --------------------------------------------------------------------------------------

    def add_free_floating_ip(self):
        """Allocate a floating IP that no port uses, as a leftover in the project would be."""
        with self.lock:
            return self.create_floating_ip_record(description="left over")["floating_ip_address"]

    def delete_server_out_of_band(self, name):
        """Delete a server as `openstack server delete` does: its floating IP stays allocated."""
        with self.lock:
            for server in [server for server in self.servers.values() if server["name"] == name]:
                self.remove_server(server)

    def billed_resources(self, keep_floating_ips=()):
        """Return what would still cost money or quota, other than the floating IPs in keep_floating_ips."""
        with self.lock:
            return {"servers": sorted(server["name"] for server in self.servers.values()),
                    "ports": sorted(port["id"] for port in self.ports.values()),
                    "floating_ips": sorted(item["floating_ip_address"] for item in self.floating_ips.values()
                                           if item["floating_ip_address"] not in keep_floating_ips),
                    "volumes": sorted(volume["name"] for volume in self.volumes.values()),
                    "security_groups": sorted(group["name"] for group in self.security_groups.values()
                                              if group["name"] != "default")}
