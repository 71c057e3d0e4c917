"""api/openapi.json as a checker: which operation a request is, and whether
a request body and a response are what the document says (python3-jsonschema,
Draft 2020-12, OpenAPI 3.1's schema dialect).

As a program it checks recorded HTTP exchanges (tests/e2e/http_client.cc
writes one line per exchange: method, then path, request body, status,
content type and response body, each base64):

  /usr/bin/python3 api/openapi_check.py api/openapi.json EXCHANGES

Every response must be one the document gives for its operation; a request
blimpd accepted (2xx) must be one the document allows. Exit status 1 with
the problems listed, 0 if there are none.
"""
import base64
import json
import re
import sys
from typing import Any, Dict, List, Optional

import jsonschema

METHODS = ("get", "put", "patch", "post", "delete")


class Document:
    """api/openapi.json: operations by method and path, and validation."""

    def __init__(self, text: str) -> None:
        self.doc = json.loads(text)
        self.resolver = jsonschema.RefResolver.from_schema(self.doc)

    def resolve(self, node: Dict[str, Any]) -> Dict[str, Any]:
        """`node` with its $ref (if any) replaced by the target's fields."""
        if "$ref" not in node:
            return node
        _, target = self.resolver.resolve(node["$ref"])
        return {**self.resolve(target), **{k: v for k, v in node.items() if k != "$ref"}}

    def operations(self):
        """(method, path template, operation) for every operation."""
        for template, item in self.doc["paths"].items():
            item = self.resolve(item)
            for method in METHODS:
                if method in item:
                    yield method.upper(), template, item[method]

    def operation(self, method: str, path: str) -> Optional[Dict[str, Any]]:
        """The operation for `method` on `path`; None if the path is
        documented with other methods only (405)."""
        path_known = False
        for op_method, template, operation in self.operations():
            pattern = "^" + re.sub(r"\\{[a-z_]+\\}", "[^/]+", re.escape(template)) + "$"
            if re.match(pattern, path):
                if op_method == method:
                    return operation
                path_known = True
        if path_known:
            return None
        raise AssertionError(f"{path} is not in the document")

    def errors(self, schema: Dict[str, Any], value: Any):
        validator = jsonschema.Draft202012Validator(schema, resolver=self.resolver)
        return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
                for e in validator.iter_errors(value)]

    def request_errors(self, operation: Dict[str, Any], body: Optional[Any]):
        """Why `body` is not a valid request for `operation` ([] if it is)."""
        request = self.resolve(operation.get("requestBody", {}))
        if body is None:
            return ["a request body is required"] if request.get("required") else []
        if not request:
            return ["this operation takes no body"]
        return self.errors(request["content"]["application/json"]["schema"], body)

    def response_errors(self, operation: Dict[str, Any], status: int, content_type: str,
                        body: bytes):
        responses = operation["responses"]
        response = self.resolve(responses.get(str(status)) or responses.get("default") or {})
        if not response:
            return [f"status {status} is not documented"]
        content = response.get("content")
        if not content:
            return [] if body == b"" else [f"status {status} has no body, got {body[:200]!r}"]
        media = content_type.split(";")[0].strip()
        if media not in content:
            return [f"content type {content_type!r} is not one of {sorted(content)}"]
        value = json.loads(body) if media == "application/json" else body.decode()
        return self.errors(content[media]["schema"], value)


def exchange_problems(doc: Document, method: str, path: str, request: bytes, status: int,
                      content_type: str, response: bytes) -> List[str]:
    """What is wrong with one exchange ([] if nothing)."""
    path = path.split("?", 1)[0]
    error = {"responses": {"default": {"$ref": "#/components/responses/Error"}}}
    try:
        operation = doc.operation(method, path)
    except AssertionError:  # Not a documented path: refused with the error body.
        return [] if status in (400, 404) and not doc.response_errors(
            error, status, content_type, response) else [f"undocumented path answered {status}"]
    if operation is None:
        return [] if status == 405 else [f"undocumented method answered {status}"]
    try:
        problems = doc.response_errors(operation, status, content_type, response)
    except (ValueError, UnicodeDecodeError) as e:
        problems = [f"response body does not parse: {e}"]
    if 200 <= status < 300:
        try:
            body = json.loads(request) if request else None
            problems += [f"accepted request: {p}" for p in doc.request_errors(operation, body)]
        except ValueError:
            problems.append(f"accepted a request that is not JSON: {request[:100]!r}")
    return problems


def main(argv: List[str]) -> int:
    with open(argv[1]) as f:
        doc = Document(f.read())
    problems = []
    count = 0
    with open(argv[2]) as f:
        for number, line in enumerate(f, 1):
            fields = line.rstrip("\n").split(" ")
            if len(fields) != 6:
                problems.append(f"line {number}: not an exchange record")
                continue
            method, path, request, status, content_type, response = (
                base64.b64decode(field) for field in fields)
            count += 1
            for problem in exchange_problems(doc, method.decode(), path.decode(), request,
                                             int(status), content_type.decode(), response):
                problems.append(f"{method.decode()} {path.decode()} -> {int(status)}: {problem}")
    for problem in problems:
        print(problem)
    print(f"openapi_check: {count} exchanges, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
