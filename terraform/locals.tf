locals {
  name_prefix = "realm-${var.environment}"
  dist_dir    = coalesce(var.dist_dir, "${path.module}/../dist")
  labels = {
    app         = "realm"
    environment = var.environment
    managed-by  = "terraform"
  }

  # Every folder in functions/ is one entry here (tests/infra checks the two stay in sync).
  # The key is the folder and the entry point; the deployed name is the key with "-" for "_".
  #
  #   trigger       "http": private HTTP function; behind the gateway when public = true,
  #                 called by Cloud Scheduler otherwise (relay_outbox).
  #                 "pubsub": CloudEvent function fed by a push subscription per topic in
  #                 `subscribes` (pubsub.tf), retried with backoff, then dead-lettered.
  #   db            "write" | "read" | "none": an IAM database user is created unless "none";
  #                 the migrate step grants it SELECT only ("read") or DML ("write").
  #   publishes     topics it may publish to (roles/pubsub.publisher on each topic only).
  #   bucket_roles  roles on the media bucket only. Uploads need objectUser: they delete the
  #                 original again when the transaction that records it fails. A signed URL
  #                 reads as its signer, so every function that signs one can view objects.
  #   signs_urls    signs V4 URLs with IAM signBlob as itself (token creator on its own SA).
  #   firestore     writes notification documents.
  #   max_instances, concurrency, pool_size: see the connection budget below.
  #
  # notify_guest serves two topics. It is deployed once and fed by two push subscriptions
  # (invite-created, invite-responded) rather than as two Eventarc-triggered copies: a
  # subscription we own carries the dead-letter topic and a bounded retry policy, which an
  # Eventarc-managed subscription does not let terraform set, and one deployment means one
  # archive, one service account and one place to look at logs. The Functions Framework turns
  # a Pub/Sub push request into the same CloudEvent an Eventarc trigger delivers, provided the
  # entry point is declared with @functions_framework.cloud_event (checked by tests/infra).
  functions = {
    signup = {
      trigger       = "http", public = true, db = "write", publishes = ["photo-uploaded"], subscribes = []
      bucket_roles  = ["roles/storage.objectUser"], signs_urls = true, firestore = false
      max_instances = 3, concurrency = 4, pool_size = 1, memory = "512Mi", timeout = 60
    }
    photo_upload = {
      trigger       = "http", public = true, db = "write", publishes = ["photo-uploaded"], subscribes = []
      bucket_roles  = ["roles/storage.objectUser"], signs_urls = true, firestore = false
      max_instances = 3, concurrency = 4, pool_size = 1, memory = "512Mi", timeout = 60
    }
    create_party = {
      trigger       = "http", public = true, db = "write", publishes = [], subscribes = []
      bucket_roles  = ["roles/storage.objectViewer"], signs_urls = true, firestore = false
      max_instances = 3, concurrency = 8, pool_size = 1, memory = "512Mi", timeout = 30
    }
    create_invite = {
      trigger       = "http", public = true, db = "write", publishes = ["invite-created"], subscribes = []
      bucket_roles  = [], signs_urls = false, firestore = false
      max_instances = 5, concurrency = 8, pool_size = 2, memory = "512Mi", timeout = 30
    }
    respond_invite = {
      trigger       = "http", public = true, db = "write", publishes = ["invite-responded", "waitlist-promoted"], subscribes = []
      bucket_roles  = [], signs_urls = false, firestore = false
      max_instances = 5, concurrency = 8, pool_size = 2, memory = "512Mi", timeout = 30
    }
    list_parties = {
      trigger       = "http", public = true, db = "read", publishes = [], subscribes = []
      bucket_roles  = ["roles/storage.objectViewer"], signs_urls = true, firestore = false
      max_instances = 10, concurrency = 16, pool_size = 4, memory = "512Mi", timeout = 30
    }
    me = {
      trigger       = "http", public = true, db = "read", publishes = [], subscribes = []
      bucket_roles  = ["roles/storage.objectViewer"], signs_urls = true, firestore = false
      max_instances = 8, concurrency = 8, pool_size = 2, memory = "512Mi", timeout = 30
    }
    relay_outbox = {
      trigger       = "http", public = false, db = "write", publishes = ["invite-created", "invite-responded", "photo-uploaded", "party-updated", "party-cancelled", "waitlist-promoted", "cohost-added", "party-reminder", "account-deleted"], subscribes = []
      bucket_roles  = [], signs_urls = false, firestore = false
      max_instances = 1, concurrency = 1, pool_size = 1, memory = "512Mi", timeout = 120
    }
    # notify_guest keeps each recipient's progress of a party event in PostgreSQL
    # (realm.events.fanout): one connection per instance, held only between Firestore writes.
    notify_guest = {
      trigger       = "pubsub", public = false, db = "write", publishes = [], subscribes = ["invite-created", "invite-responded", "party-updated", "party-cancelled", "waitlist-promoted", "cohost-added", "party-reminder"]
      bucket_roles  = [], signs_urls = false, firestore = true
      max_instances = 10, concurrency = 8, pool_size = 1, memory = "512Mi", timeout = 60
    }
    # Hosting (DESIGN section 11). Reads pool 2; writes are rarer and pool 1.
    get_party = {
      trigger       = "http", public = true, db = "read", publishes = [], subscribes = []
      bucket_roles  = ["roles/storage.objectViewer"], signs_urls = true, firestore = false
      max_instances = 4, concurrency = 8, pool_size = 2, memory = "512Mi", timeout = 30
    }
    list_guests = {
      trigger       = "http", public = true, db = "read", publishes = [], subscribes = []
      bucket_roles  = ["roles/storage.objectViewer"], signs_urls = true, firestore = false
      max_instances = 3, concurrency = 8, pool_size = 2, memory = "512Mi", timeout = 30
    }
    update_party = {
      trigger       = "http", public = true, db = "write", publishes = ["party-updated", "waitlist-promoted"], subscribes = []
      bucket_roles  = ["roles/storage.objectViewer"], signs_urls = true, firestore = false
      max_instances = 2, concurrency = 4, pool_size = 1, memory = "512Mi", timeout = 30
    }
    cancel_party = {
      trigger       = "http", public = true, db = "write", publishes = ["party-cancelled"], subscribes = []
      bucket_roles  = ["roles/storage.objectViewer"], signs_urls = true, firestore = false
      max_instances = 2, concurrency = 4, pool_size = 1, memory = "512Mi", timeout = 30
    }
    add_cohost = {
      trigger       = "http", public = true, db = "write", publishes = ["cohost-added"], subscribes = []
      bucket_roles  = ["roles/storage.objectViewer"], signs_urls = true, firestore = false
      max_instances = 2, concurrency = 4, pool_size = 1, memory = "512Mi", timeout = 30
    }
    remove_cohost = {
      trigger       = "http", public = true, db = "write", publishes = [], subscribes = []
      bucket_roles  = ["roles/storage.objectViewer"], signs_urls = true, firestore = false
      max_instances = 2, concurrency = 4, pool_size = 1, memory = "512Mi", timeout = 30
    }
    remove_guest = {
      trigger       = "http", public = true, db = "write", publishes = ["waitlist-promoted"], subscribes = []
      bucket_roles  = [], signs_urls = false, firestore = false
      max_instances = 2, concurrency = 4, pool_size = 1, memory = "512Mi", timeout = 30
    }
    calendar_link = {
      trigger       = "http", public = true, db = "write", publishes = [], subscribes = []
      bucket_roles  = [], signs_urls = false, firestore = false
      max_instances = 2, concurrency = 4, pool_size = 1, memory = "512Mi", timeout = 30
    }
    # Public, but without a Firebase token: the gateway routes it with security: [] (the
    # secret in its URL is the credential; deploy/gateway.py).
    calendar = {
      trigger       = "http", public = true, db = "read", publishes = [], subscribes = []
      bucket_roles  = [], signs_urls = false, firestore = false
      max_instances = 3, concurrency = 8, pool_size = 1, memory = "512Mi", timeout = 30
    }
    # Called by Cloud Scheduler every 15 minutes (scheduler.tf), like relay_outbox.
    send_reminders = {
      trigger       = "http", public = false, db = "write", publishes = ["party-reminder"], subscribes = []
      bucket_roles  = [], signs_urls = false, firestore = false
      max_instances = 1, concurrency = 1, pool_size = 1, memory = "512Mi", timeout = 120
    }
    # People (DESIGN §12). Writes pool 1 (a request holds one connection, briefly); the rarely
    # used ones (links, blocks) scale to 2 instances, find_users (a read path) to 5 with pool 2.
    update_profile = {
      trigger       = "http", public = true, db = "write", publishes = [], subscribes = []
      bucket_roles  = ["roles/storage.objectViewer"], signs_urls = true, firestore = false
      max_instances = 3, concurrency = 8, pool_size = 1, memory = "512Mi", timeout = 30
    }
    find_users = {
      trigger       = "http", public = true, db = "read", publishes = [], subscribes = []
      bucket_roles  = ["roles/storage.objectViewer"], signs_urls = true, firestore = false
      max_instances = 5, concurrency = 16, pool_size = 2, memory = "512Mi", timeout = 30
    }
    match_contacts = {
      trigger       = "http", public = true, db = "write", publishes = [], subscribes = []
      bucket_roles  = ["roles/storage.objectViewer"], signs_urls = true, firestore = false
      max_instances = 3, concurrency = 8, pool_size = 1, memory = "512Mi", timeout = 30
    }
    create_invite_link = {
      trigger       = "http", public = true, db = "write", publishes = [], subscribes = []
      bucket_roles  = [], signs_urls = false, firestore = false
      max_instances = 2, concurrency = 8, pool_size = 1, memory = "512Mi", timeout = 30
    }
    join_party = {
      trigger       = "http", public = true, db = "write", publishes = ["invite-created"], subscribes = []
      bucket_roles  = [], signs_urls = false, firestore = false
      max_instances = 3, concurrency = 8, pool_size = 2, memory = "512Mi", timeout = 30
    }
    revoke_invite_link = {
      trigger       = "http", public = true, db = "write", publishes = [], subscribes = []
      bucket_roles  = [], signs_urls = false, firestore = false
      max_instances = 2, concurrency = 8, pool_size = 1, memory = "512Mi", timeout = 30
    }
    block_user = {
      trigger       = "http", public = true, db = "write", publishes = [], subscribes = []
      bucket_roles  = [], signs_urls = false, firestore = false
      max_instances = 2, concurrency = 8, pool_size = 1, memory = "512Mi", timeout = 30
    }
    unblock_user = {
      trigger       = "http", public = true, db = "write", publishes = [], subscribes = []
      bucket_roles  = [], signs_urls = false, firestore = false
      max_instances = 2, concurrency = 8, pool_size = 1, memory = "512Mi", timeout = 30
    }
    make_thumbnail = {
      trigger       = "pubsub", public = false, db = "write", publishes = [], subscribes = ["photo-uploaded"]
      bucket_roles  = ["roles/storage.objectUser"], signs_urls = false, firestore = false
      max_instances = 5, concurrency = 1, pool_size = 1, memory = "2Gi", timeout = 300
    }
    # Accounts and devices (issue 10). Devices are written once per app start: small pools.
    # mark_notifications_read writes only the caller's Firestore feed: no database.
    register_device = {
      trigger       = "http", public = true, db = "write", publishes = [], subscribes = []
      bucket_roles  = [], signs_urls = false, firestore = false
      max_instances = 3, concurrency = 8, pool_size = 1, memory = "512Mi", timeout = 30
    }
    unregister_device = {
      trigger       = "http", public = true, db = "write", publishes = [], subscribes = []
      bucket_roles  = [], signs_urls = false, firestore = false
      max_instances = 2, concurrency = 8, pool_size = 1, memory = "512Mi", timeout = 30
    }
    mark_notifications_read = {
      trigger       = "http", public = true, db = "none", publishes = [], subscribes = []
      bucket_roles  = [], signs_urls = false, firestore = true
      max_instances = 3, concurrency = 8, pool_size = 1, memory = "512Mi", timeout = 30
    }
    # Deleting an account and exporting one's data: rare, so 2 instances of pool 1 each.
    # delete_account's one transaction cancels the parties (party-cancelled, and the promotions
    # of the waitlists it frees: waitlist-promoted) and writes account-deleted.
    delete_account = {
      trigger       = "http", public = true, db = "write", publishes = ["account-deleted", "party-cancelled", "waitlist-promoted"], subscribes = []
      bucket_roles  = [], signs_urls = false, firestore = false
      max_instances = 2, concurrency = 4, pool_size = 1, memory = "512Mi", timeout = 60
    }
    # Reads the caller's feed (roles/datastore.viewer: local.firestore_readers) and signs their
    # photos' URLs; a read transaction, then no connection while Firestore and IAM answer.
    export_my_data = {
      trigger       = "http", public = true, db = "read", publishes = [], subscribes = []
      bucket_roles  = ["roles/storage.objectViewer"], signs_urls = true, firestore = false
      max_instances = 2, concurrency = 4, pool_size = 1, memory = "512Mi", timeout = 60
    }
    # The erasure of a deleted account: its photo objects (local.media_erasers: list and
    # delete only), Firestore documents (firestore), the Firebase Auth account
    # (local.auth_user_deleters). Progress is kept in PostgreSQL.
    erase_account = {
      trigger       = "pubsub", public = false, db = "write", publishes = [], subscribes = ["account-deleted"]
      bucket_roles  = [], signs_urls = false, firestore = true
      max_instances = 2, concurrency = 1, pool_size = 1, memory = "512Mi", timeout = 300
    }
  }

  # Functions that delete Firebase Auth users (Identity Toolkit accounts:delete) as their own
  # identity: the custom role auth_user_deleter in iam.tf, and nothing else of Firebase Auth.
  auth_user_deleters = toset(["erase_account"])
  # Functions that delete media objects without writing any (a custom role on the media
  # bucket: storage.objects.list and storage.objects.delete).
  media_erasers = toset(["erase_account"])
  # Functions that read Firestore documents without writing any (roles/datastore.viewer).
  firestore_readers = toset(["export_my_data"])

  # Functions that send push notifications through FCM HTTP v1 as their own identity (the
  # custom role fcm_sender in iam.tf). notify_guest records what it sent in PostgreSQL
  # (push_deliveries), so it is a "write" database function since issue 10.
  push_senders = toset(["notify_guest"])

  # Connection budget. Each instance of a function holds at most pool_size connections
  # (REALM_DB_POOL_SIZE), so at full scale-out the functions hold
  #
  #   sum over db functions of max_instances x pool_size
  #     signup 3x1=3, photo_upload 3x1=3, create_party 3x1=3, create_invite 5x2=10,
  #     respond_invite 5x2=10, list_parties 10x4=40, me 8x2=16, relay_outbox 1x1=1,
  #     make_thumbnail 5x1=5, notify_guest 10x1=10,
  #     get_party 4x2=8, list_guests 3x2=6, update_party 2x1=2, cancel_party 2x1=2,
  #     add_cohost 2x1=2, remove_cohost 2x1=2, remove_guest 2x1=2, calendar_link 2x1=2,
  #     calendar 3x1=3, send_reminders 1x1=1,
  #     update_profile 3x1=3, find_users 5x2=10, match_contacts 3x1=3,
  #     create_invite_link 2x1=2, join_party 3x2=6, revoke_invite_link 2x1=2,
  #     block_user 2x1=2, unblock_user 2x1=2,
  #     register_device 3x1=3, unregister_device 2x1=2   (mark_notifications_read: no database)
  #     delete_account 2x1=2, export_my_data 2x1=2, erase_account 2x1=2
  #   = 172 connections
  #
  # which must stay within max_connections (200, a database flag in sql.tf) minus the reserved
  # 20 (superuser_reserved_connections and Cloud SQL maintenance, the migrate step, an operator):
  # 172 <= 180. A precondition on the instance refuses a plan that breaks this, and
  # tests/infra recomputes it. Requests beyond that wait at the instance limit (Cloud Run queues
  # them briefly, then answers 429) instead of exhausting PostgreSQL's connections, which would
  # fail every function at once. pool_size <= concurrency: a request holds one connection at most.
  db_functions          = { for k, f in local.functions : k => f if f.db != "none" }
  db_connections_needed = sum([for f in values(local.db_functions) : f.max_instances * f.pool_size])
  db_connections_budget = var.db_max_connections - var.db_reserved_connections

  # One topic per event type (realm.events.outbox.TOPICS); each gets a dead-letter topic.
  topics = toset([
    "invite-created", "invite-responded", "photo-uploaded",
    "party-updated", "party-cancelled", "waitlist-promoted", "cohost-added", "party-reminder",
    "account-deleted",
  ])

  # (function, topic) pairs of the push subscriptions, keyed "<deployed-name>--<topic>".
  subscriptions = merge([
    for k, f in local.functions : {
      for t in f.subscribes : "${replace(k, "_", "-")}--${t}" => { function = k, topic = t }
    }
  ]...)

  publisher_bindings = merge([
    for k, f in local.functions : { for t in f.publishes : "${k}--${t}" => { function = k, topic = t } }
  ]...)

  bucket_bindings = merge([
    for k, f in local.functions : { for r in f.bucket_roles : "${k}--${r}" => { function = k, role = r } }
  ]...)

  # The IAM database user of a service account is its email without ".gserviceaccount.com".
  db_user = { for k, sa in google_service_account.function : k => trimsuffix(sa.email, ".gserviceaccount.com") }
}
