/**
 * The model call (providers/openai.ts, plain fetch since issue 15) against a local HTTP server: what it sends, and
 * how it reads each kind of answer the openai SDK used to read for it (errors worded as the SDK worded them).
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callChat, chatCompletionsUrl, providerErrorMessage } from "../../src/providers/openai";

type Reply = { status: number; headers?: Record<string, string>; body: string; delayMs?: number };
let reply: Reply;
let seen: { url: string; headers: IncomingMessage["headers"]; body: Record<string, unknown> } | null = null;
let server: Server;
let baseUrl: string;

const completion = {
  id: "c1",
  object: "chat.completion",
  created: 0,
  model: "m",
  choices: [{ index: 0, finish_reason: "stop", message: { role: "assistant", content: [{ type: "text", text: "Yes" }] } }],
};

beforeAll(async () => {
  server = createServer((req, res) => {
    let raw = "";
    req.on("data", (c) => (raw += c));
    req.on("end", () => {
      seen = { url: req.url ?? "", headers: req.headers, body: JSON.parse(raw) };
      setTimeout(() => {
        res.writeHead(reply.status, { "content-type": "application/json", ...reply.headers });
        res.end(reply.body);
      }, reply.delayMs ?? 0);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const target = (extra?: Record<string, string>) => ({ baseUrl, model: "m-1", apiKey: "sk-test-0123456789abcdef", headers: extra });
const ask = (extra?: Record<string, string>, timeoutMs = 2000) =>
  callChat(target(extra), { messages: [{ role: "user", content: "Hi" }], max_tokens: 1 }, "unit-42", timeoutMs);

describe("callChat over plain fetch", () => {
  it("posts the request with the model, the key, the trace id and the endpoint's extra headers", async () => {
    reply = { status: 200, body: JSON.stringify(completion) };
    const out = await ask({ "CF-Access-Client-Id": "abc.access" });
    expect(out.ok).toBe(true);
    expect(seen!.url).toBe("/v1/chat/completions");
    expect(seen!.body).toEqual({ messages: [{ role: "user", content: "Hi" }], max_tokens: 1, model: "m-1" });
    expect(seen!.headers.authorization).toBe("Bearer sk-test-0123456789abcdef");
    expect(seen!.headers["x-client-request-id"]).toBe("unit-42");
    expect(seen!.headers["cf-access-client-id"]).toBe("abc.access");
    expect(seen!.headers["content-type"]).toBe("application/json");
    if (!out.ok) return;
    // Scorers see the canonical shape; the body is kept as sent.
    expect(out.completion.choices[0].message.content).toBe("Yes");
    expect(out.raw).toEqual(completion);
  });

  it("joins base URLs with and without a trailing slash", () => {
    expect(chatCompletionsUrl("https://api.example.com/v1")).toBe("https://api.example.com/v1/chat/completions");
    expect(chatCompletionsUrl("https://api.example.com/v1/")).toBe("https://api.example.com/v1/chat/completions");
  });

  it("reads a 429 as transient with its Retry-After, and a 400 as final, worded as the SDK worded them", async () => {
    reply = { status: 429, headers: { "retry-after": "7" }, body: JSON.stringify({ error: { message: "Rate limited", type: "rate_limit_error" } }) };
    expect(await ask()).toMatchObject({ ok: false, transient: true, status: 429, retryAfterSeconds: 7, error: "HTTP 429: 429 Rate limited" });
    reply = { status: 400, body: JSON.stringify({ error: { message: "bad request" } }) };
    expect(await ask()).toMatchObject({ ok: false, transient: false, status: 400, retryAfterSeconds: null, error: "HTTP 400: 400 bad request" });
    reply = { status: 503, body: "" };
    expect(await ask()).toMatchObject({ ok: false, transient: true, status: 503, error: "HTTP 503: 503 status code (no body)" });
  });

  it("never keeps the key or an extra header's value in an error", async () => {
    reply = { status: 401, body: JSON.stringify({ error: { message: "Incorrect API key provided: sk-test-0123456789abcdef (token abc.access)" } }) };
    const out = await ask({ "CF-Access-Client-Id": "abc.access" });
    expect(out.ok).toBe(false);
    if (out.ok) return;
    expect(out.error).not.toContain("sk-test-0123456789abcdef");
    expect(out.error).not.toContain("abc.access");
    expect(out.error).toContain("[redacted]");
  });

  it("reads a truncated body or one without choices under a 200 as transient", async () => {
    reply = { status: 200, body: '{"id": "chatcmpl-' };
    expect(await ask()).toMatchObject({ ok: false, transient: true, status: 200, error: expect.stringMatching(/^malformed response: SyntaxError/) });
    reply = { status: 200, body: JSON.stringify({ id: "x" }) };
    expect(await ask()).toMatchObject({ ok: false, transient: true, error: "malformed response: no choices" });
  });

  it("gives up after the timeout, as a transient failure", async () => {
    reply = { status: 200, body: JSON.stringify(completion), delayMs: 500 };
    const out = await ask(undefined, 100);
    expect(out).toMatchObject({ ok: false, transient: true, status: null, error: "timeout after 100 ms" });
    expect(out.latencyMs).toBeLessThan(450);
  });

  it("words provider errors as the openai SDK did", () => {
    expect(providerErrorMessage(500, JSON.stringify({ error: { message: { detail: "x" } } }))).toBe('500 {"detail":"x"}');
    expect(providerErrorMessage(500, JSON.stringify({ error: "boom" }))).toBe('500 "boom"');
    expect(providerErrorMessage(502, "<html>bad gateway</html>")).toBe("502 <html>bad gateway</html>");
    expect(providerErrorMessage(500, JSON.stringify({ detail: "x" }))).toBe("500 status code (no body)");
  });
});
