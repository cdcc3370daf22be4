"""export-my-data: everything stored about the caller, as one JSON file to save (DESIGN §13).

The profile, photos (with fresh URLs), the parties they host or co-host with their guest
lists, their invites, blocks, invite links, devices (platform and date), calendar link and
notifications; other people only as {id, handle, display_name}. Each section is bounded
(docs/api/accounts.md); `truncated` names any that was cut."""

from realm import errors
from realm.accounts import export
from realm.edge.api_models import ExportOut
from realm.edge.auth import Caller
from realm.edge.http import Reply, endpoint


@endpoint(
    "GET",
    summary="Download everything stored about you (a JSON attachment)",
    response=ExportOut,
    headers=("Content-Disposition",),
    errors=(errors.SignupRequired,),
)
def export_my_data(caller: Caller) -> Reply:
    document = export.export(caller.uid)
    name = export.filename(document.exported_at)
    return Reply(
        200,
        ExportOut.model_validate(document),
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
