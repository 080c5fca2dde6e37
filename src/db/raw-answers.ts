/**
 * @module db/raw-answers: the raw side of stored answers (the request sent and the completion as the provider sent
 * it) lives in R2, not D1 (issue 15: D1's 10 GB cannot hold a million of them). Each write (a consumer flush, an
 * import chunk) puts one gzip-compressed JSONL object per run, one line per answer; the response row keeps the
 * object's key and the line (`raw_key`, `raw_line`) beside its answer, parsed result and score. Rows written before
 * migration 0009 keep `request` and `raw` in D1 and are read as they are.
 */
import { groupBy } from "../lib/arrays";
import { randomHex } from "../lib/ids";

/** One answer's raw side, one JSONL line. */
export interface RawLine {
  unitId: string;
  request: unknown;
  raw: unknown;
}

/** Where a unit's raw line is: the object's key and the line's index. */
export interface RawRef {
  rawKey: string;
  rawLine: number;
}

/**
 * The object key for one write: by run, then 64 random bits. Random, so two writes of the same units (a unit answered
 * twice after its lease expired) never overwrite each other's object, which would move lines under rows that already
 * point at them. Short, because every response row stores it (D1 storage is billed per byte: issue 15).
 */
export function rawObjectKey(runId: string): string {
  return `raw/${runId}/${randomHex(8)}.jsonl.gz`;
}

/** A run's objects share this prefix (list it to find them, e.g. to delete a run's raw answers). */
export function rawRunPrefix(runId: string): string {
  return `raw/${runId}/`;
}

async function gzip(text: string): Promise<ArrayBuffer> {
  return new Response(new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"))).arrayBuffer();
}

/**
 * Puts the raw lines of one write, one object per run, and answers each unit's reference. Call it before the D1
 * write that stores the references: a row never points at an object that is not there (an object whose D1 write
 * then failed is an orphan, which costs storage and nothing else).
 */
export async function putRawLines(bucket: R2Bucket, lines: (RawLine & { runId: string })[]): Promise<Map<string, RawRef>> {
  const byRun = groupBy(lines, (l) => l.runId);
  const refs = new Map<string, RawRef>();
  await Promise.all(
    [...byRun].map(async ([runId, list]) => {
      const key = rawObjectKey(runId);
      const body = list.map((l) => JSON.stringify({ unitId: l.unitId, request: l.request, raw: l.raw })).join("\n") + "\n";
      await bucket.put(key, await gzip(body), { httpMetadata: { contentType: "application/x-ndjson", contentEncoding: "gzip" } });
      list.forEach((l, i) => refs.set(l.unitId, { rawKey: key, rawLine: i }));
    }),
  );
  return refs;
}

/**
 * Response rows as they are inserted: the raw side of each (`request`, `raw`) is put to R2 (`putRawLines`) and the
 * rows come back with their reference in its place. Nothing is put for an empty list.
 */
export async function rowsWithRawRefs<T extends { runId: string; unitId: string; request?: unknown; raw?: unknown }>(
  bucket: R2Bucket,
  rows: T[],
): Promise<(Omit<T, "request" | "raw"> & Partial<RawRef>)[]> {
  if (!rows.length) return [];
  const refs = await putRawLines(
    bucket,
    rows.map((r) => ({ runId: r.runId, unitId: r.unitId, request: r.request, raw: r.raw })),
  );
  return rows.map(({ request: _request, raw: _raw, ...kept }) => ({ ...kept, ...refs.get(kept.unitId) }));
}

/** Decodes one object's gzip JSONL body into its lines. */
async function decodeLines(body: ArrayBuffer): Promise<RawLine[]> {
  const text = await new Response(new Blob([body]).stream().pipeThrough(new DecompressionStream("gzip"))).text();
  return text
    .split("\n")
    .filter((l) => l.length)
    .map((l) => JSON.parse(l) as RawLine);
}

/** Reads one object's lines. Null when the object is missing. */
export async function readRawObject(bucket: R2Bucket, key: string): Promise<RawLine[] | null> {
  const obj = await bucket.get(key);
  return obj ? decodeLines(await obj.arrayBuffer()) : null;
}

/** Objects a reader keeps decoded at once (ours: a page's rows each touch one; decoding again is cheap). */
export const RAW_READER_CACHE = 64;
/**
 * Compressed bytes a reader keeps (ours: 32 MiB of an isolate's 128 MB). Exports page in unit-id order (the key of
 * `units`), which is unrelated to the order answers were written, so every page touches objects from the whole run;
 * keeping the compressed objects (about 6 KB per 50 answers, `npm run bench`) means each is fetched once for a run of
 * up to about 250,000 answers, and past that the share fetched again grows with the run.
 */
export const RAW_READER_BYTES = 32 * 2 ** 20;

/**
 * A reader that fetches each object once while its compressed body fits in RAW_READER_BYTES (least recently used
 * goes first) and keeps the last RAW_READER_CACHE decoded, so an export costs about one R2 read per object, not one
 * per answer.
 */
export function rawReader(bucket: R2Bucket, opts: { decoded?: number; bytes?: number } = {}) {
  const decodedMax = opts.decoded ?? RAW_READER_CACHE;
  const bytesMax = opts.bytes ?? RAW_READER_BYTES;
  const bodies = new Map<string, Promise<ArrayBuffer | null>>();
  const sizes = new Map<string, number>();
  let held = 0;
  const decoded = new Map<string, Promise<RawLine[] | null>>();
  const touch = <T>(m: Map<string, T>, key: string, v: T) => {
    m.delete(key);
    m.set(key, v);
  };
  const body = (key: string) => {
    let p = bodies.get(key);
    if (!p) {
      p = bucket.get(key).then((o) => (o ? o.arrayBuffer() : null));
      // Sized once read; a failed read is the caller's to see (through `p`), not an unhandled rejection here.
      p.then(
        (b) => {
          if (!bodies.has(key) || sizes.has(key)) return;
          sizes.set(key, b?.byteLength ?? 0);
          held += b?.byteLength ?? 0;
          // Over budget: the least recently used bodies go (never the one just read).
          for (const k of bodies.keys()) {
            if (held <= bytesMax || k === key) break;
            held -= sizes.get(k) ?? 0;
            sizes.delete(k);
            bodies.delete(k);
          }
        },
        () => undefined,
      );
    }
    touch(bodies, key, p);
    return p;
  };
  const object = (key: string) => {
    const p = decoded.get(key) ?? body(key).then((b) => (b ? decodeLines(b) : null));
    touch(decoded, key, p);
    if (decoded.size > decodedMax) decoded.delete(decoded.keys().next().value!);
    return p;
  };
  return {
    /** The unit's line, or null when the object or the line is gone (or holds another unit). */
    async line(ref: RawRef & { unitId: string }): Promise<RawLine | null> {
      const lines = await object(ref.rawKey);
      const l = lines?.[ref.rawLine];
      return l && l.unitId === ref.unitId ? l : null;
    },
  };
}
export type RawReader = ReturnType<typeof rawReader>;

/** A row as a reader selects it: the request in D1 (rows before migration 0009), or its reference into R2. */
export interface RequestColumns {
  request?: string | null;
  rawKey?: string | null;
  rawLine?: number | null;
}

/**
 * Fills `request` (as JSON text, the shape D1 returned before) of the rows whose raw side lives in R2. Objects are
 * read at most once each for the page, in parallel.
 */
export async function fillRequests<T extends RequestColumns>(reader: RawReader, rows: (T & { unitId?: string; id?: string })[]): Promise<void> {
  await Promise.all(
    rows.map(async (r) => {
      if (r.request != null || r.rawKey == null || r.rawLine == null) return;
      const line = await reader.line({ rawKey: r.rawKey, rawLine: r.rawLine, unitId: (r.unitId ?? r.id)! });
      r.request = line ? JSON.stringify(line.request) : null;
    }),
  );
}
