// The benchmark floor: a Worker that forwards to a Durable Object named by the path, which
// answers a fixed JSON body (tests/bench/floor.capnp). A POST first writes one row to the
// object's SQLite storage, so the answer waits for a durable write as a reservation's does.
// `POST /fan/{n}` writes its body to n objects at once: the floor of a 100-line receipt.
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

/// At most this many objects one fan-out writes to.
const FAN_MAX = 1000;

export default {
  async fetch(request, env) {
    const name = new URL(request.url).pathname;
    const fan = /^\/fan\/(\d+)$/.exec(name);
    if (fan && request.method === "POST") {
      // A 100-line receipt's floor: the request's body written to each of N objects, side by
      // side, as Purchasing sends a receipt's lines to their SKUs; answered when all have.
      const n = Number(fan[1]);
      if (!(n >= 1 && n <= FAN_MAX)) return new Response(`1..=${FAN_MAX} objects`, { status: 400 });
      const body = await request.text();
      const writes = Array.from({ length: n }, (_, i) =>
        env.FIXED.get(env.FIXED.idFromName(`/fan-${i}`))
          .fetch("https://floor/", { method: "POST", body })
          .then((answer) => answer.text()),
      );
      await Promise.all(writes);
      return new Response(JSON.stringify({ written: n }), { headers: { "content-type": "application/json" } });
    }
    return env.FIXED.get(env.FIXED.idFromName(name)).fetch(request);
  },
};
