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
