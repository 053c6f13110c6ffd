"""What only the dynamic face has, through the SDK's real provider host against the emulator: the scenarios both
faces share are tests/faces'.

`secret_configuration`: the dynamic provider's own flag for a configuration the program made secret (its inputs
reach the provider host unwrapped); the package gets Pulumi's secret marker instead (tests/unit/test_package_face.py
`test_a_secret_configuration_is_never_quoted_in_messages`).
"""

from __future__ import annotations

import re

import pytest

from .conftest import CONFIG, Deployment, Failed


# secrets (provider_plugin.go `annotateSecrets` re-marks outputs, but never the provider's messages)

def test_a_secret_configuration_is_never_quoted(deployment: Deployment, emulator):
    secret_parent = re.sub(r"ParentImage: \S+", "ParentImage: my-private-parent-image", CONFIG)
    assert secret_parent != CONFIG
    with pytest.raises(Failed) as local:
        deployment.preview(deployment.program(secret_parent, secret_configuration=True))
    assert "Build.ParentImage" in str(local.value) and "my-private-parent-image" not in str(local.value)

    secret_type = CONFIG.replace("c6i.xlarge", "secret-machine-type")
    with pytest.raises(Failed) as remote:
        deployment.preview(deployment.program(secret_type, secret_configuration=True))
    assert "InstanceTypeBaseAMICompatibleValidator (ERROR)" in str(remote.value)
    assert "secret-machine-type" not in str(remote.value)

    with pytest.raises(Failed) as yaml_error:
        deployment.preview(deployment.program("Build: [secret-token-value", secret_configuration=True))
    assert "is not valid YAML at line" in str(yaml_error.value) and "secret-token-value" not in str(yaml_error.value)
    assert "secret-machine-type" not in deployment.host.stderr_text()
