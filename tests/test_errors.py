import pytest

from pulumi_pcimage import errors


@pytest.mark.parametrize("status, cls", [
    (400, errors.BadRequestError), (401, errors.AuthError), (403, errors.AuthError),
    (404, errors.NotFoundError), (409, errors.ConflictError), (412, errors.DryrunSucceeded),
    (429, errors.ThrottledError), (500, errors.InternalServiceError), (503, errors.InternalServiceError),
    (418, errors.UnexpectedResponseError),
])
def test_status_maps_to_one_error_class(status, cls):
    assert errors.error_class_for(status) is cls


def test_error_keeps_status_message_and_validation_errors():
    body = {"message": "Invalid", "configurationValidationErrors": [
        {"id": "1", "type": "InstanceTypeValidator", "level": "ERROR", "message": "bad type"}]}
    err = errors.BadRequestError("Invalid", status=400, body=body, operation="build_image")
    assert err.validation_errors[0]["type"] == "InstanceTypeValidator"
    assert str(err) == "build_image: HTTP 400: Invalid"
    assert err.body is body


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_every_error_of_the_provider_side_is_one_of_ours():
    """One base: whoever catches PcImageError catches everything pulumi_pcimage raises about images (the emulator
    and the test harness keep their own errors: they are not about the provider's images)."""
    import importlib
    import pkgutil

    import pulumi_pcimage

    for module in pkgutil.walk_packages(pulumi_pcimage.__path__, "pulumi_pcimage."):
        if not module.name.startswith(("pulumi_pcimage.emulator", "pulumi_pcimage.testing")) \
                and not module.name.endswith("__main__"):
            importlib.import_module(module.name)
    ours = {errors.PcImageError, *_subclasses(errors.PcImageError)}
    strays = sorted(f"{cls.__module__}.{cls.__qualname__}" for cls in _subclasses(Exception)
                    if cls.__module__.startswith("pulumi_pcimage") and cls not in ours
                    and not cls.__module__.startswith(("pulumi_pcimage.emulator", "pulumi_pcimage.testing")))
    assert strays == []


def test_a_configuration_error_is_ours_and_still_a_value_error():
    from pulumi_pcimage import config

    with pytest.raises(errors.PcImageError) as raised:
        config.load("just a string")
    assert isinstance(raised.value, ValueError) and isinstance(raised.value, errors.ConfigError)
    assert config.ConfigError is errors.ConfigError


def test_one_version_everywhere():
    """pulumi_pcimage/_version.py is the one place; pyproject reads it, the package schema repeats it."""
    import json
    import pathlib
    import tomllib

    from pulumi_pcimage import __version__, _version
    from pulumi_pcimage.package import schema

    root = pathlib.Path(__file__).resolve().parent.parent
    project = tomllib.loads((root / "pyproject.toml").read_text())
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "pulumi_pcimage._version.__version__"}
    shipped = json.loads((root / "pulumi_pcimage" / "package" / "plugin" / "schema.json").read_text())
    assert __version__ == _version.__version__ == schema.VERSION == shipped["version"]
