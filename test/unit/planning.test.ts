import { describe, expect, it } from "vitest";
import { MAX_RETRY_DELAY_SECONDS, retryDelaySeconds } from "../../src/queue/backoff";
import { planMessages, stratifiedSample } from "../../src/queue/planner";
import { decryptSecret, encryptSecret, safeEqual } from "../../src/lib/crypto";
import { unitId } from "../../src/lib/ids";

const items = Array.from({ length: 100 }, (_, i) => ({ key: `k${i}`, dimension: i < 60 ? "a" : "b", keying: i % 2 ? "yes" : "no", position: i }));

describe("stratified limit", () => {
  it("keeps each (dimension, keying) stratum's share, in suite order, and is not the first N", () => {
    const picked = stratifiedSample(items, 20, 42, "s");
    expect(picked).toHaveLength(20);
    const share = (d: string, k: string) => picked.filter((p) => p.dimension === d && p.keying === k).length;
    expect([share("a", "no"), share("a", "yes"), share("b", "no"), share("b", "yes")]).toEqual([6, 6, 4, 4]);
    expect(picked.map((p) => p.position)).toEqual([...picked.map((p) => p.position)].sort((x, y) => x - y));
    expect(picked.map((p) => p.key)).not.toEqual(items.slice(0, 20).map((p) => p.key));
  });

  it("is reproducible from the seed and changes with it", () => {
    expect(stratifiedSample(items, 20, 42, "s")).toEqual(stratifiedSample(items, 20, 42, "s"));
    expect(stratifiedSample(items, 20, 43, "s")).not.toEqual(stratifiedSample(items, 20, 42, "s"));
    expect(stratifiedSample(items, 500, 1, "s")).toHaveLength(100);
  });

  it("chunks a plan into messages that cover every unit once", () => {
    const msgs = planMessages("r", 1234);
    expect(msgs.reduce((a, m) => a + m.count, 0)).toBe(1234);
    expect(msgs[1].offset).toBe(msgs[0].count);
  });
});

describe("retry backoff", () => {
  it("grows exponentially with jitter, honours Retry-After, and is capped", () => {
    const fixed = () => 1;
    expect(retryDelaySeconds(1, 2, null, fixed)).toBe(2);
    expect(retryDelaySeconds(3, 2, null, fixed)).toBe(8);
    expect(retryDelaySeconds(3, 2, null, () => 0)).toBe(4);
    expect(retryDelaySeconds(1, 2, 30, fixed)).toBe(30);
    expect(retryDelaySeconds(40, 2, null, fixed)).toBe(MAX_RETRY_DELAY_SECONDS);
    expect(retryDelaySeconds(5, 0, null, fixed)).toBe(0);
  });
});

describe("secrets and ids", () => {
  const key = btoa(String.fromCharCode(...new Uint8Array(32).map((_, i) => i)));
  it("encrypts with a fresh IV each time and decrypts back; a wrong key fails", async () => {
    const a = await encryptSecret("sk-live-123", key);
    const b = await encryptSecret("sk-live-123", key);
    expect(a).not.toBe(b);
    expect(a).not.toContain("sk-live");
    expect(await decryptSecret(a, key)).toBe("sk-live-123");
    const other = btoa(String.fromCharCode(...new Uint8Array(32).fill(7)));
    await expect(decryptSecret(a, other)).rejects.toThrow();
    expect(await safeEqual("abc", "abc")).toBe(true);
    expect(await safeEqual("abc", "abd")).toBe(false);
  });

  it("derives the same unit id from the same identity, and different ids otherwise", async () => {
    const base = { runId: "r", kind: "ask", suiteVersionId: "s@1", itemKey: "i", sampleIndex: 0, stage: 0 };
    expect(await unitId(base)).toBe(await unitId({ ...base }));
    expect(await unitId(base)).not.toBe(await unitId({ ...base, sampleIndex: 1 }));
    expect(await unitId(base)).not.toBe(await unitId({ ...base, judge: "j@r1|rubric-v1" }));
  });
});

describe("provider errors", () => {
  it("redact the endpoint's key and anything key-shaped before they are stored", async () => {
    const { redactSecrets } = await import("../../src/providers/openai");
    const out = redactSecrets("HTTP 401: Incorrect API key provided: sk-proj-abcdefgh12345678. My key my-secret-value was wrong", "my-secret-value");
    expect(out).not.toContain("sk-proj-abcdefgh12345678");
    expect(out).not.toContain("my-secret-value");
    expect(out).toContain("HTTP 401");
    expect(redactSecrets("x".repeat(1000), "k").length).toBe(300);
  });
});
