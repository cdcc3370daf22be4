"""unregister-device: the app stops push to this installation (at sign-out). Idempotent."""

from realm import db, errors
from realm.accounts import devices
from realm.edge.api_models import DeviceRemovedOut, UnregisterDeviceRequest
from realm.edge.auth import Caller
from realm.edge.http import Reply, endpoint


@endpoint(
    "POST",
    summary="Stop push notifications to this installation",
    body=UnregisterDeviceRequest,
    response=DeviceRemovedOut,
    errors=(errors.SignupRequired,),
)
def unregister_device(caller: Caller, body: UnregisterDeviceRequest) -> Reply:
    with db.transaction() as tx:
        removed = devices.unregister(tx, caller.uid, body.token)
    return Reply(200, DeviceRemovedOut(removed=removed))
