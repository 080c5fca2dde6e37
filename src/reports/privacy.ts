/**
 * @module reports/privacy: the one privacy filter of every public surface (docs/reports.md#privacy). A caller's
 * view knows which endpoints it may not see; reports, sections, pages, exports, metrics, the leaderboard and the
 * experiment views ask it before they name another endpoint (a base, a judge) or show its figures. Admins see all.
 */
import { eq } from "drizzle-orm";
import type { Db } from "../db/client";
import { endpoints } from "../db/schema";
import { sha256Hex } from "../lib/ids";

/** What a hidden judge is called in keys and descriptors. */
export const PRIVATE_JUDGE = "private";

export interface JudgeRef {
  endpointId: string;
  revision: string;
  rubricVersion: string;
  model?: string | null;
}

export class PrivacyView {
  private constructor(
    readonly admin: boolean,
    private readonly hidden: ReadonlySet<string>,
    /** Names this view in cache keys: "admin", or a hash of the hidden ids (a switch to private changes it). */
    readonly key: string,
  ) {}

  /** The admin's view: nothing hidden. */
  static all(): PrivacyView {
    return new PrivacyView(true, new Set(), "admin");
  }

  /** The caller's view: anonymous callers may not see private endpoints (deleted ones included). */
  static async of(db: Db, admin: boolean): Promise<PrivacyView> {
    if (admin) return PrivacyView.all();
    const ids = (await db.select({ id: endpoints.id }).from(endpoints).where(eq(endpoints.private, true)).all()).map((r) => r.id).sort();
    return new PrivacyView(false, new Set(ids), `anon-${(await sha256Hex(ids.join(","))).slice(0, 24)}`);
  }

  /** Whether this caller may not see the endpoint (nor anything that names it or shows its figures). */
  hides(endpointId: string | null | undefined): boolean {
    return !!endpointId && this.hidden.has(endpointId);
  }

  /** An endpoint reference as this caller may see it (null for a hidden one). */
  ref(endpointId: string | null | undefined): string | null {
    return endpointId && !this.hides(endpointId) ? endpointId : null;
  }

  /** A judge as shown to this caller: a private judge keeps its rubric and loses its identity. */
  judge<T extends JudgeRef>(
    j: T | null | undefined,
  ): T | (Omit<T, "endpointId" | "revision" | "model"> & { endpointId: string; revision: null; model: null; private: true }) | null {
    if (!j) return null;
    if (!this.hides(j.endpointId)) return j;
    return { ...j, endpointId: PRIVATE_JUDGE, revision: null, model: null, private: true as const };
  }

  /** A judge key `<endpoint>@<revision>|<rubric>` as shown to this caller. */
  judgeKey(key: string | null | undefined): string | null {
    if (!key) return key ?? null;
    const at = key.indexOf("@");
    const endpointId = at > 0 ? key.slice(0, at) : key;
    return this.hides(endpointId) ? `${PRIVATE_JUDGE}|${key.slice(key.indexOf("|") + 1)}` : key;
  }

  /** Any text with the ids of hidden endpoints replaced (group keys and other composed strings). */
  text(s: string): string {
    let out = s;
    for (const id of this.hidden) if (out.includes(id)) out = out.split(id).join(PRIVATE_JUDGE);
    return out;
  }

  /**
   * The last pass over a whole body (a report, a run view, an export record): an object that describes a hidden
   * endpoint (its `endpointId`) keeps its figures about the visible model but loses the hidden one's identity
   * (id, name, model, revision, key); a hidden `baseEndpointId` becomes null; hidden ids inside strings are replaced.
   * Figures of a hidden model itself are kept out by the sections that would compare with it (they ask `hides`).
   */
  scrub<T>(value: T): T {
    if (this.admin || this.hidden.size === 0) return value;
    // Model names of hidden endpoints found in the body are also taken out of its free text (notes that name a judge).
    const models = new Set<string>();
    const collect = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(collect);
      else if (v && typeof v === "object") {
        const o = v as Record<string, unknown>;
        if (typeof o.endpointId === "string" && this.hides(o.endpointId) && typeof o.model === "string" && o.model.length >= 3) models.add(o.model);
        Object.values(o).forEach(collect);
      }
    };
    collect(value);
    return this.scrubValue(value, [...models]) as T;
  }

  private scrubValue(value: unknown, models: string[]): unknown {
    if (typeof value === "string") {
      let out = this.text(value);
      // Only inside longer text: a field that equals the name is a visible model that happens to share it.
      for (const m of models) if (out !== m && out.includes(m)) out = out.split(m).join("a private model");
      return out;
    }
    if (Array.isArray(value)) return value.map((v) => this.scrubValue(v, models));
    if (!value || typeof value !== "object") return value;
    const obj = value as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(obj)) out[k] = this.scrubValue(v, models);
    if (typeof obj.endpointId === "string" && this.hides(obj.endpointId)) {
      out.endpointId = PRIVATE_JUDGE;
      for (const k of ["name", "model", "revision"]) if (k in obj) out[k] = null;
      if (typeof obj.key === "string") out.key = this.judgeKey(obj.key);
      out.private = true;
    }
    for (const k of ["baseEndpointId", "judgeEndpointId"]) if (typeof obj[k] === "string" && this.hides(obj[k] as string)) out[k] = null;
    // An export record of a judgment: `judge` is the judge key and `model` the model that answered, the judge's.
    if (typeof obj.judge === "string" && this.judgeKey(obj.judge) !== obj.judge) {
      out.judge = this.judgeKey(obj.judge);
      if ("model" in obj) out.model = null;
    }
    return out;
  }
}
