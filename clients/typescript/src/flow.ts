// A storefront's whole journey, typed from the committed OpenAPI document and run against a
// live server: browse, filter, page, product (ETag then 304), guest cart, checkout with an
// Idempotency-Key (and its replay), payment, tracking, account, cart claim, order history,
// consents. Every exchange is written to FACET_EXCHANGES, which the test checks against the
// spec (status declared, body valid, declared headers present).
//
// By hand, in this folder (the test does the same, from the spec path it is given):
//   npm ci
//   npx openapi-typescript ../../openapi/openapi.json --default-non-nullable false \
//     --output generated/schema.d.ts
//   npx tsc
//   FACET_BASE_URL=http://127.0.0.1:8000 FACET_EXCHANGES=out.json node build/flow.js

import { writeFileSync } from "node:fs";
import { randomUUID } from "node:crypto";
import createClient, { type Middleware } from "openapi-fetch";
import type { paths } from "../generated/schema.js";

interface Exchange {
  method: string;
  path: string;
  status: number;
  headers: Record<string, string>;
  set_cookie: string[];
  body: string;
  // The response headers this client relies on: the spec must declare them.
  read_headers: string[];
}

const baseUrl = required("FACET_BASE_URL");
const exchangesFile = required("FACET_EXCHANGES");
const exchanges: Exchange[] = [];
const exchangeOf = new WeakMap<Response, Exchange>();

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === "") {
    throw new Error(`${name} is not set`);
  }
  return value;
}

const recorder: Middleware = {
  async onResponse({ request, response, schemaPath }) {
    const headers: Record<string, string> = {};
    response.headers.forEach((value, name) => {
      headers[name] = value;
    });
    const exchange: Exchange = {
      method: request.method,
      path: schemaPath,
      status: response.status,
      headers,
      set_cookie: response.headers.getSetCookie(),
      body: await response.clone().text(),
      read_headers: [],
    };
    exchanges.push(exchange);
    exchangeOf.set(response, exchange);
    return undefined;
  },
};

function client(headers: Record<string, string> = {}) {
  const api = createClient<paths>({ baseUrl, headers });
  api.use(recorder);
  return api;
}

// One step's outcome: the typed body when the status is the expected one, else the reason.
function expect<T>(
  step: string,
  status: number,
  result: { data?: T; error?: unknown; response: Response },
): T {
  if (result.response.status !== status || result.data === undefined) {
    throw new Error(
      `${step}: expected HTTP ${status}, got ${result.response.status} ${JSON.stringify(result.error)}`,
    );
  }
  return result.data;
}

function check(condition: boolean, message: string): void {
  if (!condition) {
    throw new Error(message);
  }
}

function first<T>(items: readonly T[], what: string): T {
  const [item] = items;
  if (item === undefined) {
    throw new Error(`no ${what}`);
  }
  return item;
}

function header(response: Response, name: string): string {
  exchangeOf.get(response)?.read_headers.push(name);
  const value = response.headers.get(name);
  if (value === null) {
    throw new Error(`${response.url}: no ${name} header`);
  }
  return value;
}

function cookies(response: Response): string[] {
  exchangeOf.get(response)?.read_headers.push("Set-Cookie");
  return response.headers.getSetCookie();
}

const formBody = (body: Record<string, string | null | undefined>): URLSearchParams => {
  const form = new URLSearchParams();
  for (const [name, value] of Object.entries(body)) {
    if (value !== null && value !== undefined) {
      form.set(name, value);
    }
  }
  return form;
};

const address = {
  full_name: "Ada Lovelace",
  line1: "12 St James's Square",
  city: "London",
  postal_code: "SW1Y 4JH",
  country: "GB",
};

async function main(): Promise<void> {
  const guest = client();

  // Browse: the category tree, then a filtered list of one category, two pages of it.
  const categories = expect("list categories", 200, await guest.GET("/v1/categories"));
  const stocked = categories.flatMap((node) => [node, ...node.children]).filter((node) => node.product_count >= 3);
  const category = first(stocked, "category with three products");
  const pageQuery = { category: category.slug, in_stock: true, limit: 2 };
  const page1 = expect("list products", 200, await guest.GET("/v1/products", { params: { query: pageQuery } }));
  check(page1.items.length === 2, `a page of 2 products, got ${page1.items.length}`);
  check(page1.items.every((product) => product.in_stock), "the in_stock filter holds");
  const cursor = page1.next_cursor;
  check(cursor !== null, "a second page is announced");
  const page2 = expect(
    "next product page",
    200,
    await guest.GET("/v1/products", { params: { query: { ...pageQuery, cursor } } }),
  );
  const seen = new Set(page1.items.map((product) => product.id));
  check(page2.items.length > 0 && page2.items.every((product) => !seen.has(product.id)), "page 2 follows page 1");

  // The product, then the same product revalidated with its ETag: 304, no body.
  const summary = first(page1.items, "product");
  const detailed = await guest.GET("/v1/products/{slug}", { params: { path: { slug: summary.slug } } });
  const product = expect("product detail", 200, detailed);
  check(product.slug === summary.slug, "the detail is the product asked for");
  const etag = header(detailed.response, "ETag");
  const revalidated = await guest.GET("/v1/products/{slug}", {
    params: { path: { slug: summary.slug } },
    headers: { "If-None-Match": etag },
  });
  check(revalidated.response.status === 304, `If-None-Match answers 304, got ${revalidated.response.status}`);

  // A guest cart: create, add a line, change its quantity.
  const variant = first(
    product.variants.filter((candidate) => candidate.availability !== "out_of_stock"),
    "variant in stock",
  );
  const created = await guest.POST("/v1/carts");
  const cart = expect("create cart", 201, created);
  check(cookies(created.response).length === 1, "the cart id comes as a cookie too");
  const cartPath = { cart_id: cart.id };
  const added = expect(
    "add item",
    201,
    await guest.POST("/v1/carts/{cart_id}/items", {
      params: { path: cartPath },
      body: { variant_id: variant.id, quantity: 1 },
    }),
  );
  const line = first(added.items, "cart line");
  const updated = expect(
    "update quantity",
    200,
    await guest.PATCH("/v1/carts/{cart_id}/items/{item_id}", {
      params: { path: { ...cartPath, item_id: line.id } },
      body: { quantity: 2 },
    }),
  );
  check(first(updated.items, "cart line").quantity === 2, "the quantity is now 2");
  check(updated.totals.total_minor === 2 * line.unit_price_minor, "the total follows the quantity");

  // Checkout with an Idempotency-Key; the same request again is replayed, not repeated.
  const email = `storefront-${randomUUID()}@example.com`;
  const checkoutRequest = {
    params: { header: { "Idempotency-Key": randomUUID() } },
    body: {
      cart_id: cart.id,
      email,
      phone: "+44 20 7946 0000",
      shipping_address: address,
      is_adult: true,
      marketing_opt_in: false,
    },
  };
  const order = expect("checkout", 201, await guest.POST("/v1/checkout", checkoutRequest));
  const replay = await guest.POST("/v1/checkout", checkoutRequest);
  const replayed = expect("checkout replay", 201, replay);
  check(replayed.id === order.id, "the replay answers the same order");
  check(header(replay.response, "Idempotent-Replayed") === "true", "the replay says so");
  // The stored answer cannot hold the token in clear: a replay issues a fresh one, and only
  // the latest token works.
  const orderToken = replayed.order_token;
  check(orderToken !== null && orderToken !== undefined, "a guest order comes with its token");
  const asBuyer = { headers: { "X-Order-Token": `${orderToken}` } };

  // Pay with the fake processor, then follow the order by token and by number + email.
  const paid = expect(
    "pay",
    200,
    await guest.POST("/v1/orders/{order_id}/payments", {
      params: { path: { order_id: order.id } },
      body: { payment_method: "pm_card_visa" },
      ...asBuyer,
    }),
  );
  check(paid.status === "paid", `the order is paid, not ${paid.status}`);
  const fetched = expect(
    "order by token",
    200,
    await guest.GET("/v1/orders/{order_id}", { params: { path: { order_id: order.id } }, ...asBuyer }),
  );
  check(fetched.number === order.number && fetched.payment.state === paid.payment.state, "the order, paid");
  const tracked = expect(
    "track",
    200,
    await guest.POST("/v1/orders/track", { body: { number: order.number, email: email.toUpperCase() } }),
  );
  check(tracked.status === "paid", "tracking shows the payment");

  // An account: register, log in, who am I.
  const password = `Storefront-${randomUUID()}`;
  const accountEmail = `member-${randomUUID()}@example.com`;
  const account = expect(
    "register",
    201,
    await guest.POST("/v1/accounts", {
      body: {
        email: accountEmail,
        password,
        full_name: "Grace Hopper",
        date_of_birth: "1990-12-09",
        marketing_opt_in: false,
      },
    }),
  );
  const tokens = expect(
    "log in",
    200,
    await guest.POST("/v1/auth/token", {
      body: { grant_type: "password", username: accountEmail, password, scope: "" },
      bodySerializer: formBody,
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
    }),
  );
  const member = client({ Authorization: `Bearer ${tokens.access_token}` });
  const me = expect("me", 200, await member.GET("/v1/me"));
  check(me.id === account.id && me.email === accountEmail, "/v1/me is the new account");

  // A cart filled as a guest is claimed after logging in, then bought: it shows in the history.
  const guestCart = expect("second guest cart", 201, await guest.POST("/v1/carts"));
  expect(
    "add to second cart",
    201,
    await guest.POST("/v1/carts/{cart_id}/items", {
      params: { path: { cart_id: guestCart.id } },
      body: { variant_id: variant.id, quantity: 1 },
    }),
  );
  const claimed = expect("claim cart", 200, await member.POST("/v1/me/cart/claim", { body: { cart_id: guestCart.id } }));
  check(claimed.items.some((item) => item.variant_id === variant.id), "the claimed cart keeps its line");
  const mine = expect("my cart", 200, await member.GET("/v1/me/cart"));
  check(mine.id === claimed.id, "the claimed cart is the account's cart");
  const memberOrder = expect(
    "member checkout",
    201,
    await member.POST("/v1/checkout", {
      params: { header: { "Idempotency-Key": randomUUID() } },
      body: {
        cart_id: claimed.id,
        email: accountEmail,
        phone: "+1 202 555 0143",
        shipping_address: address,
        is_adult: true,
        marketing_opt_in: false,
      },
    }),
  );
  const history = expect("order history", 200, await member.GET("/v1/me/orders", { params: { query: { limit: 10 } } }));
  check(
    history.items.some((summaryRow) => summaryRow.id === memberOrder.id),
    "the order is in the account's history",
  );

  // Consents: read, grant the newsletter, see it granted and recorded.
  const consents = expect("consents", 200, await member.GET("/v1/me/consents"));
  check(consents.every((consent) => !consent.granted), "nothing is granted by default");
  const granted = expect("grant newsletter", 200, await member.PUT("/v1/me/consents", { body: { newsletter: true } }));
  check(
    granted.some((consent) => consent.purpose === "newsletter" && consent.granted),
    "the newsletter consent is granted",
  );
  const consentHistory = expect("consent history", 200, await member.GET("/v1/me/consents/history"));
  check(consentHistory.items.length > 0, "the grant is recorded");
}

main()
  .then(() => {
    writeFileSync(exchangesFile, JSON.stringify(exchanges, null, 1));
    console.log(`storefront flow passed: ${exchanges.length} exchanges`);
  })
  .catch((error: unknown) => {
    writeFileSync(exchangesFile, JSON.stringify(exchanges, null, 1));
    console.error(error);
    process.exitCode = 1;
  });
