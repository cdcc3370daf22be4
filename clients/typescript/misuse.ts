// Must NOT compile (tests/clients checks that tsc rejects it, and why): create-invite cannot
// answer email_taken, so comparing its error code with it is a type error once the codes are
// an enum per operation. With `code: string` (the document before issue 11) this compiled.
import createClient from "openapi-fetch";

import type { paths } from "./.generated/api";

export async function wrong(): Promise<boolean> {
  const client = createClient<paths>({ baseUrl: "http://127.0.0.1:8080" });
  const { error } = await client.POST("/create-invite", { body: { party_id: 1, guest_id: 2 } });
  return error?.error.code === "email_taken";
}
