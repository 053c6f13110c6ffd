"""`pulumi-resource-pcimage`, recording the `variables` of the engine's Configure request to the file named by
PCIMAGE_RECORD_CONFIGURE: what the real engine sends, for tests/cli/test_package_face.py."""

import json
import os
import sys

from pulumi_pcimage.package import server


class Recording(server.PcImageProvider):
    async def configure(self, request):
        with open(os.environ["PCIMAGE_RECORD_CONFIGURE"], "w") as out:
            json.dump(dict(request.variables), out)
        return await super().configure(request)


if __name__ == "__main__":
    args = sys.argv[1:]
    server.serve(args, Recording(next((a for a in args if not a.startswith("-")), None)))
