# -*- coding: utf-8 -*-
# Copyright: contributors to the oss_mlops.multicloud collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Verda public API access for verda_instance and verda_instance_info, on the `verda` SDK's HTTP client.

The SDK (1.25.0) sends every request without a timeout and never retries, and its service methods take no
request options. This wrapper keeps the SDK's token handling, path encoding and error mapping
(`verda.http_client.HTTPClient`, `verda.exceptions.APIException`), and adds a timeout to every request and
retries with backoff for reads and for the idempotent delete action. Creating an instance is never retried
blindly: after a timeout the instance list is searched for the hostname first.
"""

from __future__ import annotations

import time
import traceback

try:
    import requests
    from verda.authentication import AuthenticationService
    from verda.exceptions import APIException
    from verda.http_client import HTTPClient, handle_error

    HAS_VERDA = True
    VERDA_IMPORT_ERROR = None
except ImportError:
    HAS_VERDA = False
    VERDA_IMPORT_ERROR = traceback.format_exc()
    AuthenticationService = object
    APIException = Exception

DEFAULT_BASE_URL = "https://api.verda.com/v1"
# Statuses from which an instance never becomes running by itself (verda SDK constants and verda-cli).
FAILED_STATUSES = frozenset({"error", "no_capacity", "discontinued", "not_found"})
GONE_STATUSES = frozenset({"discontinued", "deleted", "not_found"})
TRANSIENT_CODES = frozenset({"server_error", "service_unavailable", None})
# Tags live in the instance description as space-separated key=value pairs, because Verda instances have no
# tags or metadata of their own, and the hostname and description cannot be changed after deployment.
TAG_SEPARATOR = " "


class VerdaError(Exception):
    """A Verda API call failed; the message names the call and what to do next."""


class TimedAuthentication(AuthenticationService):
    """OAuth2 client-credentials login with a timeout; the SDK's own login waits forever on a silent server."""

    def __init__(self, client_id, client_secret, base_url, timeout):
        super().__init__(client_id, client_secret, base_url)
        self._timeout = timeout

    def authenticate(self):
        return self._request_token({"grant_type": "client_credentials", "client_id": self._client_id,
                                    "client_secret": self._client_secret})

    def refresh(self):
        try:
            return self._request_token({"grant_type": "refresh_token", "refresh_token": self._refresh_token})
        except APIException:
            return self.authenticate()

    def _request_token(self, payload):
        response = requests.post(self._base_url + "/oauth2/token", json=payload, headers=self._generate_headers(),
                                 timeout=self._timeout)
        handle_error(response)
        data = response.json()
        self._access_token = data["access_token"]
        self._refresh_token = data["refresh_token"]
        self._scope = data.get("scope")
        self._token_type = data.get("token_type")
        self._expires_at = time.time() + data["expires_in"]
        return data


def is_transient(error):
    """Return whether a failed request may succeed when sent again."""
    if isinstance(error, (requests.Timeout, requests.ConnectionError)):
        return True
    if isinstance(error, APIException):
        return error.code in TRANSIENT_CODES
    # handle_error raises ValueError when an error body is not JSON, as from a proxy's 502 or 503 page.
    return isinstance(error, ValueError)


def is_not_found(error):
    return isinstance(error, APIException) and error.code == "not_found"


def is_already_deleted(error):
    """Return whether a delete failed only because the instance is gone already."""
    if is_not_found(error):
        return True
    return isinstance(error, APIException) and error.code == "forbidden_action" and \
        "discontinued" in str(error.message or "").lower()


def describe(error):
    if isinstance(error, APIException):
        return f"{error.code or 'error'}: {error.message}"
    return f"{type(error).__name__}: {error}"


def encode_tags(tags):
    return TAG_SEPARATOR.join(f"{key}={value}" for key, value in sorted(tags.items()))


def decode_tags(description):
    tags = {}
    for word in (description or "").split():
        key, separator, value = word.partition("=")
        if separator:
            tags[key] = value
    return tags


def validate_tags(tags):
    """Return a list of problems with tags that could not be stored in a description and read back."""
    problems = []
    for key, value in tags.items():
        if not key or any(char.isspace() or char == "=" for char in key):
            problems.append(f"tag key {key!r} must be non-empty without spaces or '='")
        if any(char.isspace() for char in str(value)):
            problems.append(f"tag {key}={value!r} must have a value without spaces")
    return problems


class VerdaApi:
    """The calls verda_instance needs, each with a timeout, and retries where a repeat is safe."""

    def __init__(self, client_id, client_secret, base_url=DEFAULT_BASE_URL, *, timeout=30, retries=3,
                 retry_delay=2.0, sleep=time.sleep):
        self.timeout = timeout
        self.retries = retries
        self.retry_delay = retry_delay
        self.sleep = sleep
        self.retried = 0
        base_url = base_url.rstrip("/")
        auth = TimedAuthentication(client_id, client_secret, base_url, timeout)
        self.http = self.with_retries("log in", lambda: HTTPClient(auth, base_url))

    def with_retries(self, what, call):
        """Run call, repeating it after transient failures with exponential backoff."""
        for attempt in range(self.retries + 1):
            try:
                return call()
            except (APIException, requests.RequestException, ValueError) as error:
                if not is_transient(error) or attempt == self.retries:
                    raise VerdaError(f"Verda API call to {what} failed: {describe(error)}") from error
                self.retried += 1
                self.sleep(self.retry_delay * 2 ** attempt)
        raise AssertionError("unreachable")

    def get(self, what, path, params=None, path_params=None):
        return self.with_retries(what, lambda: self.http.get(path, params, path_params=path_params,
                                                             timeout=self.timeout).json())

    # --- reads ------------------------------------------------------------------------------------------

    def instance_types(self):
        return self.get("list instance types", "/instance-types", {"currency": "usd"})

    def locations(self):
        return self.get("list locations", "/locations")

    def availability(self, is_spot, location_code=None):
        params = {"isSpot": str(bool(is_spot)).lower(), "location_code": location_code}
        return self.get("list availability", "/instance-availability", params)

    def instances(self):
        return self.get("list instances", "/instances")

    def instance(self, instance_id):
        """Return the instance, or None when the API no longer knows it."""
        try:
            return self.get(f"get instance {instance_id}", "/instances/{id}", path_params={"id": instance_id})
        except VerdaError as error:
            if is_not_found(error.__cause__):
                return None
            raise

    def volumes(self):
        return self.get("list volumes", "/volumes")

    def trash(self):
        return self.get("list volumes in the trash", "/volumes/trash")

    def scripts(self):
        return self.get("list startup scripts", "/scripts")

    def find_instances(self, hostname):
        return [item for item in self.instances()
                if item.get("hostname") == hostname and item.get("status") not in GONE_STATUSES]

    # --- changes ----------------------------------------------------------------------------------------

    def create_instance(self, payload):
        """Deploy an instance and return its id, without ever deploying the same hostname twice."""
        for attempt in range(self.retries + 1):
            try:
                response = self.http.post("/instances", json=payload, timeout=self.timeout)
                return response.text.strip().strip('"')
            except (APIException, requests.RequestException, ValueError) as error:
                if not is_transient(error) or attempt == self.retries:
                    raise VerdaError(f"Verda API call to create instance {payload['hostname']} failed: "
                                     f"{describe(error)}") from error
                self.retried += 1
                self.sleep(self.retry_delay * 2 ** attempt)
                # The request may have been carried out although its answer was lost, so look before resending.
                # NOTE: an instance that shows up in the list only after this look can still be deployed twice.
                existing = self.find_instances(payload["hostname"])
                if existing:
                    return existing[0]["id"]
        raise AssertionError("unreachable")

    def delete_instance(self, instance_id, volume_ids):
        """Delete an instance and the given volumes permanently; return False if it was gone already."""
        payload = {"id": [instance_id], "action": "delete", "volume_ids": volume_ids or None}
        if volume_ids:
            payload["delete_permanently"] = True
        try:
            self.with_retries(f"delete instance {instance_id}",
                              lambda: self.http.put("/instances", json=payload, timeout=self.timeout))
        except VerdaError as error:
            if is_already_deleted(error.__cause__):
                return False
            raise
        return True

    def delete_volume(self, volume_id):
        """Delete a detached or trashed volume permanently; return False if it was gone already."""
        try:
            self.with_retries(f"delete volume {volume_id}",
                              lambda: self.http.delete("/volumes/{id}", json={"is_permanent": True},
                                                       path_params={"id": volume_id}, timeout=self.timeout))
        except VerdaError as error:
            if is_not_found(error.__cause__):
                return False
            raise
        return True

    def create_script(self, name, script):
        return self.with_retries(f"create startup script {name}",
                                 lambda: self.http.post("/scripts", json={"name": name, "script": script},
                                                        timeout=self.timeout).text.strip().strip('"'))

    def delete_script(self, script_id):
        try:
            self.with_retries(f"delete startup script {script_id}",
                              lambda: self.http.delete("/scripts/{id}", path_params={"id": script_id},
                                                       timeout=self.timeout))
        except VerdaError as error:
            if not is_not_found(error.__cause__):
                raise

    def wait_for(self, instance_id, done, timeout, interval=5.0, clock=time.monotonic):
        """Poll an instance until done(instance) is true; return the last instance seen (None once gone)."""
        deadline = clock() + timeout
        delay = min(0.5, interval)
        while True:
            instance = self.instance(instance_id)
            if done(instance):
                return instance, True
            if clock() >= deadline:
                return instance, False
            self.sleep(min(delay, max(0.0, deadline - clock())))
            delay = min(delay * 2, interval)
