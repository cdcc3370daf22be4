// A sample app-side client of the Realm API: every operation, through openapi-fetch and the
// types openapi-typescript generates from shared/realm/openapi.json (generate.mjs). It is never
// run, only type-checked with `tsc --strict` by make test (tests/clients): when the document
// changes in a way that breaks an app written against it, this stops compiling.
//
// The lines marked @ts-expect-error are deliberate misuses: tsc fails if any of them compiles.
import createClient from "openapi-fetch";

import type { components, paths } from "./.generated/api";

type Party = components["schemas"]["PartyOut"];
type User = components["schemas"]["UserOut"];

export function realm(baseUrl: string, token: () => Promise<string>) {
  const client = createClient<paths>({ baseUrl });
  client.use({
    async onRequest({ request }) {
      request.headers.set("Authorization", `Bearer ${await token()}`);
      return request;
    },
  });
  return client;
}

type Client = ReturnType<typeof realm>;

// multipart/form-data: openapi-fetch sends a FormData the app builds from the typed fields.
function form(fields: Record<string, string | Blob | null | undefined>): FormData {
  const data = new FormData();
  for (const [name, value] of Object.entries(fields)) {
    if (value !== null && value !== undefined) {
      data.append(name, value);
    }
  }
  return data;
}

export async function signUp(client: Client, photo: Blob): Promise<User> {
  // Only the required fields: handle and phone are optional for a generated client.
  const minimal = await client.POST("/signup", {
    body: { display_name: "Zoe", email: "zoe@example.org" },
    bodySerializer: form,
  });
  if (minimal.data) {
    return minimal.data;
  }
  const { data, error, response } = await client.POST("/signup", {
    body: { display_name: "Zoe", email: "zoe@example.org", phone: "+4915112345678", photo },
    bodySerializer: form,
  });
  if (error) {
    // The codes signup can answer, per status, as a union the compiler checks.
    switch (error.error.code) {
      case "already_signed_up":
      case "email_taken":
      case "handle_taken":
        throw new Error(error.error.message);
      case "rate_limited":
      case "unavailable":
        throw new Error(`retry after ${response.headers.get("Retry-After")} s`);
      default:
        throw new Error(`${response.status} ${error.error.code}`);
    }
  }
  return data;
}

export async function me(client: Client): Promise<string | null> {
  const { data } = await client.GET("/me");
  if (!data) {
    return null;
  }
  const urls = data.photo?.urls;
  // The three sizes are typed, "512" and "128" included.
  return urls ? `${urls.display} ${urls["512"]} ${urls["128"]}` : data.handle;
}

export async function uploadPhoto(client: Client, photo: Blob, base64: string) {
  const asJson = await client.POST("/photo-upload", { body: { image_base64: base64 } });
  const asForm = await client.POST("/photo-upload", { body: { photo }, bodySerializer: form });
  return [asJson.data?.photo_id, asForm.data?.status];
}

export async function hostAndInvite(client: Client, guestId: number): Promise<Party | undefined> {
  // Only flat and first_entry are required; title, description and capacity may be left out.
  const party = await client.POST("/create-party", {
    body: { flat: "FUTUREPARTY1", first_entry: "2030-06-01T20:00:00+02:00" },
  });
  if (!party.data) {
    return undefined;
  }
  const invite = await client.POST("/create-invite", {
    body: { party_id: party.data.id, guest_id: guestId },
  });
  if (invite.error?.error.code === "already_invited") {
    console.log("invited before");
  }
  const details = invite.error?.error.details.map((d) => `${d.field ?? "body"}: ${d.message}`);
  console.log(details);
  return party.data;
}

export async function answer(client: Client, partyId: number) {
  const { data } = await client.POST("/respond-invite", {
    body: { party_id: partyId, response: "confirmed" },
  });
  return data?.status;
}

export async function upcoming(client: Client): Promise<Party[]> {
  const parties: Party[] = [];
  let cursor: string | undefined;
  do {
    const { data } = await client.GET("/list-parties", {
      params: { query: cursor ? { view: "invited", cursor } : { view: "invited", limit: 50 } },
    });
    if (!data) {
      break;
    }
    parties.push(...data.parties);
    cursor = data.next_cursor ?? undefined;
  } while (cursor);
  return parties;
}

export async function hostTheParty(client: Client, partyId: number, friendId: number) {
  const party = await client.GET("/get-party", { params: { query: { party_id: partyId } } });
  if (party.data?.my_role === "guest") {
    // Guests see the confirmed list only when the host made it visible.
    const confirmed = await client.GET("/list-guests", {
      params: { query: { party_id: partyId, status: "confirmed" } },
    });
    return confirmed.data?.guests.map((g) => g.user.handle);
  }
  // Only the fields sent change; capacity null removes the limit.
  await client.POST("/update-party", {
    body: { party_id: partyId, first_entry: "2030-06-02T21:00:00+02:00", capacity: null },
  });
  const cohost = await client.POST("/add-cohost", { body: { party_id: partyId, user_id: friendId } });
  console.log(cohost.data?.user.display_name);
  await client.POST("/remove-cohost", { body: { party_id: partyId, user_id: friendId } });
  const guests = await client.GET("/list-guests", {
    params: { query: { party_id: partyId, limit: 100 } },
  });
  const waiting = guests.data?.guests.filter((g) => g.status === "waitlisted") ?? [];
  if (waiting.length > 0) {
    await client.POST("/remove-guest", {
      body: { party_id: partyId, guest_id: waiting[0].user.id },
    });
  }
  const cancelled = await client.POST("/cancel-party", { body: { party_id: partyId } });
  return cancelled.data?.cancelled_at;
}

export async function subscribeToCalendar(client: Client): Promise<string | undefined> {
  const { data } = await client.POST("/calendar-link");
  // Calendar apps fetch the URL themselves, without a Firebase token: the secret is in it.
  return data?.url.replace(/^https:/, "webcal:");
}

export async function calendarFeed(client: Client, token: string): Promise<string | undefined> {
  const { data } = await client.GET("/calendar", {
    params: { query: { token } },
    parseAs: "text",
  });
  return data;
}

export async function findFriends(client: Client, phones: string[]) {
  // Search by a prefix of a handle or of any word of a name, accents and case ignored.
  const found = await client.GET("/find-users", { params: { query: { q: "zoe", limit: 20 } } });
  const first = found.data?.users[0];
  // Numbers from the address book: only people who chose to be found by phone come back.
  const matched = await client.POST("/match-contacts", { body: { phones } });
  if (matched.error?.error.code === "rate_limited") {
    return [];
  }
  const friends = matched.data?.users.map((u) => `${u.handle} ${u.phone}`) ?? [];
  if (first) {
    await client.POST("/block-user", { body: { user_id: first.id } });
    await client.POST("/unblock-user", { body: { user_id: first.id } });
  }
  return friends;
}

export async function editProfile(client: Client) {
  // Only the fields sent change.
  const { data, error } = await client.POST("/update-profile", {
    body: { handle: "zoe.m", discoverable_by_phone: true },
  });
  return error?.error.code === "handle_taken" ? null : data?.handle;
}

export async function shareParty(client: Client, partyId: number) {
  const link = await client.POST("/create-invite-link", {
    body: { party_id: partyId, max_uses: 10 },
    params: { header: { "Idempotency-Key": crypto.randomUUID() } },
  });
  if (!link.data) {
    return undefined;
  }
  // The friend's app opens the link as a deep link and joins with its token.
  const joined = await client.POST("/join-party", { body: { token: link.data.token } });
  if (joined.error?.error.code === "link_not_found") {
    console.log("expired, revoked, used up, or never a link");
  }
  await client.POST("/revoke-invite-link", { body: { link_id: link.data.link_id } });
  return joined.data?.status;
}

export async function inviteByHandle(client: Client, partyId: number) {
  const { data } = await client.POST("/create-invite", {
    body: { party_id: partyId, handle: "zoe.m" },
  });
  return data?.guest_id;
}

export async function pushAndReadState(client: Client, fcmToken: string, seen: string[]) {
  // On every start of the app, and when Firebase Messaging hands out a new token.
  await client.POST("/register-device", { body: { token: fcmToken, platform: "ios" } });
  // The notifications screen: the ones on screen, or everything.
  const some = await client.POST("/mark-notifications-read", { body: { ids: seen } });
  const all = await client.POST("/mark-notifications-read", { body: { all: true } });
  // On sign-out, so that this phone stops receiving the user's pushes.
  await client.POST("/unregister-device", { body: { token: fcmToken } });
  return (some.data?.updated ?? 0) + (all.data?.updated ?? 0);
}

export async function takeMyDataAndLeave(client: Client) {
  // The export is a JSON attachment: save it under the name the server gives.
  const exported = await client.GET("/export-my-data");
  const disposition = exported.response.headers.get("Content-Disposition") ?? "";
  const guests = exported.data?.parties.flatMap((p) => p.guests.map((g) => g.user.handle)) ?? [];
  if (exported.data?.truncated.includes("guests")) {
    console.log("the newest parties' guest lists only: list-guests has the rest");
  }
  // Deleting needs the person's words: anything else is 422 confirmation_mismatch.
  const deleted = await client.POST("/delete-account", {
    body: { confirm: "delete my account" },
  });
  if (deleted.response.status === 202) {
    // From now on this token gets 403 signup_required: sign out.
    console.log(`${deleted.data?.parties_cancelled ?? 0} parties cancelled`);
  }
  return { disposition, guests };
}

export async function misuses(client: Client) {
  // @ts-expect-error deleting an account needs its confirmation
  await client.POST("/delete-account", { body: {} });
  // @ts-expect-error a device is an ios, android or web one
  await client.POST("/register-device", { body: { token: "t", platform: "windows" } });
  // @ts-expect-error match-contacts takes a list of numbers
  await client.POST("/match-contacts", { body: { phones: "+4915112345678" } });
  // @ts-expect-error max_plus_ones is a number of plus-ones, not a yes or no
  await client.POST("/update-party", { body: { party_id: 1, max_plus_ones: true } });
  // @ts-expect-error flat is required to create a party
  await client.POST("/create-party", { body: { first_entry: "2030-06-01T20:00:00Z" } });
  // @ts-expect-error "maybe" is not an answer to an invite
  await client.POST("/respond-invite", { body: { party_id: 1, response: "maybe" } });
  // @ts-expect-error view is one of invited, confirmed, hosting
  await client.GET("/list-parties", { params: { query: { view: "all" } } });
  // @ts-expect-error the multipart photo is a file, not a string
  await client.POST("/photo-upload", { body: { photo: "not a file" }, bodySerializer: form });
  // @ts-expect-error there is no such operation
  await client.GET("/parties");
}
