"""Two toy files; the second's content is the first's computed path, so a preview cannot know it."""

import pulumi

from tests.support.toyprovider import ToyFile

config = pulumi.Config("toy")
directory = config.require("directory")
greeting = ToyFile("greeting", directory=directory, file_name=config.get("fileName") or "hello.txt",
                   content=config.get("content") or "hello", fail=config.get("fail"))
echo = ToyFile("echo", directory=directory, file_name="echo.txt", content=greeting.path)
pulumi.export("path", greeting.path)
pulumi.export("size", greeting.size)
pulumi.export("summary", pulumi.Output.concat(greeting.banner, ":", greeting.content))
pulumi.export("echoed", echo.content)
pulumi.export("token", pulumi.Output.secret("s3cr3t"))
