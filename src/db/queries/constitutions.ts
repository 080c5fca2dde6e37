/**
 * @module db/queries/constitutions: the one loader of constitutions: the four built-in files merged with the custom
 * ones in D1 (newest version of each id current, older versions still readable by datasets that pinned them), and
 * the store for new custom ones. The built-ins are read-only.
 */
import { and, desc, eq } from "drizzle-orm";
import { ApiError } from "../../lib/errors";
import { sha256Hex } from "../../lib/ids";
import { BUILTIN_CONSTITUTION_IDS, type Constitution, constitutions, customConstitutionSchema } from "../../suites/constitutions";
import type { Db } from "../client";
import { customConstitutions } from "../schema";

export type LoadedConstitution = Constitution & { builtin: boolean };

/** Largest custom constitution (ours: a D1 row holds at most 2 MB; the built-ins are about 20 KB). */
export const MAX_CONSTITUTION_BYTES = 500_000;

/** Every constitution: built-ins first, then custom ones (their newest versions) in id order. */
export async function loadConstitutions(db: Db): Promise<Map<string, LoadedConstitution>> {
  const out = new Map<string, LoadedConstitution>();
  for (const c of constitutions().values()) out.set(c.id, { ...c, builtin: true });
  const rows = await db.select().from(customConstitutions).orderBy(customConstitutions.id, desc(customConstitutions.version)).all();
  for (const r of rows) if (!out.has(r.id)) out.set(r.id, { ...(r.body as unknown as Constitution), builtin: false });
  return out;
}

/** One constitution (a custom one at `version`, else its newest); undefined when unknown. */
export async function findConstitution(db: Db, id: string, version?: number): Promise<LoadedConstitution | undefined> {
  const builtin = constitutions().get(id);
  if (builtin) return version === undefined || version === builtin.version ? { ...builtin, builtin: true } : undefined;
  const where = version === undefined ? eq(customConstitutions.id, id) : and(eq(customConstitutions.id, id), eq(customConstitutions.version, version));
  const row = await db.select().from(customConstitutions).where(where).orderBy(desc(customConstitutions.version)).get();
  return row ? { ...(row.body as unknown as Constitution), builtin: false } : undefined;
}

/** A 400 unless `id` names a constitution (endpoints, experiments and datasets name one). */
export async function requireConstitution(db: Db, id: string, field = "constitution"): Promise<LoadedConstitution> {
  const c = await findConstitution(db, id);
  if (!c) {
    const message = `no constitution ${id} (GET /v1/constitutions lists them)`;
    // The same details shape as a schema error, so clients read one kind of 400.
    throw new ApiError("invalid_request", `${field}: ${message}`, { issues: [{ path: field.split(" "), message }] });
  }
  return c;
}

/**
 * Validates and stores a custom constitution. A built-in id is a 409; the same id and version with other content is a
 * 409 (post a new version); the same content again returns the stored one with `created: false`.
 */
export async function saveConstitution(db: Db, body: unknown): Promise<{ constitution: LoadedConstitution; created: boolean }> {
  if (JSON.stringify(body ?? null).length > MAX_CONSTITUTION_BYTES)
    throw new ApiError("payload_too_large", `a constitution is at most ${MAX_CONSTITUTION_BYTES} bytes of JSON`);
  // A constitution read back from GET carries `builtin`; posting it back (edited, under a new id) is fine.
  const { builtin: _builtin, ...rest } = body && typeof body === "object" && !Array.isArray(body) ? (body as Record<string, unknown>) : { builtin: undefined };
  const parsed = customConstitutionSchema.safeParse(body && typeof body === "object" && !Array.isArray(body) ? rest : body);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 50).map((i) => ({ path: i.path.join("."), message: i.message }));
    throw new ApiError("invalid_request", `not a valid constitution: ${issues.length} problem(s)`, { issues });
  }
  const c = parsed.data as Constitution;
  if (BUILTIN_CONSTITUTION_IDS.includes(c.id)) throw new ApiError("conflict", `${c.id} is a built-in constitution and read-only; post yours under another id`);
  const hash = await sha256Hex(JSON.stringify(c));
  const existing = await db
    .select()
    .from(customConstitutions)
    .where(and(eq(customConstitutions.id, c.id), eq(customConstitutions.version, c.version)))
    .get();
  if (existing) {
    if (existing.contentHash !== hash) throw new ApiError("conflict", `${c.id} version ${c.version} exists with other content; post a new version`);
    return { constitution: { ...(existing.body as unknown as Constitution), builtin: false }, created: false };
  }
  const newest = await db
    .select({ version: customConstitutions.version })
    .from(customConstitutions)
    .where(eq(customConstitutions.id, c.id))
    .orderBy(desc(customConstitutions.version))
    .get();
  if (newest && newest.version > c.version) throw new ApiError("conflict", `${c.id} is at version ${newest.version}; a new version must be higher`);
  await db
    .insert(customConstitutions)
    .values({ id: c.id, version: c.version, title: c.title, body: c as unknown as Record<string, unknown>, contentHash: hash });
  return { constitution: { ...c, builtin: false }, created: true };
}
