# The floor for the edge benchmark (`cargo xtask bench`): the same workerd, serving what no
# Stockline code runs in. `hello` answers a fixed body from the Worker; `object` forwards every
# request to one JavaScript Durable Object, which answers a fixed JSON body; for a POST it first
# writes one row to its SQLite storage on local disk, as Stockline's objects do. The benchmark
# passes the directory (--directory-path=floor-storage=…) and drives these at Stockline's rates.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "hello", worker = .hello),
    (name = "object", worker = .object),
    (name = "floor-storage", disk = (writable = true)),
  ],
  sockets = [
    (name = "hello", address = "127.0.0.1:0", http = (), service = "hello"),
    (name = "object", address = "127.0.0.1:0", http = (), service = "object"),
  ],
);

const hello :Workerd.Worker = (
  compatibilityDate = "2026-11-01",
  modules = [(name = "hello.mjs", esModule = embed "hello.mjs")],
);

const object :Workerd.Worker = (
  compatibilityDate = "2026-11-01",
  modules = [(name = "object.mjs", esModule = embed "object.mjs")],
  durableObjectNamespaces = [
    (className = "Fixed", uniqueKey = "stockline-bench-floor-v1", enableSql = true),
  ],
  durableObjectStorage = (localDisk = "floor-storage"),
  bindings = [(name = "FIXED", durableObjectNamespace = "Fixed")],
);
