// The benchmark floor: a Worker that forwards to a Durable Object named by the path, which
// answers a fixed JSON body (tests/bench/floor.capnp). A POST first writes one row to the
// object's SQLite storage, so the answer waits for a durable write as a reservation's does.
import { DurableObject } from "cloudflare:workers";

const BODY = JSON.stringify({ sku: "SKU-000", on_hand: 1000000, reserved: 0, available: 999999 });

export class Fixed extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS writes (seq INTEGER PRIMARY KEY, body TEXT NOT NULL)");
  }

  async fetch(request) {
    if (request.method === "POST") {
      this.ctx.storage.sql.exec("INSERT INTO writes (body) VALUES (?)", await request.text());
    }
    return new Response(BODY, { headers: { "content-type": "application/json" } });
  }
}

export default {
  async fetch(request, env) {
    const name = new URL(request.url).pathname;
    return env.FIXED.get(env.FIXED.idFromName(name)).fetch(request);
  },
};
