"""iter_images follows nextToken to the end, and refuses to loop forever on a token that comes back."""

from __future__ import annotations

import pytest

from pulumi_pcimage import errors
from tests.client.server import IMAGE, Reply


def page(ids, token=None):
    body = {"images": [{**IMAGE, "imageId": i, "imageBuildStatus": "BUILD_FAILED"} for i in ids]}
    return Reply(200, {**body, "nextToken": token} if token else body)


def test_iter_images_walks_every_page(client, server):
    server.script(page(["a1", "a2"], "t1"), page([], "t2"), page(["a3"], "t3/+="), page(["a4", "a5"]))
    assert [image["imageId"] for image in client.iter_images("FAILED", region="us-east-2")] == [
        "a1", "a2", "a3", "a4", "a5"]
    assert [dict(seen.query).get("nextToken") for seen in server.seen] == [None, "t1", "t2", "t3/+="]
    assert all(dict(seen.query)["imageStatus"] == "FAILED" and dict(seen.query)["region"] == "us-east-2"
               for seen in server.seen)


def test_iter_images_is_lazy(client, server):
    server.script(page(["a1"], "t1"), page(["a2"]))
    images = client.iter_images("PENDING")
    assert next(images)["imageId"] == "a1" and len(server.seen) == 1


def test_a_repeated_token_stops_the_walk(client, server):
    server.script(page(["a1"], "t1"), page(["a2"], "t2"), page(["a3"], "t1"))
    images = client.iter_images("FAILED")
    with pytest.raises(errors.UnexpectedResponseError) as raised:
        for _ in images:
            pass
    assert str(raised.value) == "list_images: nextToken 't1' came back twice: the API's pagination loops"
    assert len(server.seen) == 3


def test_one_page_at_a_time(client, server):
    server.script(page(["a1"], "more"))
    assert client.list_images("AVAILABLE")["nextToken"] == "more" and len(server.seen) == 1
