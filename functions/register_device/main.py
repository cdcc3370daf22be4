"""register-device: the app registers its FCM token for the caller (at every start, and
whenever FCM gives it a new one). Idempotent; at most ten devices per user, the oldest goes."""

from realm import db, errors
from realm.accounts import devices
from realm.edge.api_models import DeviceOut, RegisterDeviceRequest
from realm.edge.auth import Caller
from realm.edge.http import Reply, endpoint


@endpoint(
    "POST",
    summary="Register this installation's FCM token for push notifications",
    body=RegisterDeviceRequest,
    response=DeviceOut,
    errors=(errors.SignupRequired, errors.RateLimited),
)
def register_device(caller: Caller, body: RegisterDeviceRequest) -> Reply:
    with db.transaction() as tx:
        device = devices.register(tx, caller.uid, body.token, body.platform)
    return Reply(200, DeviceOut.model_validate(device))
