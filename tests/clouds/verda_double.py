"""Loopback double of the Verda public REST API (v1), as far as the `verda` SDK 1.25.0 and verda_instance use it.

Stateful: instances move from `ordered` through `provisioning` to `running` as they are polled, each one gets an
OS volume, and the `delete` action removes the instance and moves the volumes it names to the trash, or deletes
them for good with `delete_permanently`. Volumes it does not name stay `detached` and keep "billing", exactly
the leak the collection must avoid. Deleted instances answer `not_found`; deleting one twice answers
`forbidden_action` like the real API does for a discontinued instance.

Faults (attribute `faults`, a set, plus a few parameters):

- `quota_exceeded`: POST /instances fails with `forbidden_action` and a quota message.
- `no_stock`: every type in `out_of_stock` is unavailable everywhere, and POST /instances for it fails.
- `create_response_timeout`: POST /instances creates the instance, then answers only after
  `create_response_delay` seconds, so a client with a shorter timeout sees a timeout.
- `stuck_ordered`: new instances stay `ordered` forever.
- `error_after_create`: new instances go to `error` instead of `running`.
- `server_error_once`: the next GET /instances/{id} answers 500 once (the client must retry).

A test can choose the public address of the next instances with `next_addresses`, for example the address of
a lab cluster that plays the new VM.

Run standalone with `python tests/clouds/verda_double.py --client-id-file F --client-secret-file F`; it prints
its base URL.
"""

import argparse
import itertools
import secrets
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from http_double import ApiError, HttpDouble  # noqa: E402  (needs the path above)

API = "/v1"
INSTANCE_TYPES = [
    {"instance_type": "CPU.4V.16G", "cores": 4, "memory": 16, "gpus": 0, "model": "", "price": "0.10"},
    {"instance_type": "1V100.6V", "cores": 6, "memory": 23, "gpus": 1, "model": "Tesla V100 16GB", "price": "0.39"},
    {"instance_type": "1H100.80S.22V", "cores": 22, "memory": 187, "gpus": 1, "model": "H100 80GB", "price": "2.19"},
]
LOCATIONS = [
    {"code": "FIN-01", "name": "Finland 1", "country_code": "FI"},
    {"code": "FIN-03", "name": "Finland 3", "country_code": "FI"},
    {"code": "ICE-01", "name": "Iceland 1", "country_code": "IS"},
]
# Polls of GET /instances/{id} an instance spends in each status before the next one.
POLLS_PER_STATUS = 1


def now_iso():
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def error(status, code, message):
    return ApiError(status, {"code": code, "message": message})


class VerdaDouble(HttpDouble):
    """The Verda API double; `instances`, `volumes`, `scripts` and `trash` are the cloud's state."""

    def __init__(self, client_id, client_secret, instance_quota=8):
        super().__init__()
        self.client_id = client_id
        self.client_secret = client_secret
        self.instance_quota = instance_quota
        self.tokens = {}
        self.refresh_tokens = set()
        self.instances = {}
        self.deleted_instances = set()
        self.volumes = {}
        self.trash = {}
        self.scripts = {}
        self.faults = set()
        self.out_of_stock = set()
        self.create_response_delay = 5.0
        self.token_lifetime = 3600
        self.counter = itertools.count(1)
        # Public addresses for the next instances, in order. After them, addresses come from 198.51.100.0/24.
        self.next_addresses = []
        self.register_routes()

    # --- routes -----------------------------------------------------------------------------------------

    def register_routes(self):
        self.route("POST", API + "/oauth2/token", self.token)
        self.route("GET", API + "/instance-types", self.list_instance_types)
        self.route("GET", API + "/locations", self.list_locations)
        self.route("GET", API + "/instance-availability", self.list_availability)
        self.route("GET", API + r"/instance-availability/(?P<type>[^/]+)", self.get_availability)
        self.route("GET", API + "/images", self.list_images)
        self.route("GET", API + "/instances", self.list_instances)
        self.route("POST", API + "/instances", self.create_instance)
        self.route("PUT", API + "/instances", self.instance_action)
        self.route("GET", API + r"/instances/(?P<id>[^/]+)", self.get_instance)
        self.route("GET", API + "/volumes", self.list_volumes)
        self.route("GET", API + "/volumes/trash", self.list_trash)
        self.route("GET", API + r"/volumes/(?P<id>[^/]+)", self.get_volume)
        self.route("DELETE", API + r"/volumes/(?P<id>[^/]+)", self.delete_volume)
        self.route("GET", API + "/scripts", self.list_scripts)
        self.route("POST", API + "/scripts", self.create_script)
        self.route("GET", API + r"/scripts/(?P<id>[^/]+)", self.get_script)
        self.route("DELETE", API + r"/scripts/(?P<id>[^/]+)", self.delete_script)

    def authorize(self, headers):
        token = (headers.get("Authorization") or "").removeprefix("Bearer ")
        with self.lock:
            expires = self.tokens.get(token)
        if expires is None or expires < time.time():
            raise error(401, "unauthorized_request", "Invalid or expired access token")

    def token(self, match, query, body, headers):
        body = body or {}
        with self.lock:
            if body.get("grant_type") == "client_credentials":
                valid = secrets.compare_digest(str(body.get("client_id", "")), self.client_id) and \
                    secrets.compare_digest(str(body.get("client_secret", "")), self.client_secret)
                if not valid:
                    raise error(401, "unauthorized_request", "Invalid client credentials")
            elif body.get("grant_type") == "refresh_token":
                if body.get("refresh_token") not in self.refresh_tokens:
                    raise error(401, "unauthorized_request", "Invalid refresh token")
            else:
                raise error(400, "invalid_request", "grant_type must be client_credentials or refresh_token")
            access, refresh = secrets.token_hex(16), secrets.token_hex(16)
            self.tokens[access] = time.time() + self.token_lifetime
            self.refresh_tokens.add(refresh)
        return 200, {"access_token": access, "refresh_token": refresh, "scope": "cloud-api-v1",
                     "token_type": "Bearer", "expires_in": self.token_lifetime}, {}

    def list_instance_types(self, match, query, body, headers):
        self.authorize(headers)
        return 200, [self.instance_type_record(item, query.get("currency", "usd")) for item in INSTANCE_TYPES], {}

    @staticmethod
    def instance_type_record(item, currency):
        return {
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, item["instance_type"])),
            "instance_type": item["instance_type"], "price_per_hour": item["price"], "spot_price": "0.05",
            "description": item["instance_type"], "cpu": {"description": "", "number_of_cores": item["cores"]},
            "gpu": {"description": "", "number_of_gpus": item["gpus"]},
            "memory": {"description": "", "size_in_gigabytes": item["memory"]},
            "gpu_memory": {"description": "", "size_in_gigabytes": 16 * item["gpus"]},
            "storage": {"description": ""}, "best_for": [], "model": item["model"], "name": item["instance_type"],
            "p2p": "", "currency": currency, "manufacturer": "NVIDIA" if item["gpus"] else "AMD",
            "display_name": item["instance_type"], "supported_os": ["ubuntu-24.04"],
        }

    def list_locations(self, match, query, body, headers):
        self.authorize(headers)
        return 200, LOCATIONS, {}

    def available_types(self):
        return [item["instance_type"] for item in INSTANCE_TYPES if item["instance_type"] not in self.stock_gaps()]

    def stock_gaps(self):
        return self.out_of_stock if "no_stock" in self.faults else set()

    def list_availability(self, match, query, body, headers):
        self.authorize(headers)
        codes = [query["location_code"]] if query.get("location_code") else [item["code"] for item in LOCATIONS]
        return 200, [{"location_code": code, "availabilities": self.available_types()} for code in codes], {}

    def get_availability(self, match, query, body, headers):
        self.authorize(headers)
        return 200, match["type"] in self.available_types(), {}

    def list_images(self, match, query, body, headers):
        self.authorize(headers)
        return 200, [{"id": "img-ubuntu-2404", "image_type": "ubuntu-24.04", "name": "Ubuntu 24.04",
                      "is_default": True, "details": [], "category": "ubuntu"}], {}

    # --- instances --------------------------------------------------------------------------------------

    def create_instance(self, match, query, body, headers):
        self.authorize(headers)
        body = body or {}
        self.validate_create(body)
        with self.lock:
            instance = self.new_instance(body)
        if "create_response_timeout" in self.faults:
            time.sleep(self.create_response_delay)
        return 202, instance["id"], {}

    def validate_create(self, body):
        known = {item["instance_type"] for item in INSTANCE_TYPES}
        if body.get("instance_type") not in known:
            raise error(400, "invalid_request", f"Invalid instance type {body.get('instance_type')}")
        if body.get("location_code") not in {item["code"] for item in LOCATIONS}:
            raise error(400, "invalid_request", f"Invalid location code {body.get('location_code')}")
        if not body.get("hostname") or not body.get("image"):
            raise error(400, "invalid_request", "hostname and image are required")
        if "quota_exceeded" in self.faults or len(self.instances) >= self.instance_quota:
            raise error(403, "forbidden_action", "Instance quota exceeded for this project")
        if body["instance_type"] in self.stock_gaps():
            raise error(400, "invalid_request", f"No capacity available for {body['instance_type']}")
        script_id = body.get("startup_script_id")
        if script_id and script_id not in self.scripts:
            raise error(404, "not_found", f"Startup script {script_id} not found")

    def new_instance(self, body):
        instance_id = str(uuid.uuid4())
        spec = next(item for item in INSTANCE_TYPES if item["instance_type"] == body["instance_type"])
        os_volume = body.get("os_volume") or {}
        volume_id = str(uuid.uuid4())
        self.volumes[volume_id] = {
            "id": volume_id, "status": "attached", "name": os_volume.get("name") or f"OS-{body['hostname']}",
            "size": int(os_volume.get("size") or 50), "type": "NVMe", "is_os_volume": True,
            "created_at": now_iso(), "target": "vda", "location": body["location_code"],
            "instance_id": instance_id, "ssh_key_ids": body.get("ssh_key_ids") or [],
        }
        index = next(self.counter)
        instance = {
            "id": instance_id, "instance_type": body["instance_type"], "price_per_hour": float(spec["price"]),
            "hostname": body["hostname"], "description": body.get("description") or "", "status": "ordered",
            "created_at": now_iso(), "ssh_key_ids": body.get("ssh_key_ids") or [],
            "cpu": {"number_of_cores": spec["cores"]}, "gpu": {"number_of_gpus": spec["gpus"]},
            "memory": {"size_in_gigabytes": spec["memory"]}, "storage": {}, "gpu_memory": {},
            "ip": None, "os_volume_id": volume_id, "location": body["location_code"], "image": body["image"],
            "startup_script_id": body.get("startup_script_id"), "is_spot": bool(body.get("is_spot")),
            "contract": body.get("contract") or "PAY_AS_YOU_GO", "pricing": body.get("pricing") or "DYNAMIC_PRICE",
            "_polls": 0,
            "_address": self.next_addresses.pop(0) if self.next_addresses else f"198.51.100.{index % 250 + 1}",
        }
        self.instances[instance_id] = instance
        return instance

    def advance(self, instance):
        """Move an instance one step along its life cycle; called on every GET of it."""
        instance["_polls"] += 1
        if instance["_polls"] % POLLS_PER_STATUS or "stuck_ordered" in self.faults:
            return
        if instance["status"] == "ordered":
            instance["status"] = "provisioning"
        elif instance["status"] == "provisioning":
            if "error_after_create" in self.faults:
                instance["status"] = "error"
            else:
                instance["status"], instance["ip"] = "running", instance["_address"]

    @staticmethod
    def public(instance):
        return {key: value for key, value in instance.items() if not key.startswith("_")}

    def list_instances(self, match, query, body, headers):
        self.authorize(headers)
        with self.lock:
            listed = [self.public(item) for item in self.instances.values()
                      if not query.get("status") or item["status"] == query["status"]]
        return 200, listed, {}

    def get_instance(self, match, query, body, headers):
        self.authorize(headers)
        with self.lock:
            if "server_error_once" in self.faults:
                self.faults.discard("server_error_once")
                raise error(500, "server_error", "Temporary failure, try again")
            instance = self.instances.get(match["id"])
            if instance is None:
                raise error(404, "not_found", f"Instance {match['id']} not found")
            self.advance(instance)
            if match["id"] not in self.instances:
                raise error(404, "not_found", f"Instance {match['id']} not found")
            return 200, self.public(instance), {}

    def instance_action(self, match, query, body, headers):
        self.authorize(headers)
        body = body or {}
        ids = body.get("id") or []
        ids = [ids] if isinstance(ids, str) else ids
        with self.lock:
            for instance_id in ids:
                self.apply_action(instance_id, body)
        return 202, None, {}

    def apply_action(self, instance_id, body):
        if instance_id in self.deleted_instances:
            raise error(400, "forbidden_action", "Can't discontinue a discontinued instance")
        if instance_id not in self.instances:
            raise error(404, "not_found", f"Instance {instance_id} not found")
        action = body.get("action")
        if action == "delete":
            self.remove_instance(instance_id, body.get("volume_ids") or [], bool(body.get("delete_permanently")))
        elif action == "shutdown":
            self.instances[instance_id]["status"] = "offline"
        elif action == "start":
            self.instances[instance_id]["status"] = "running"
        else:
            raise error(400, "invalid_request", f"Unsupported action {action}")

    def attached_volume_ids(self, instance_id):
        return [volume_id for volume_id, volume in self.volumes.items() if volume["instance_id"] == instance_id]

    def remove_instance(self, instance_id, volume_ids, permanently):
        for volume_id in self.attached_volume_ids(instance_id):
            volume = self.volumes[volume_id]
            volume.update(status="detached", instance_id=None)
            if volume_id in volume_ids:
                self.discard_volume(volume_id, permanently)
        del self.instances[instance_id]
        self.deleted_instances.add(instance_id)

    def discard_volume(self, volume_id, permanently):
        volume = self.volumes.pop(volume_id)
        if not permanently:
            self.trash[volume_id] = {**volume, "status": "deleted", "deleted_at": now_iso()}

    # --- volumes and scripts ----------------------------------------------------------------------------

    def list_volumes(self, match, query, body, headers):
        self.authorize(headers)
        with self.lock:
            return 200, [dict(item) for item in self.volumes.values()], {}

    def list_trash(self, match, query, body, headers):
        self.authorize(headers)
        with self.lock:
            return 200, [dict(item) for item in self.trash.values()], {}

    def get_volume(self, match, query, body, headers):
        self.authorize(headers)
        with self.lock:
            volume = self.volumes.get(match["id"]) or self.trash.get(match["id"])
        if volume is None:
            raise error(404, "not_found", f"Volume {match['id']} not found")
        return 200, dict(volume), {}

    def delete_volume(self, match, query, body, headers):
        self.authorize(headers)
        permanently = bool((body or {}).get("is_permanent"))
        with self.lock:
            if match["id"] in self.trash and permanently:
                del self.trash[match["id"]]
                return 202, None, {}
            volume = self.volumes.get(match["id"])
            if volume is None:
                raise error(404, "not_found", f"Volume {match['id']} not found")
            if volume["instance_id"]:
                raise error(400, "invalid_request", "Volume is attached to an instance")
            self.discard_volume(match["id"], permanently)
        return 202, None, {}

    def list_scripts(self, match, query, body, headers):
        self.authorize(headers)
        with self.lock:
            return 200, [dict(item) for item in self.scripts.values()], {}

    def create_script(self, match, query, body, headers):
        self.authorize(headers)
        body = body or {}
        if not body.get("name") or not body.get("script"):
            raise error(400, "invalid_request", "name and script are required")
        script_id = str(uuid.uuid4())
        with self.lock:
            self.scripts[script_id] = {"id": script_id, "name": body["name"], "script": body["script"]}
        return 201, script_id, {}

    def get_script(self, match, query, body, headers):
        self.authorize(headers)
        with self.lock:
            script = self.scripts.get(match["id"])
        if script is None:
            raise error(404, "not_found", f"Script {match['id']} not found")
        return 200, [dict(script)], {}

    def delete_script(self, match, query, body, headers):
        self.authorize(headers)
        with self.lock:
            if self.scripts.pop(match["id"], None) is None:
                raise error(404, "not_found", f"Script {match['id']} not found")
        return 202, None, {}

    # --- for tests --------------------------------------------------------------------------------------

    def delete_out_of_band(self, hostname):
        """Delete an instance as the console does by default: its OS volume stays, detached and billed."""
        with self.lock:
            for instance_id in [key for key, item in self.instances.items() if item["hostname"] == hostname]:
                self.remove_instance(instance_id, [], False)

    def billed_resources(self):
        """Return what would still cost money: instances (any status), volumes and trashed volumes."""
        with self.lock:
            return {"instances": sorted(item["hostname"] for item in self.instances.values()),
                    "volumes": sorted(item["name"] for item in self.volumes.values()),
                    "trash": sorted(item["name"] for item in self.trash.values())}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--client-id-file", required=True, type=Path)
    parser.add_argument("--client-secret-file", required=True, type=Path)
    args = parser.parse_args()
    double = VerdaDouble(args.client_id_file.read_text().strip(), args.client_secret_file.read_text().strip())
    double.start()
    print(f"{double.base_url}{API}", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
