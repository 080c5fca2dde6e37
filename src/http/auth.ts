/** @module http/auth: the bearer admin key. Writes and raw answers need it; aggregate reports do not. */
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";
import { safeEqual } from "../lib/crypto";
import { ApiError } from "../lib/errors";

/** Sets `isAdmin` from `Authorization: Bearer <ADMIN_API_KEY>`; a wrong key is a 401, not anonymous. */
export const identify = createMiddleware<AppEnv>(async (c, next) => {
  // Webhooks and signed dataset links carry their own signatures; a provider's own Authorization header is
  // not an attempt at the admin key, so it is ignored there.
  const path = new URL(c.req.url).pathname;
  const signedRoute = path.startsWith("/v1/webhooks/") || /^\/v1\/datasets\/[^/]+\/file$/.test(path);
  const header = signedRoute ? undefined : c.req.header("authorization");
  let isAdmin = false;
  if (header) {
    const m = /^Bearer\s+(.+)$/i.exec(header);
    if (!m || !c.env.ADMIN_API_KEY || !(await safeEqual(m[1].trim(), c.env.ADMIN_API_KEY))) {
      throw new ApiError("unauthorized", "invalid bearer token");
    }
    isAdmin = true;
  }
  c.set("isAdmin", isAdmin);
  await next();
});

/** Rejects anonymous callers. */
export const requireAdmin = createMiddleware<AppEnv>(async (c, next) => {
  if (!c.get("isAdmin")) throw new ApiError("unauthorized", "this needs the admin API key (Authorization: Bearer ...)");
  await next();
});
