/** @module http/constitutions: the four constitutions and their expected signatures. */
import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../env";
import { notFound } from "../lib/errors";
import { constitutions, getConstitution, signatureSimilarity } from "../suites/constitutions";
import { AnyObject, errors, IdParam, json } from "./schemas";

const listRoute = createRoute({ method: "get", path: "/v1/constitutions", responses: { 200: json(AnyObject, "Constitutions with signatures and their similarity matrix") } });
const readRoute = createRoute({ method: "get", path: "/v1/constitutions/{id}", request: { params: IdParam }, responses: { 200: json(AnyObject, "One constitution"), ...errors } });

export const constitutionRoutes = new OpenAPIHono<AppEnv>()
  .openapi(listRoute, (c) =>
    c.json(
      {
        constitutions: [...constitutions().values()].map((k) => ({ id: k.id, title: k.title, version: k.version, principles: k.principles.length, signature: k.signature })),
        similarity: signatureSimilarity(),
      },
      200,
    ),
  )
  .openapi(readRoute, (c) => {
    const k = getConstitution(c.req.valid("param").id);
    if (!k) throw notFound("constitution", c.req.valid("param").id);
    return c.json(k, 200);
  });
