"""``POST /commit`` (``docker commit``): a container's changes as a new image."""

from __future__ import annotations

from aiohttp import web

from dockyard.api.app import backend, json_response, query_bool
from dockyard.api.bodies import parse_json_body
from dockyard.api.events import Event
from dockyard.api.routes_containers import manager, publish
from dockyard.errors import InvalidParameter
from dockyard.runtime.commit import commit_container


async def commit(request: web.Request) -> web.StreamResponse:
    b = backend(request)
    query = request.query
    ref = query.get("container", "")
    if not ref:
        raise InvalidParameter("no container given: the container query parameter is empty")
    repo, tag = query.get("repo", ""), query.get("tag", "")
    if tag and not repo:
        raise InvalidParameter(f'invalid reference: a tag ("{tag}") needs a repo')
    raw = await request.read()
    # The docker CLI sends "null" when it sets no config.
    config = ({} if raw.strip() in (b"", b"null") else
              parse_json_body(raw, request.headers.get("Content-Type")))
    tags = [f"{repo}:{tag}" if tag else repo] if repo else []
    c, image = await b.run(
        commit_container, manager(b), ref, tags=tags, comment=query.get("comment", ""),
        author=query.get("author", ""), changes=query.getall("changes", []),
        pause=query_bool(request, "pause", True), config=config)
    publish(b, c, "commit", comment=query.get("comment", ""))
    for name in tags:
        b.events.publish(Event("image", "tag", image, {"name": name}))
    return json_response({"Id": image}, 201)


ROUTES = [
    ("POST", "/commit", commit),
]
