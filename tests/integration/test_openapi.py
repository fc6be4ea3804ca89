"""GET /api/v1/openapi.json: an OpenAPI 3 document that describes exactly
the routes api.fcgi serves (read here from the route table in
cgi-bin/api.c, not from the program), with every reference resolving and
every path parameter declared."""

import os
import re

from common import check_security_headers, kiln_version
from harness import ROOT

STACK = dict(server="lighttpd", daemon=False)


def api_routes():
    with open(os.path.join(ROOT, "cgi-bin", "api.c")) as f:
        src = f.read()
    table = src[src.index("routes[] = {"):src.index("};")]
    return {(m.lower(), p) for m, p in
            re.findall(r'\{\s*M_([A-Z]+),\s*"([^"]+)"', table)}


def refs(node):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref":
                yield v
            else:
                yield from refs(v)
    elif isinstance(node, list):
        for v in node:
            yield from refs(v)


def test_document_matches_the_route_table(s):
    r = s.get("/api/v1/openapi.json")
    assert r.status == 200, r.text[:300]
    assert r.headers["content-type"] == "application/json"
    check_security_headers(r, "/api/v1/openapi.json")
    doc = r.json()
    assert doc["openapi"].startswith("3.0.")
    assert doc["info"]["version"] == kiln_version()
    documented = {(m, p) for p, ops in doc["paths"].items() for m in ops
                  if m in ("get", "post", "put", "patch", "delete")}
    routes = api_routes()
    assert len(routes) >= 15, routes
    assert documented - routes == set(), "documented, not served: %s" % \
        sorted(documented - routes)
    assert routes - documented == set(), "served, not documented: %s" % \
        sorted(routes - documented)
    schemes = doc["components"]["securitySchemes"]
    for path, ops in doc["paths"].items():
        names = set(re.findall(r"\{([^}]+)\}", path))
        for method, op in ops.items():
            declared = {p["name"] for p in op.get("parameters", [])
                        if p["in"] == "path"}
            assert declared == names, (method, path, declared)
            assert op["responses"], (method, path)
            for req in op.get("security", []):
                assert set(req) <= set(schemes), (method, path, req)
    for ref in set(refs(doc)):
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.split("/")[-1] in doc["components"]["schemas"], ref


def test_documented_key_scopes_are_the_route_tables(s):
    # The scopes an API key needs, as api.c's table requires them (e.g.
    # sharing: read and generate).
    with open(os.path.join(ROOT, "cgi-bin", "api.c")) as f:
        src = f.read()
    table = src[src.index("routes[] = {"):src.index("};")]
    doc = s.get("/api/v1/openapi.json").json()
    rows = re.findall(r'\{\s*M_([A-Z]+),\s*"([^"]+)",\s*\w+,\s*ACC_(\w+),'
                      r'\s*([^}]+?)\s*\}', table)
    # Both patterns finding nothing would compare nothing.
    assert len(rows) >= 15 and len(rows) == len(api_routes()), rows
    for method, path, access, scope in rows:
        want = sorted(x.lower() for x in re.findall(r"SCOPE_(\w+)", scope))
        op = doc["paths"][path][method.lower()]
        keys = [sorted(r["apiKey"]) for r in op.get("security", [])
                if "apiKey" in r]
        if access == "PUBLIC":
            assert keys == [], (method, path, keys)
        else:
            assert keys == [want], (method, path, keys, want)


def test_documented_job_fields_are_the_accepted_ones(s):
    # The job request schema names exactly the fields the API takes: an
    # unknown one is refused, every documented one is not "unknown".
    import base64
    import hashlib
    import json
    doc = s.get("/api/v1/openapi.json").json()
    fields = doc["components"]["schemas"]["JobRequest"]["properties"]
    s.sql("INSERT INTO users (username, password_hash) VALUES ('oa', 'x')")
    key = "kiln_" + base64.urlsafe_b64encode(os.urandom(32)).decode()[:43]
    s.sql("INSERT INTO api_keys (user_id, name, prefix, key_hash, scopes)"
          " SELECT id, 'k', '%s', '%s', 'read,generate' FROM users WHERE"
          " username = 'oa'" % (key[:13],
                                hashlib.sha256(key.encode()).hexdigest()))
    body = {name: None for name in fields}
    body["bogus_field"] = 1
    r = s.request("POST", "/api/v1/jobs", body=json.dumps(body),
                  headers={"Authorization": "Bearer " + key,
                           "Content-Type": "application/json"})
    assert r.status == 400, r.text
    bad = r.json()["error"]["fields"]
    assert bad.get("bogus_field") == "unknown field", bad
    unknown = [k for k, v in bad.items() if v == "unknown field"]
    assert unknown == ["bogus_field"], bad
