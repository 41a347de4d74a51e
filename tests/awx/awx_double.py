"""A loopback stand-in for the AWX API v2, with only the endpoints that the awx.awx modules in
playbooks/awx_configure.yml call.

It keeps objects in memory, so a second run of the playbook finds what the first one created. It checks what
AWX would reject and a test should catch: unknown foreign keys, duplicate names, credential types whose
injectors name undefined inputs, invalid survey specs. Secret credential inputs are returned as `$encrypted$`,
as AWX does. Every request needs `Authorization: Bearer <token>`; there is no username/password login.

Run it by hand with `python tests/awx/awx_double.py`; it prints the URL and reads the token from the
environment variable CONTROLLER_OAUTH_TOKEN.
"""

import contextlib
import json
import os
import re
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

API_PREFIX = "/api/v2/"
AWX_VERSION = "24.6.1"
ENCRYPTED = "$encrypted$"
# Collection name -> AWX `type` of its objects.
OBJECT_TYPES = {
    "organizations": "organization",
    "execution_environments": "execution_environment",
    "projects": "project",
    "project_updates": "project_update",
    "credential_types": "credential_type",
    "credentials": "credential",
    "inventories": "inventory",
    "inventory_sources": "inventory_source",
    "job_templates": "job_template",
    "schedules": "schedule",
}
# Fields that hold the id of another object, and the collection that object must be in.
FOREIGN_KEYS = {
    "organization": "organizations",
    "project": "projects",
    "source_project": "projects",
    "inventory": "inventories",
    "credential_type": "credential_types",
    "execution_environment": "execution_environments",
    "default_environment": "execution_environments",
    "unified_job_template": "job_templates",
}
# Sub-collections of ids that the modules associate and disassociate, per collection.
ASSOCIATIONS = {
    "job_templates": ("credentials", "labels", "instance_groups", "notification_templates_started",
                      "notification_templates_success", "notification_templates_error"),
    "projects": ("notification_templates_started", "notification_templates_success", "notification_templates_error"),
    "inventories": ("instance_groups", "input_inventories"),
    "inventory_sources": ("notification_templates_started", "notification_templates_success",
                          "notification_templates_error"),
    "organizations": ("instance_groups", "galaxy_credentials", "notification_templates_started",
                      "notification_templates_success", "notification_templates_error",
                      "notification_templates_approvals"),
    "schedules": ("credentials", "labels", "instance_groups"),
}
SURVEY_TYPES = {"text", "textarea", "password", "integer", "float", "multiplechoice", "multiselect"}
INJECTOR_NAME = re.compile(r"{{\s*([A-Za-z_][A-Za-z0-9_.]*)\s*}}")


class ApiError(Exception):
    """An error response: HTTP status and JSON body."""

    def __init__(self, status, body):
        super().__init__(status, body)
        self.status = status
        self.body = body


class AwxState:
    """The objects of one AWX instance, with the validation AWX applies on create and update."""

    def __init__(self):
        self.lock = threading.Lock()
        self.objects = {collection: {} for collection in OBJECT_TYPES}
        self.associations = {}
        self.surveys = {}
        self.next_id = 1
        # AWX ships with the organization "Default".
        self.create("organizations", {"name": "Default", "description": ""})

    def url(self, collection, object_id):
        return f"{API_PREFIX}{collection}/{object_id}/"

    def create(self, collection, fields):
        self.validate(collection, fields, None)
        object_id = self.next_id
        self.next_id += 1
        item = dict(fields, id=object_id, type=OBJECT_TYPES[collection], url=self.url(collection, object_id))
        item["related"] = self.related_links(collection, object_id)
        item["summary_fields"] = {}
        if collection == "projects":
            self.start_project_update(item)
        self.objects[collection][object_id] = item
        return item

    def update(self, collection, object_id, fields):
        item = self.get(collection, object_id)
        self.validate(collection, fields, object_id)
        item.update(fields)
        if collection == "projects":
            self.start_project_update(item)
        return item

    def get(self, collection, object_id):
        item = self.objects.get(collection, {}).get(object_id)
        if item is None:
            raise ApiError(404, {"detail": "Not found."})
        return item

    def related_links(self, collection, object_id):
        base = self.url(collection, object_id)
        links = {name: base + name + "/" for name in ASSOCIATIONS.get(collection, ())}
        if collection == "job_templates":
            links["survey_spec"] = base + "survey_spec/"
        if collection == "projects":
            links["update"] = base + "update/"
        return links

    def start_project_update(self, project):
        # AWX syncs a project when it is created or its source changes; the modules wait for that update.
        update = self.create("project_updates", {"name": project["name"], "status": "successful", "failed": False,
                                                 "finished": True, "event_processing_finished": True})
        project["scm_revision"] = "0" * 40
        project["summary_fields"] = {"current_update": {"id": update["id"], "status": "successful"}}

    def validate(self, collection, fields, object_id):
        name = fields.get("name")
        if object_id is None and not name:
            raise ApiError(400, {"name": ["This field is required."]})
        for field, target in FOREIGN_KEYS.items():
            if fields.get(field) not in (None, "") and fields[field] not in self.objects[target]:
                raise ApiError(400, {field: [f'Invalid pk "{fields[field]}" - object does not exist.']})
        if name:
            self.reject_duplicate_name(collection, fields, object_id)
        if collection == "credential_types":
            check_injectors(fields.get("inputs") or {}, fields.get("injectors") or {})

    def reject_duplicate_name(self, collection, fields, object_id):
        scope = "inventory" if collection == "inventory_sources" else "organization"
        for other in self.objects[collection].values():
            if other["id"] == object_id or other.get("name") != fields["name"]:
                continue
            if other.get(scope) == fields.get(scope, other.get(scope)):
                message = f"{OBJECT_TYPES[collection]} with this Name and {scope} already exists."
                raise ApiError(400, {"__all__": [message]})

    def public_view(self, collection, item):
        """Return the object as the API shows it: secret credential inputs replaced by $encrypted$."""
        if collection != "credentials":
            return item
        credential_type = self.objects["credential_types"].get(item.get("credential_type"), {})
        secret_ids = {field["id"] for field in (credential_type.get("inputs") or {}).get("fields", [])
                      if field.get("secret")}
        inputs = {key: (ENCRYPTED if key in secret_ids and value else value)
                  for key, value in (item.get("inputs") or {}).items()}
        return dict(item, inputs=inputs)

    def search(self, collection, query):
        """Filter a collection like AWX's list endpoints: exact field matches, `or__` terms ORed together."""
        or_terms = {key[4:]: value for key, value in query.items() if key.startswith("or__")}
        exact = {key: value for key, value in query.items() if not key.startswith("or__") and key != "page_size"}
        matches = []
        for item in self.collection_items(collection):
            if not all(str(item.get(key)) == value for key, value in exact.items()):
                continue
            if or_terms and not any(str(item.get(key)) == value for key, value in or_terms.items()):
                continue
            matches.append(item)
        return matches

    def collection_items(self, collection):
        if collection == "unified_job_templates":
            return [item for name in ("job_templates", "projects", "inventory_sources")
                    for item in self.objects[name].values()]
        return list(self.objects[collection].values())

    def associated(self, collection, object_id, relation):
        return self.associations.setdefault((collection, object_id, relation), [])

    def set_survey(self, object_id, spec):
        check_survey(spec)
        self.surveys[object_id] = spec


def check_injectors(inputs, injectors):
    """Reject injector templates that name an input the credential type does not define."""
    defined = {field["id"] for field in inputs.get("fields", [])}
    file_templates = {key.split(".", 1)[1] for key in (injectors.get("file") or {}) if key.startswith("template")}
    for section in ("env", "extra_vars", "file"):
        for template in (injectors.get(section) or {}).values():
            for variable in INJECTOR_NAME.findall(str(template)):
                if variable in defined:
                    continue
                if variable.startswith("tower.filename.") and variable.split(".", 2)[2] in file_templates:
                    continue
                raise ApiError(400, {"injectors": [f"{section} uses an undefined field ({variable})"]})


def check_survey(spec):
    for key in ("name", "description", "spec"):
        if key not in spec:
            raise ApiError(400, {"error": f"'{key}' missing from survey spec."})
    for index, question in enumerate(spec["spec"]):
        for key in ("question_name", "variable", "type", "required"):
            if key not in question:
                raise ApiError(400, {"error": f"'{key}' missing from survey question {index}."})
        if question["type"] not in SURVEY_TYPES:
            raise ApiError(400, {"error": "'{}' in survey question {} is not a valid question type.".format(
                question["type"], index)})
        if question["type"] in ("multiplechoice", "multiselect") and not question.get("choices"):
            raise ApiError(400, {"error": "Survey question {} of type {} has no choices.".format(
                index, question["type"])})


class AwxHandler(BaseHTTPRequestHandler):
    server_version = "awx-double"

    def log_message(self, format, *args):  # noqa: A002  (the base class's signature)
        pass

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_PATCH(self):
        self.dispatch("PATCH")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def dispatch(self, method):
        double = self.server.double
        request_url = urlsplit(self.path)
        path, query = request_url.path, request_url.query
        double.requests.append((method, path))
        try:
            if self.headers.get("Authorization") != "Bearer " + double.token:
                raise ApiError(401, {"detail": "Authentication credentials were not provided."})
            body = self.read_body()
            with double.state.lock:
                status, response_body = route(double.state, method, path, dict(parse_qsl(query)), body)
        except ApiError as error:
            status, response_body = error.status, error.body
        self.send_json(status, response_body)

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        if not length:
            return {}
        try:
            return json.loads(self.rfile.read(length))
        except ValueError as error:
            raise ApiError(400, {"detail": f"JSON parse error - {error}"}) from error

    def send_json(self, status, response_body):
        payload = b"" if response_body is None else json.dumps(response_body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("X-API-Product-Name", "AWX")
        self.send_header("X-API-Product-Version", AWX_VERSION)
        self.end_headers()
        self.wfile.write(payload)


def route(state, method, path, query, body):
    """Handle one request; return (HTTP status, JSON body or None)."""
    if not path.startswith(API_PREFIX):
        raise ApiError(404, {"detail": "Not found."})
    parts = [part for part in path[len(API_PREFIX):].split("/") if part]
    collection = parts[0] if parts else ""
    if collection not in OBJECT_TYPES and collection != "unified_job_templates":
        raise ApiError(404, {"detail": "Not found."})
    if len(parts) == 1:
        return route_collection(state, method, collection, query, body)
    object_id = int(parts[1]) if parts[1].isdigit() else -1
    if len(parts) == 2:
        return route_object(state, method, collection, object_id, body)
    if len(parts) == 3:
        return route_relation(state, method, (collection, object_id, parts[2]), body)
    raise ApiError(404, {"detail": "Not found."})


def route_collection(state, method, collection, query, body):
    if method == "GET":
        items = [state.public_view(collection, item) for item in state.search(collection, query)]
        return 200, {"count": len(items), "next": None, "previous": None, "results": items}
    if method == "POST" and collection in OBJECT_TYPES:
        return 201, state.public_view(collection, state.create(collection, body))
    raise ApiError(405, {"detail": f'Method "{method}" not allowed.'})


def route_object(state, method, collection, object_id, body):
    if method == "GET":
        return 200, state.public_view(collection, state.get(collection, object_id))
    if method == "PATCH":
        return 200, state.public_view(collection, state.update(collection, object_id, body))
    if method == "DELETE":
        state.get(collection, object_id)
        del state.objects[collection][object_id]
        return 204, None
    raise ApiError(405, {"detail": f'Method "{method}" not allowed.'})


def route_relation(state, method, target, body):
    collection, object_id, relation = target
    state.get(collection, object_id)
    if collection == "job_templates" and relation == "survey_spec":
        return route_survey(state, method, object_id, body)
    if relation not in ASSOCIATIONS.get(collection, ()):
        raise ApiError(404, {"detail": "Not found."})
    ids = state.associated(collection, object_id, relation)
    if method == "GET":
        results = [{"id": associated_id} for associated_id in ids]
        return 200, {"count": len(results), "next": None, "previous": None, "results": results}
    if method == "POST":
        associated_id = int(body["id"])
        if body.get("disassociate"):
            ids.remove(associated_id)
        elif associated_id not in ids:
            ids.append(associated_id)
        return 204, None
    raise ApiError(405, {"detail": f'Method "{method}" not allowed.'})


def route_survey(state, method, object_id, body):
    if method == "GET":
        return 200, state.surveys.get(object_id, {})
    if method == "POST":
        state.set_survey(object_id, body)
        return 200, None
    if method == "DELETE":
        state.surveys.pop(object_id, None)
        return 200, None
    raise ApiError(405, {"detail": f'Method "{method}" not allowed.'})


class AwxDouble:
    """The HTTP server on 127.0.0.1 with an ephemeral port; use as a context manager."""

    def __init__(self, token=None):
        self.token = token or secrets.token_hex(16)
        self.state = AwxState()
        self.requests = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), AwxHandler)
        self.server.double = self
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc_info):
        self.server.shutdown()
        self.server.server_close()

    def find(self, collection, name):
        """Return the stored object called `name` (as the API shows it), or None."""
        for item in self.state.objects[collection].values():
            if item.get("name") == name:
                return self.state.public_view(collection, item)
        return None

    def associated_names(self, collection, object_id, relation, target):
        ids = self.state.associated(collection, object_id, relation)
        return sorted(self.state.objects[target][associated_id]["name"] for associated_id in ids)


def main():
    token = os.environ.get("CONTROLLER_OAUTH_TOKEN")
    if not token:
        raise SystemExit("Set CONTROLLER_OAUTH_TOKEN to the token the double should accept.")
    with AwxDouble(token) as double:
        print(f"AWX API double listening on {double.url}; stop it with Ctrl-C", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            double.thread.join()


if __name__ == "__main__":
    main()
