# Runs the built worker (edge/build) directly in workerd: the local run and every edge test use it.
# The xtask passes the listening addresses (--socket-addr) and the directories (--directory-path).
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .stockline),
    (name = "do-storage", disk = (writable = true)),
    (name = "web", worker = .web),
    (name = "web-files", disk = (writable = false)),
    # The worker's outbound requests (webhook deliveries, to the URLs configured and nowhere
    # else): locally, receivers on this machine are allowed too.
    (name = "internet", network = (allow = ["public", "private", "local"], tlsOptions = (trustBrowserCas = true))),
  ],
  sockets = [
    (name = "http", address = "127.0.0.1:8787", http = (), service = "main"),
    (name = "web", address = "127.0.0.1:8788", http = (), service = "web"),
  ],
);

# The web app's static files, with content types (../web/serve.mjs).
const web :Workerd.Worker = (
  compatibilityDate = "2026-11-01",
  modules = [(name = "serve.mjs", esModule = embed "../web/serve.mjs")],
  bindings = [(name = "files", service = "web-files"), (name = "api", service = "main")],
);

const stockline :Workerd.Worker = (
  compatibilityDate = "2026-11-01",
  modules = [
    (name = "index.js", esModule = embed "build/index.js"),
    (name = "index_bg.wasm", wasm = embed "build/index_bg.wasm"),
  ],
  durableObjectNamespaces = [
    # Renamed from SkuLedger (wrangler.toml migration v2); the unique key, and so the state, stays.
    (className = "SkuObject", uniqueKey = "stockline-sku-ledger-v1", enableSql = true),
    (className = "Directory", uniqueKey = "stockline-directory-v1", enableSql = true),
    (className = "ReservationCoordinator", uniqueKey = "stockline-coordinator-v1", enableSql = true),
    (className = "Purchasing", uniqueKey = "stockline-purchasing-v1", enableSql = true),
    (className = "Orders", uniqueKey = "stockline-orders-v1", enableSql = true),
    (className = "Feed", uniqueKey = "stockline-feed-v1", enableSql = true),
  ],
  durableObjectStorage = (localDisk = "do-storage"),
  bindings = [
    (name = "SKU_LEDGER", durableObjectNamespace = "SkuObject"),
    (name = "DIRECTORY", durableObjectNamespace = "Directory"),
    (name = "COORDINATOR", durableObjectNamespace = "ReservationCoordinator"),
    (name = "PURCHASING", durableObjectNamespace = "Purchasing"),
    (name = "ORDERS", durableObjectNamespace = "Orders"),
    (name = "FEED", durableObjectNamespace = "Feed"),
    # Local development tokens only; a deployment sets STOCKLINE_TOKENS as a secret. Two approvers
    # with different spend limits (in the approval rules' base currency) try the approval rules.
    (name = "STOCKLINE_TOKENS", text = "[{\"token\":\"dev-storefront\",\"role\":\"storefront\",\"subject\":\"dev-storefront\"},{\"token\":\"dev-warehouse\",\"role\":\"warehouse\",\"subject\":\"dev-warehouse\"},{\"token\":\"dev-buyer\",\"role\":\"buyer\",\"subject\":\"dev-buyer\"},{\"token\":\"dev-approver\",\"role\":\"approver\",\"subject\":\"dev-approver\",\"spend_limit\":\"10000\"},{\"token\":\"dev-approver-2\",\"role\":\"approver\",\"subject\":\"dev-approver-2\",\"spend_limit\":\"100000\"},{\"token\":\"dev-finance\",\"role\":\"finance\",\"subject\":\"dev-finance\"},{\"token\":\"dev-customer-service\",\"role\":\"customer_service\",\"subject\":\"dev-customer-service\"},{\"token\":\"dev-admin\",\"role\":\"admin\",\"subject\":\"dev-admin\"}]"),
  ],
);
